#!/usr/bin/env bash
# Remove the migration key from the source server (complete, or destroy).
# inputs:
rm -f "$WORK/migration_ed25519" "$WORK/migration_ed25519.pub" "$WORK/known_hosts"
log "migration key removed from the source server"
