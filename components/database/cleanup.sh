#!/usr/bin/env bash
# Complete: the full dump (the whole database, with its secrets) is removed from this server; a note of what
# it was (size, time) stays beside it, in case someone looks for it.
# inputs: DUMP
NOTE="$(dirname "$DUMP")/last-dump.txt"
if [ -e "$DUMP" ]; then
  printf 'the dump %s (%s bytes, written %s) was removed on %s by the complete phase\n' "$DUMP" "$(du -sb "$DUMP" | cut -f1)" \
    "$(date -u -r "$DUMP" +%FT%TZ)" "$(date -u +%FT%TZ)" >"$NOTE.tmp"
  mv "$NOTE.tmp" "$NOTE"
  rm -rf "$DUMP" "$DUMP.tmp"
  log "removed the dump from $(hostname) (note in $NOTE)"
else
  rm -rf "$DUMP.tmp"
  log "no dump on $(hostname): $(cat "$NOTE" 2>/dev/null || echo "none was written")"
fi
