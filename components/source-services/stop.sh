#!/usr/bin/env bash
# Stop Mastodon on the source server (mastodon-* units); PostgreSQL and Redis keep running for the dump and
# the Redis copy. The units that were running are recorded, so the rollback starts exactly those again.
# inputs:
RECORD="$WORK/stopped-units"
mapfile -t running < <(systemctl list-units --type=service --state=running --plain --no-legend 'mastodon-*' | awk '{print $1}')
if [ ! -e "$RECORD" ]; then
  # Keep the list from the first run: a re-run finds nothing running any more.
  printf '%s\n' "${running[@]}" | sed '/^$/d' >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
fi
if [ ${#running[@]} -gt 0 ]; then
  log "stopping: ${running[*]}"
  systemctl stop "${running[@]}"
fi
while read -r unit; do
  for _ in $(seq 1 120); do
    systemctl is-active --quiet "$unit" || break
    sleep 1
  done
  ! systemctl is-active --quiet "$unit" || die "$unit is still active after 120 s"
done <"$RECORD"
log "Mastodon is stopped on the source server (PostgreSQL and Redis keep running)"
