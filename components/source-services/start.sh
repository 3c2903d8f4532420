#!/usr/bin/env bash
# Rollback: enable the units the stop step disabled, put the Mastodon user's crontab back, start the units
# it recorded (or DEFAULT_UNITS without a record) and wait until they are active;
# Redis first when it is stopped.
# inputs: DEFAULT_UNITS MASTODON_USER
RECORD="$WORK/stopped-units"
ENABLED="$WORK/disabled-units"
CRONTAB="$WORK/crontab"
if [ -s "$ENABLED" ]; then
  mapfile -t enabled <"$ENABLED"
  systemctl enable "${enabled[@]}" >/dev/null
  log "enabled at boot again: ${enabled[*]}"
fi
rm -f "$ENABLED"
if [ -e "$CRONTAB" ]; then
  crontab -u "$MASTODON_USER" "$CRONTAB"
  rm -f "$CRONTAB"
  log "crontab of $MASTODON_USER restored"
fi
units=()
[ ! -e "$RECORD" ] || mapfile -t units <"$RECORD"
[ ${#units[@]} -gt 0 ] || units=("${DEFAULT_UNITS[@]}")
# Mastodon needs Redis: a Redis copy that failed half-way is not in state, so its undo never ran. Do what
# that undo does: Redis may still be disabled at boot and stopped (saved, not yet copied), and the dump it
# saved at the stop is stale once Mastodon runs here again (a later copy must SAVE anew).
if [ -e "$WORK/redis-disabled" ]; then
  systemctl enable redis-server >/dev/null
  rm -f "$WORK/redis-disabled"
  log "Redis enabled at boot again on the source server (a Redis copy did not finish)"
fi
if ! systemctl is-active --quiet redis-server; then
  log "Redis is stopped on the source server (a Redis copy did not finish): starting it first"
  systemctl start redis-server 9>&-
fi
rm -f "$WORK/redis-saved"
log "starting: ${units[*]}"
systemctl start "${units[@]}" 9>&-
wait_active 120 "${units[@]}"
rm -f "$RECORD"
log "Mastodon is running again on the source server"
