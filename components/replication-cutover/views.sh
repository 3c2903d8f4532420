#!/usr/bin/env bash
# Once the target serves: release the session the catch-up left holding a snapshot of the data at the stop,
# so it refreshes the materialized views CONCURRENTLY from it (Mastodon reads the replica's contents until it
# commits), and wait for it. Should it have failed, the views are refreshed now instead, from the data as it is.
# inputs: DB
STATE="$WORK/replication"
[ -f "$STATE/$DB.promoted" ] || die "$DB on the target server was not promoted by the catch-up"
views=$(cat "$STATE/$DB.views.started" 2>/dev/null || true)
running() { [ "$(psql_admin -d "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mastodon-migration-views'")" != 0 ]; }
if [ -n "$views" ]; then
  touch "$STATE/$DB.views.go"
  heartbeat "echo waiting for the materialized views to be refreshed"
  until [ -f "$STATE/$DB.views.status" ]; do
    if ! running; then
      sleep 1
      [ -f "$STATE/$DB.views.status" ] || echo "ended without a status" >"$STATE/$DB.views.status"
    fi
    sleep 0.2
  done
  if [ "$(cat "$STATE/$DB.views.status")" = 0 ]; then
    log "materialized views refreshed from the data at the stop: $views"
  else
    log "refreshing the materialized views from the data at the stop failed ($(cat "$STATE/$DB.views.status"); $(tail -n 1 "$STATE/$DB.views.log" 2>/dev/null)): refreshed now instead"
    for view in $views; do psql_admin -d "$DB" -c "REFRESH MATERIALIZED VIEW CONCURRENTLY $view"; done
    echo 0 >"$STATE/$DB.views.status"
  fi
else
  log "no materialized view waits for a refresh"
fi
