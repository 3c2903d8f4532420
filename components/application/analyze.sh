#!/usr/bin/env bash
# ANALYZE of the restored database once the target server answers its health check: a restore carries no
# planner statistics, but gathering them does not gate serving, so it runs after the downtime window.
# inputs: DB JOBS
log "ANALYZE $DB with $JOBS jobs (after the health check, outside the downtime)"
as_user postgres vacuumdb --quiet --analyze-only -j "$JOBS" -d "$DB"
log "planner statistics gathered"
