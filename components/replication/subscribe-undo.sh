#!/usr/bin/env bash
# Leaving the replication strategy (or a new copy): drop this copy's subscription and set its database aside
# (renamed, never dropped), unless the cutover promoted it (then it is the instance's database: kept).
# inputs: DB SUBSCRIPTION RUN
STATE="$WORK/replication"
if db_exists "$DB" && [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_subscription WHERE subname = '$SUBSCRIPTION'")" = 1 ]; then
  # Dropping also drops the slot on the source; when the source cannot be reached, detach the slot
  # (the source's publication undo drops it and checks that none is left).
  if ! psql_admin -d "$DB" -c "DROP SUBSCRIPTION $SUBSCRIPTION" 2>/dev/null; then
    psql_admin -d "$DB" -c "ALTER SUBSCRIPTION $SUBSCRIPTION DISABLE"
    psql_admin -d "$DB" -c "ALTER SUBSCRIPTION $SUBSCRIPTION SET (slot_name = NONE)"
    psql_admin -d "$DB" -c "DROP SUBSCRIPTION $SUBSCRIPTION"
    log "the source server was not reachable: its slot $SUBSCRIPTION is dropped by the publication's removal there"
  fi
  log "subscription $SUBSCRIPTION dropped"
fi
if [ -f "$STATE/$DB.promoted" ]; then
  log "$DB was promoted by the cutover: kept"
elif [ "$(cat "$STATE/$DB.replica" 2>/dev/null)" = "$RUN" ] && db_exists "$DB"; then
  aside=$(db_set_aside "$DB" replica_aside)
  rm -f "$STATE/$DB.replica"
  log "the replicated database is kept aside as $aside"
fi
