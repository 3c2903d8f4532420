#!/usr/bin/env bash
# Provisions one sandbox host from inside its namespaces (up.sh pipes this into `host.sh <h> bash -s`):
# creates the PostgreSQL 15 cluster and the Mastodon role, then starts PostgreSQL, Redis, nginx and
# sshd through the host's stand-in systemctl, like a freshly booted server.
# Args: <source|target> <database role for the mastodon OS user>
set -euo pipefail
host="$1" role="$2"
cd /

# PostgreSQL: cluster "15 main", localhost:5432, socket /var/run/postgresql, peer auth locally.
pg_createcluster 15 main --locale C.UTF-8 -- --no-sync >/dev/null  # throwaway host: skip fsync
if [[ "$role" != mastodon ]]; then
  # OS user mastodon may connect as the role of another name, over the socket (pg_ident map).
  conf=/etc/postgresql/15/main
  printf '# OS user mastodon connects as database role %s (mastodon-migration sandbox)\nmastodon mastodon %s\nmastodon %s %s\n' \
    "$role" "$role" "$role" "$role" >>"$conf/pg_ident.conf"
  sed -i "0,/^local[[:space:]]\+all[[:space:]]\+all[[:space:]]/s//local   all             $role                                 peer map=mastodon\n&/" "$conf/pg_hba.conf"
fi
systemctl start postgresql
echo "[${SECONDS}s] cluster created and started"
runuser -u postgres -- psql -X -q -c "CREATE ROLE \"$role\" CREATEDB LOGIN"

systemctl daemon-reload
systemctl start redis-server nginx ssh
echo "[${SECONDS}s] redis, nginx, sshd started"
echo "provisioned $host: role $role; $(systemctl list-units --type=service --state=running --plain --no-legend | cut -d' ' -f1 | paste -sd' ')"
