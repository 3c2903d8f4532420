#!/usr/bin/env bash
# Remove the publication, our marker schema, the replica identities we changed and every replication slot
# of ours (the subscription's, and table-sync slots a dropped link may have left), then check that none is
# left: a forgotten slot keeps WAL on the source server's disk until it fills.
# inputs: DB PUBLICATION SLOT_PREFIX
STATE="$WORK/replication"
ours="slot_type = 'logical' AND (slot_name LIKE '${SLOT_PREFIX}%' OR slot_name ~ '^pg_[0-9]+_sync_[0-9]+_[0-9]+$')"
for slot in $(psql_admin -c "SELECT slot_name FROM pg_replication_slots WHERE $ours"); do
  psql_admin -c "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '$slot' AND active_pid IS NOT NULL" >/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(psql_admin -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'")" = t ] || break
    sleep 0.5
  done
  psql_admin -c "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
  log "dropped replication slot $slot"
done
if db_exists "$DB"; then
  psql_admin -d "$DB" -c "DROP PUBLICATION IF EXISTS $PUBLICATION"
  psql_admin -d "$DB" -c "DROP SCHEMA IF EXISTS mastodon_migration CASCADE"
  if [ -f "$STATE/replica-identity-full" ]; then
    sort -u "$STATE/replica-identity-full" | while read -r table; do
      psql_admin -d "$DB" -c "ALTER TABLE IF EXISTS $table REPLICA IDENTITY DEFAULT"
    done
  fi
fi
rm -f "$STATE/replica-identity-full"
left=$(psql_admin -c "SELECT count(*) FROM pg_replication_slots WHERE $ours")
[ "$left" = 0 ] || die "$left replication slot(s) of ours are still there: check pg_replication_slots on the source server"
others=$(psql_admin -c "SELECT string_agg(slot_name, ', ') FROM pg_replication_slots")
log "publication $PUBLICATION removed; no replication slot of ours is left${others:+ (other slots, not ours: $others)}"
