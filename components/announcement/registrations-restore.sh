#!/usr/bin/env bash
# Rollback: put registrations back in the mode recorded before they were closed.
# inputs: LIVE MASTODON_USER
RECORD="$WORK/registrations-mode"
[ -s "$RECORD" ] || { log "no recorded registrations mode: left as it is"; exit 0; }
mode=$(cat "$RECORD")
case "$mode" in
  open) as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl settings registrations open ;;
  approved) as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl settings registrations approved ;;
  none) log "registrations were already closed: left closed" ;;
  *) die "unknown recorded registrations mode '$mode' in $RECORD" ;;
esac
rm -f "$RECORD"
log "registrations back to: $mode"
