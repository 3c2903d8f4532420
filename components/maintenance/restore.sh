#!/usr/bin/env bash
# Rollback: put the original page back.
# inputs: LIVE
PAGE="$LIVE/public/500.html"
SAVED="$PAGE.pre-migration"
if [ -e "$SAVED" ]; then
  mv "$SAVED" "$PAGE"
  log "original page restored"
else
  log "no saved page at $SAVED: nothing to restore"
fi
