#!/usr/bin/env bash
# Close registrations (`tootctl settings registrations close`). The mode before (open, approved or none) is
# recorded once, so the rollback reopens them only if they were open.
# inputs: LIVE MASTODON_USER DB
RECORD="$WORK/registrations-mode"
if [ ! -s "$RECORD" ]; then
  # Mastodon stores the setting as YAML ("--- open"); no row means the default, open.
  mode=$(psql_admin -d "$DB" -c "SELECT value FROM settings WHERE var = 'registrations_mode'" | sed -n 's/^--- *//p' | tr -d "'\"")
  mode=${mode:-open}
  printf '%s\n' "$mode" >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
  log "registrations were: $mode"
fi
as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl settings registrations close
log "registrations closed (were $(cat "$RECORD"))"
