#!/usr/bin/env bash
# STAND-IN Sidekiq (mastodon-migration rehearsal sandbox), started by `bundle exec sidekiq`:
# needs Redis at start (like Sidekiq), then runs the jobs of closing an instance (close-jobs.sh: archives,
# self-destruct's scheduler and deliveries) every second, until SIGTERM, on which it exits cleanly
# (status 0), as Sidekiq does after finishing its jobs. SIGTSTP quiets it (no new jobs, as Sidekiq does);
# the log records it, so a test can see the quiet came before the stop.
set -euo pipefail
PROG=sidekiq
# shellcheck source=common.sh
source "$(dirname "$(readlink -f "$0")")/common.sh"
# shellcheck source=close-jobs.sh
source "$(dirname "$(readlink -f "$0")")/close-jobs.sh"
redis ping >/dev/null 2>&1 || fail "Error connecting to Redis on $REDIS_HOST:$REDIS_PORT"
standin_log "sidekiq started (pid $$) $*"
echo "stand-in sidekiq $$ running with $* (Redis $REDIS_HOST:$REDIS_PORT)"
# Like Sidekiq, a stop signal lets the jobs at hand finish: the loop ends after the round.
stop=""
quiet=0
trap 'stop=SIGTERM' TERM
trap 'stop=SIGINT' INT
trap 'quiet=1; standin_log "sidekiq $$ quiet on SIGTSTP (no new jobs)"' TSTP
while [[ -z "$stop" ]]; do
  [[ "$quiet" == 1 ]] || close_round
  [[ -z "$stop" ]] || break
  sleep 1 &
  wait $! || true
done
standin_log "sidekiq $$ stopping on $stop"
echo "stand-in sidekiq: $stop, shutting down"
