#!/usr/bin/env bash
# Stop Mastodon on the source server (mastodon-* units); PostgreSQL and Redis keep running for the dump and
# the Redis copy. Sidekiq is quieted first (SIGTSTP: no new jobs) and given QUIET_SECONDS to finish the jobs
# it is running. The units that were running are recorded, so the rollback starts exactly those again; the
# units enabled at boot are disabled (a reboot would start them and replay the cutover-time queues) and
# recorded for the rollback, and so is the Mastodon user's crontab (tootctl media remove ... would run on a
# retired server), which the cutover carries to the target server (config-files/refresh.sh).
# inputs: LIVE MASTODON_USER QUIET_SECONDS
RECORD="$WORK/stopped-units"
ENABLED="$WORK/disabled-units"
CRONTAB="$WORK/crontab"
mapfile -t running < <(systemctl list-units --type=service --state=running --plain --no-legend 'mastodon-*' | awk '{print $1}')
if [ ! -e "$RECORD" ]; then
  # Keep the list from the first run: a re-run finds nothing running any more.
  printf '%s\n' "${running[@]}" | sed '/^$/d' >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
fi

# Sidekiq quiet first: it stops fetching jobs; the running ones finish (or go back to the queue on stop).
sidekiq=()
for unit in "${running[@]}"; do case "$unit" in mastodon-sidekiq*) sidekiq+=("$unit") ;; esac; done
if [ ${#sidekiq[@]} -gt 0 ]; then
  systemctl kill --signal=TSTP --kill-whom=main "${sidekiq[@]}"
  log "Sidekiq quieted (${sidekiq[*]}): waiting up to $QUIET_SECONDS s for its running jobs"
  busy() {
    local n=0 p b
    while read -r p; do
      [ -n "$p" ] || continue
      b=$(redis_cli "$LIVE" HGET "$p" busy 2>/dev/null) || b=0
      n=$((n + ${b:-0}))
    done < <(redis_cli "$LIVE" SMEMBERS processes 2>/dev/null)
    echo "$n"
  }
  deadline=$(($(date +%s) + QUIET_SECONDS))
  while [ "$(busy)" -gt 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
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

# Nothing of Mastodon starts again on this server by itself: units disabled, crontab set aside.
if [ ! -e "$ENABLED" ]; then
  read -r -a units <<<"$(mastodon_units)"
  for unit in "${units[@]}"; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null; then echo "$unit"; fi
  done >"$ENABLED.tmp"
  mv "$ENABLED.tmp" "$ENABLED"
fi
mapfile -t enabled <"$ENABLED"
if [ ${#enabled[@]} -gt 0 ]; then
  systemctl disable "${enabled[@]}" >/dev/null
  log "disabled at boot: ${enabled[*]}"
fi
if command -v crontab >/dev/null && [ ! -e "$CRONTAB" ]; then
  if crontab -l -u "$MASTODON_USER" >"$CRONTAB.tmp" 2>/dev/null; then
    mv "$CRONTAB.tmp" "$CRONTAB"
    crontab -r -u "$MASTODON_USER"
    log "crontab of $MASTODON_USER set aside ($(grep -cv '^[[:space:]]*\(#\|$\)' "$CRONTAB" || true) entries; restored on rollback)"
  else
    rm -f "$CRONTAB.tmp"
  fi
fi
log "Mastodon is stopped on the source server (PostgreSQL and Redis keep running)"
