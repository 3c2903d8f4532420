#!/usr/bin/env bash
# Follow the deletion notices: re-run `tootctl self-destruct` (in self-destruct mode it only reports
# progress and never asks) until it says "Every deletion notice has been sent!", for at most TIMEOUT seconds.
# Its stdin is closed: were the mode off, the command would read no domain and stop, never start again.
# inputs: LIVE MASTODON_USER TIMEOUT
report() { as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl self-destruct </dev/null 2>&1 | tail -n 1; }
# shellcheck disable=SC2016 # evaluated by the heartbeat
heartbeat 'report'
deadline=$(($(date +%s) + TIMEOUT))
while :; do
  status=$(as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl self-destruct </dev/null 2>&1) || true
  grep -q 'already enabled' <<<"$status" || die "self-destruct mode is not on (SELF_DESTRUCT missing from .env.production?): $(tail -n 2 <<<"$status")"
  if grep -q 'Every deletion notice has been sent!' <<<"$status"; then
    log "Every deletion notice has been sent!"
    break
  fi
  [ "$(date +%s)" -lt "$deadline" ] || die "deletion notices still being sent after ${TIMEOUT}s ($(tail -n 1 <<<"$status")); run pulumi up again to keep following"
  sleep 5
done
