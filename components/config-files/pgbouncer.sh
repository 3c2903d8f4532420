#!/usr/bin/env bash
# /etc/pgbouncer, when the source server has one (started with the application).
# inputs:
if [ ! -d /etc/pgbouncer ]; then
  log "no /etc/pgbouncer on the source server: nothing to copy"
  exit 0
fi
changed=$(rsync -a -c -i -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" /etc/pgbouncer/ "$PEER:/etc/pgbouncer/" | awk '$1 ~ /^[<>]f/ { print $2 }' | tr '\n' ' ')
log "/etc/pgbouncer copied (started with the application); written (new or changed): ${changed:-none}"
