#!/usr/bin/env bash
# Rollback: start the units the stop step recorded (or DEFAULT_UNITS without a record) and wait until they
# are active.
# inputs: DEFAULT_UNITS
RECORD="$WORK/stopped-units"
units=()
[ ! -e "$RECORD" ] || mapfile -t units <"$RECORD"
[ ${#units[@]} -gt 0 ] || units=("${DEFAULT_UNITS[@]}")
log "starting: ${units[*]}"
systemctl start "${units[@]}" 9>&-
for unit in "${units[@]}"; do
  for _ in $(seq 1 120); do
    systemctl is-active --quiet "$unit" && break
    sleep 1
  done
  systemctl is-active --quiet "$unit" || die "$unit did not become active"
done
rm -f "$RECORD"
log "Mastodon is running again on the source server"
