#!/usr/bin/env bash
# Rollback: Redis runs again on the source server, and at boot when the copy disabled it.
# inputs:
if [ -e "$WORK/redis-disabled" ]; then
  systemctl enable redis-server >/dev/null
  rm -f "$WORK/redis-disabled"
fi
systemctl start redis-server 9>&-
rm -f "$WORK/redis-saved"
log "Redis running again on the source server"
