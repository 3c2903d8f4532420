# shellcheck shell=bash
# Puts Mastodon's database connections on a sandbox host through pgbouncer, as Mastodon's pgbouncer guide
# does: the role gets a password, pgbouncer.ini names the database (transaction pooling, md5 auth against
# userlist.txt) on 127.0.0.1:6432, and .env.production says DB_HOST=localhost, DB_PORT=6432, DB_PASS and
# PREPARED_STATEMENTS=false. Then pgbouncer runs (Debian's package, through the stand-in systemctl) and a
# connection through it is tried. The caller prepends PW='<password>' (piped to `host.sh <h> bash -s`).
set -euo pipefail
cd /
: "${PW:?}"
live=/home/mastodon/live
printf "SET log_statement = none;\nALTER ROLE mastodon PASSWORD '%s';\n" "$PW" | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1
install -d -m 755 /etc/pgbouncer
cat >/etc/pgbouncer/pgbouncer.ini.tmp <<INI
[databases]
mastodon_production = host=127.0.0.1 port=5432 dbname=mastodon_production user=mastodon password=$PW

[pgbouncer]
logfile = /var/log/postgresql/pgbouncer.log
pidfile = /var/run/postgresql/pgbouncer.pid
listen_addr = 127.0.0.1
listen_port = 6432
unix_socket_dir = /var/run/postgresql
auth_type = md5
auth_file = /etc/pgbouncer/userlist.txt
admin_users = pgbouncer
pool_mode = transaction
max_client_conn = 100
default_pool_size = 20
INI
printf '"mastodon" "md5%s"\n' "$(printf '%s' "${PW}mastodon" | md5sum | cut -d' ' -f1)" >/etc/pgbouncer/userlist.txt.tmp
for f in pgbouncer.ini userlist.txt; do
  chown postgres:postgres "/etc/pgbouncer/$f.tmp" && chmod 640 "/etc/pgbouncer/$f.tmp"
  mv "/etc/pgbouncer/$f.tmp" "/etc/pgbouncer/$f"
done
sed -i -e 's/^DB_HOST=.*/DB_HOST=localhost/' -e 's/^DB_PORT=.*/DB_PORT=6432/' -e "s/^DB_PASS=.*/DB_PASS=$PW/" \
  -e '$a PREPARED_STATEMENTS=false' "$live/.env.production"
systemctl enable --now pgbouncer
runuser -u mastodon -- env PGPASSWORD="$PW" psql -X -h localhost -p 6432 -U mastodon -d mastodon_production -Atc 'SELECT 1' >/dev/null
echo "pgbouncer on 127.0.0.1:6432 in front of mastodon_production"
