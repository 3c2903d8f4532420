#!/usr/bin/env bash
# The promoted database on the target server (the catch-up promoted it). This step holds the rollback:
# its delete sets the database aside. It runs beside the start and the verification, not before them, and
# waits for the materialized views the catch-up refreshes concurrently from the data at the stop.
# inputs: DB
STATE="$WORK/replication"
[ -f "$STATE/$DB.promoted" ] || die "$DB on the target server was not promoted by the catch-up"
views=$(cat "$STATE/$DB.views.started" 2>/dev/null || true)
running() { [ "$(psql_admin -d "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mastodon-migration-views'")" != 0 ]; }
if [ -n "$views" ]; then
  heartbeat "echo waiting for the materialized views to be refreshed"
  until [ -f "$STATE/$DB.views.status" ]; do
    if ! running; then
      sleep 1
      [ -f "$STATE/$DB.views.status" ] || echo "ended without a status" >"$STATE/$DB.views.status"
    fi
    sleep 0.5
  done
  if [ "$(cat "$STATE/$DB.views.status")" = 0 ]; then
    log "materialized views refreshed from the data at the stop: $views"
  else
    log "refreshing the materialized views from the data at the stop failed ($(tail -n 1 "$STATE/$DB.views.log" 2>/dev/null)): refreshed now instead"
    for view in $views; do psql_admin -d "$DB" -c "REFRESH MATERIALIZED VIEW $view"; done
    echo 0 >"$STATE/$DB.views.status"
  fi
fi
log "$DB on the target server is the instance's database (promoted $(cat "$STATE/$DB.promoted"))"
