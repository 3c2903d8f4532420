#!/usr/bin/env bash
# The replication lag: how far the subscription's confirmed position is behind the source's current WAL
# position (bytes), and how many tables are still in the initial copy. MODE=report prints it (prepare: the
# stack output `replication`). MODE=gate runs before any downtime in the cutover: it waits up to MAX_WAIT
# seconds for the initial copy to finish and the lag to fall under MAX_LAG_BYTES, else refuses with the lag;
# then it fills the replica's materialized views that are not populated (a schema-only restore leaves them
# empty), so the catch-up in the window can refresh them concurrently, beside the window.
# inputs: DB SUBSCRIPTION MODE MAX_WAIT MAX_LAG_BYTES
sub_state() {
  if ! db_exists "$DB" || [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_subscription WHERE subname = '$SUBSCRIPTION'")" != 1 ]; then
    echo "missing 0 0"
    return 0
  fi
  psql_admin -d "$DB" -F ' ' -c "SELECT CASE WHEN s.subenabled THEN 'enabled' ELSE 'disabled' END, count(r.srrelid), count(r.srrelid) FILTER (WHERE r.srsubstate <> 'r') FROM pg_subscription s LEFT JOIN pg_subscription_rel r ON r.srsubid = s.oid WHERE s.subname = '$SUBSCRIPTION' GROUP BY s.subenabled"
}
# status: sets state, tables, copying, lag (bytes; -1 when the slot does not exist) and prints the line.
status() {
  read -r state tables copying < <(on_peer sub_state DB SUBSCRIPTION)
  lag=$(psql_admin -d "$DB" -c "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint FROM pg_replication_slots WHERE slot_name = '$SUBSCRIPTION'")
  lag=${lag:--1}
  if [ "$state" = enabled ] && [ "$copying" -gt 0 ]; then state=copying; elif [ "$state" = enabled ]; then state=streaming; fi
}
report() {
  result "$(printf 'REPLICATION {"state":"%s","tables":%d,"copying":%d,"lagBytes":%d}' "$state" "$tables" "$copying" "$lag")"
  log "subscription $SUBSCRIPTION: $state, $tables tables ($copying in the initial copy), lag $lag bytes"
}
status
if [ "$MODE" = gate ]; then
  started=$(date +%s)
  until [ "$state" = streaming ] && [ "$lag" -ge 0 ] && [ "$lag" -le "$MAX_LAG_BYTES" ]; do
    [ "$state" != missing ] || die "no subscription $SUBSCRIPTION on the target server (a rollback set the copy aside): copy again in prepare with pulumi config set dbReplicationRun <n+1> && pulumi config set phase prepare && pulumi up"
    if [ $(($(date +%s) - started)) -ge "$MAX_WAIT" ]; then
      report
      die "refusing the cutover before any downtime: the replica is not ready after ${MAX_WAIT}s ($state: $copying of $tables tables still in the initial copy, lag $lag bytes). Run pulumi up again later, or raise dbReplicationMaxWaitSeconds"
    fi
    log "waiting for the replica: $state, $copying of $tables tables in the initial copy, lag $lag bytes"
    sleep 2
    status
  done
  populate_views() {
    local view
    for view in $(psql_admin -d "$DB" -c "SELECT format('%I.%I', schemaname, matviewname) FROM pg_matviews WHERE schemaname = 'public' AND NOT ispopulated ORDER BY 1"); do
      # Never stuck behind a lock on the replica (one that holds the subscriber back, too): then the
      # catch-up refreshes the view in the window instead.
      if psql_admin -d "$DB" -c "SET lock_timeout = '5s'; REFRESH MATERIALIZED VIEW $view"; then
        log "materialized view $view populated on the replica"
      else
        log "materialized view $view not populated on the replica (see above): the catch-up refreshes it in the window"
      fi
    done
  }
  on_peer populate_views DB
fi
report
