#!/usr/bin/env bash
# The seed procedure (the migration guide, seeds 000/001), done by hand as the guide writes it, everything
# inside the window: stop Mastodon, `pg_dump -Fc` to a file, scp it, `createdb -T template0`, a single-job
# `pg_restore -n public --no-owner --role`, a full `rsync -avz` of public/system, .env.production copied,
# assets:precompile, start, health. No shortcuts: one command after the other, as an admin types them.
#
# Runs on the source server as root (the bench's stand-in for "the mastodon user on the old server"), reaching
# the target server with an SSH key the bench installed beforehand (the guide's "rsync or scp"). The new server
# was set up with the install guide beforehand (outside the window): nginx site and certificate, systemd units.
# Prints one `SEEDSTEP <name> <start ms> <end ms>` line per step, for the bench's table and timeline.
# Environment: TARGET (address), KEY (private key on this host), DOMAIN, DB, LIVE.
set -euo pipefail
: "${TARGET:?}" "${KEY:?}" "${DOMAIN:?}" "${DB:?}" "${LIVE:?}"
DUMP=/home/mastodon/backup.dump
OPTS=(-i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new)
SSH=(ssh "${OPTS[@]}")
LOGDIR=$(mktemp -d)
now() { date +%s%3N; }
# step NAME COMMAND...: one step of the guide, timed.
step() {
  local name=$1 started
  shift
  started=$(now)
  "$@"
  echo "SEEDSTEP $name $started $(now)"
}
as_mastodon_here() { (cd /home/mastodon && runuser -u mastodon -- env HOME=/home/mastodon "$@"); }
on_target() { "${SSH[@]}" "root@$TARGET" "$@"; }

stop() { systemctl stop 'mastodon-*.service'; }
dump() { rm -f "$DUMP" && as_mastodon_here pg_dump -Fc "$DB" -f "$DUMP"; }
copy_dump() { scp -q "${OPTS[@]}" "$DUMP" "root@$TARGET:$DUMP"; }
create() { on_target "cd / && runuser -u mastodon -- createdb -T template0 $DB"; }
# pg_restore without --exit-on-error goes on past errors and reports them at the end, as the guide runs it.
restore() {
  on_target "cd / && runuser -u mastodon -- pg_restore -U mastodon -n public --no-owner --role=mastodon -d $DB $DUMP" \
    2>"$LOGDIR/restore.err" || {
    grep -q 'errors ignored on restore' "$LOGDIR/restore.err" || {
      cat "$LOGDIR/restore.err" >&2
      return 1
    }
    echo "pg_restore: $(grep 'errors ignored' "$LOGDIR/restore.err")" >&2
  }
}
media() {
  rsync -avz -e "ssh ${OPTS[*]}" "$LIVE/public/system/" "root@$TARGET:$LIVE/public/system/" \
    >"$LOGDIR/rsync.log"
  tail -n 2 "$LOGDIR/rsync.log" >&2
}
# The guide copies .env.production as the mastodon user: it arrives owned by mastodon.
env_file() {
  scp -q -p "${OPTS[@]}" "$LIVE/.env.production" "root@$TARGET:$LIVE/.env.production"
  on_target "chown mastodon:mastodon $LIVE/.env.production"
}
precompile() {
  on_target "cd $LIVE && runuser -u mastodon -- env HOME=/home/mastodon PATH=/home/mastodon/.rbenv/shims:/usr/local/bin:/usr/bin:/bin RAILS_ENV=production bundle exec rails assets:precompile" >/dev/null
}
start() {
  on_target "systemctl daemon-reload && systemctl enable --now mastodon-web mastodon-sidekiq mastodon-streaming && systemctl restart nginx" >/dev/null
}
health() {
  local check="curl -fsS -k --max-time 10 --resolve $DOMAIN:443:127.0.0.1 https://$DOMAIN"
  on_target "for _ in \$(seq 120); do [ \"\$($check/health 2>/dev/null)\" = OK ] && [ \"\$($check/api/v1/streaming/health 2>/dev/null)\" = OK ] && exit 0; sleep 1; done; exit 1"
}

step stop stop
step dump dump
step scp copy_dump
step createdb create
step restore restore
step rsync media
step env env_file
step precompile precompile
step start start
step health health
rm -rf "$LOGDIR"
