#!/usr/bin/env bash
# wal_level=logical on the source server, and PostgreSQL listening on the address the target server reaches
# it at. Both need a PostgreSQL RESTART (Mastodon's database connections drop for a few seconds; Rails and
# Sidekiq reconnect): only when a setting changes, and announced by the program's warning in preview. The
# previous values are recorded, so the undo puts them back (complete, or when the strategy changes).
# inputs: TARGET_HOST
STATE="$WORK/replication"
install -d -m 700 "$STATE"
target_ip=$(getent ahostsv4 "$TARGET_HOST" | awk 'NR == 1 { print $1 }')
[ -n "$target_ip" ] || die "cannot resolve the target server's address $TARGET_HOST"
listen_ip=$(ip -o -4 route get "$target_ip" | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$listen_ip" ] || die "no route from the source server to the target server ($target_ip)"
# setting NAME: "value<TAB>file it comes from" (empty file: the built-in default).
setting() { psql_admin -F "$(printf '\t')" -c "SELECT setting, coalesce(sourcefile, '') FROM pg_settings WHERE name = '$1'"; }
if [ ! -s "$STATE/settings.before" ]; then
  { printf 'wal_level\t%s\n' "$(setting wal_level)" && printf 'listen_addresses\t%s\n' "$(setting listen_addresses)"; } >"$STATE/settings.tmp"
  mv "$STATE/settings.tmp" "$STATE/settings.before"
fi
changes=()
if [ "$(psql_admin -c "SHOW wal_level")" != logical ]; then
  psql_admin -c "ALTER SYSTEM SET wal_level = logical"
  changes+=("wal_level=logical")
fi
listen=$(psql_admin -c "SHOW listen_addresses")
case ",${listen// /}," in
  *,'*',* | *",$listen_ip,"*) ;;
  *)
    psql_admin -c "ALTER SYSTEM SET listen_addresses = '$listen,$listen_ip'"
    changes+=("listen_addresses+=$listen_ip")
    ;;
esac
pending=$(psql_admin -c "SELECT count(*) FROM pg_settings WHERE pending_restart")
if [ "${#changes[@]}" -gt 0 ] || [ "$pending" -gt 0 ]; then
  log "RESTARTING PostgreSQL on the source server for ${changes[*]:-pending settings} (database connections drop for a few seconds)"
  t0=$(date +%s%N)
  restart_postgresql
  log "PostgreSQL restarted and accepting connections again after $((($(date +%s%N) - t0) / 1000000)) ms"
else
  log "wal_level is already logical and PostgreSQL listens on $listen_ip: no restart"
fi
[ "$(psql_admin -c "SHOW wal_level")" = logical ] || die "wal_level is still $(psql_admin -c "SHOW wal_level") after the restart"
result "SOURCE_PG_ADDRESS=$listen_ip"
