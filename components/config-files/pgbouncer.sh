#!/usr/bin/env bash
# /etc/pgbouncer, when the source server has one (started with the application).
# inputs:
if [ ! -d /etc/pgbouncer ]; then
  log "no /etc/pgbouncer on the source server: nothing to copy"
  exit 0
fi
rsync -a -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" /etc/pgbouncer/ "$PEER:/etc/pgbouncer/"
log "/etc/pgbouncer copied (started with the application)"
