#!/usr/bin/env bash
# Rollback: Redis runs again on the source server.
# inputs:
systemctl start redis-server 9>&-
rm -f "$WORK/redis-saved"
log "Redis running again on the source server"
