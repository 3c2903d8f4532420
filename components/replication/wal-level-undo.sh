#!/usr/bin/env bash
# Put wal_level and listen_addresses back as they were before the move, with one PostgreSQL restart.
# Refuses while a logical replication slot exists: PostgreSQL would not start again with wal_level below
# logical, and a forgotten slot keeps WAL on the disk forever.
# inputs:
STATE="$WORK/replication"
if [ ! -s "$STATE/settings.before" ]; then
  log "no recorded settings: nothing to put back"
  exit 0
fi
slots=$(psql_admin -c "SELECT string_agg(slot_name, ', ') FROM pg_replication_slots WHERE slot_type = 'logical'")
changed=0
while IFS=$'\t' read -r -u 3 name value file; do
  [ "$(psql_admin -c "SHOW $name")" != "$value" ] || continue
  if [ "$name" = wal_level ] && [ -n "$slots" ]; then
    die "logical replication slots still exist ($slots): drop them before wal_level goes back to $value"
  fi
  if [ "$(basename "$file")" = postgresql.auto.conf ]; then
    psql_admin -c "ALTER SYSTEM SET $name = '$value'"
  else
    psql_admin -c "ALTER SYSTEM RESET $name"
  fi
  log "$name back to $value"
  changed=1
done 3<"$STATE/settings.before"
if [ "$changed" = 1 ]; then
  log "restarting PostgreSQL on the source server"
  restart_postgresql
fi
rm -f "$STATE/settings.before"
log "wal_level is $(psql_admin -c "SHOW wal_level"), listen_addresses is $(psql_admin -c "SHOW listen_addresses")"
