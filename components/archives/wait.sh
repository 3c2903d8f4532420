#!/usr/bin/env bash
# The backups gate: wait until no row of `backups` has processed = false (every requested archive is built),
# with progress every 20 s, for at most TIMEOUT seconds (then fail; the next up waits again). Prints
# ARCHIVES_READY {"at": ..., "processed": N}: the download period counts from that time.
# inputs: DB TIMEOUT
pending() { psql_admin -d "$DB" -c "SELECT count(*) FROM backups WHERE NOT processed"; }
processed() { psql_admin -d "$DB" -c "SELECT count(*) FROM backups WHERE processed"; }
# shellcheck disable=SC2016 # evaluated by the heartbeat
heartbeat 'echo "backups gate: $(pending) pending, $(processed) processed"'
deadline=$(($(date +%s) + TIMEOUT))
log "backups gate: $(pending) pending, $(processed) processed"
while [ "$(pending)" != 0 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "backups gate: $(pending) archives still pending after ${TIMEOUT}s (closeBackupTimeoutSeconds); run pulumi up again to keep waiting"
  sleep 2
done
at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "backups gate passed: 0 pending, $(processed) processed"
printf 'ARCHIVES_READY {"at":"%s","processed":%s}\n' "$at" "$(processed)"
