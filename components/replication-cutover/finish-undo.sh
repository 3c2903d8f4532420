#!/usr/bin/env bash
# Rollback: the promoted database is set aside (renamed, never dropped; the source's database was never
# written), so a later cutover needs a new copy (pulumi config set dbReplicationRun <n+1> in prepare).
# inputs: DB SUBSCRIPTION
STATE="$WORK/replication"
if db_exists "$DB" && [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_subscription WHERE subname = '$SUBSCRIPTION'")" = 1 ]; then
  psql_admin -d "$DB" -c "ALTER SUBSCRIPTION $SUBSCRIPTION DISABLE"
  psql_admin -d "$DB" -c "ALTER SUBSCRIPTION $SUBSCRIPTION SET (slot_name = NONE)"
  psql_admin -d "$DB" -c "DROP SUBSCRIPTION $SUBSCRIPTION"
fi
if [ -f "$STATE/$DB.promoted" ] && db_exists "$DB"; then
  aside=$(db_set_aside "$DB" rolled_back)
  log "rolled back: the replicated database is kept as $aside; copy again with dbReplicationRun before the next cutover"
fi
rm -f "$STATE/$DB.promoted" "$STATE/$DB.replica" "$STATE/$DB.views.started" "$STATE/$DB.views.status" "$STATE/$DB.views.log" "$STATE/$DB.views.go"
