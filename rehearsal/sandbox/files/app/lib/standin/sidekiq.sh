#!/usr/bin/env bash
# STAND-IN Sidekiq (mastodon-migration rehearsal sandbox), started by `bundle exec sidekiq`: needs Redis
# at start (like Sidekiq), then works like Sidekiq on the instance's Redis until SIGTERM:
#   - its poller moves due jobs from the `schedule` and `retry` sorted sets to their `queue:<name>` lists;
#   - it pops one job at a time (BRPOP over the queues of `queues`), which removes it from Redis, and runs
#     it: a media_attachments row in the database and its file under public/system/cache, then
#     INCR stat:processed. One job in 16 fails its first run and goes to `retry` (due in 10 s).
#     The `dead` set is left alone, as Sidekiq does.
# Strict: a job that is not Sidekiq's JSON (class, queue, jid, args) or a failing database or media write
# stops it with an error, so a corrupted copy shows. Every write is journalled in log/writes.log
# (`job <jid>`, `row <table> <id>`, `file <path under public/system>`, `key <redis key>`), so a
# rehearsal can tell the writes of this host's app from the data the move carried.
# SIDEKIQ_STANDIN_PAUSE (seconds between jobs, default 0.4) keeps its pace that of a busy instance.
# Each round also runs the jobs of closing an instance (close-jobs.sh: archives, self-destruct's scheduler
# and deliveries); the generic worker leaves those jobs to it.
set -euo pipefail
PROG=sidekiq
# shellcheck source=common.sh
source "$(dirname "$(readlink -f "$0")")/common.sh"
# shellcheck source=close-jobs.sh
source "$(dirname "$(readlink -f "$0")")/close-jobs.sh"
redis ping >/dev/null 2>&1 || fail "Error connecting to Redis on $REDIS_HOST:$REDIS_PORT"
JOURNAL="$LIVE/log/writes.log"
MEDIA="$LIVE/public/system"
PAUSE="${SIDEKIQ_STANDIN_PAUSE:-0.4}"
[[ "${S3_ENABLED:-false}" == true ]] || [[ -d "$MEDIA" && -w "$MEDIA" ]] || fail "$MEDIA is missing or not writable by $(id -un)"
standin_log "sidekiq started (pid $$) $*"
echo "stand-in sidekiq $$ running with $* (Redis $REDIS_HOST:$REDIS_PORT)"
# Like Sidekiq, a stop signal lets the job at hand finish: each round runs in a subshell that ignores it
# (its psql and redis-cli too), and the loop ends after the round.
# SIGTSTP quiets it (no new jobs), as Sidekiq does; the log records it, so a test can see the quiet came
# before the stop.
stop="" quiet=""
trap 'stop=SIGTERM' TERM
trap 'stop=SIGINT' INT
trap 'quiet=1; standin_log "sidekiq $$ quiet on SIGTSTP (no new jobs)"' TSTP

journal() { printf '%s\n' "$*" >>"$JOURNAL"; }

# Sidekiq's scheduled-set poller: due jobs go to their queue (ZREM first, so two pollers never both push).
poll_due() {
  local set job queue now
  now="$(date +%s.%N)"
  for set in schedule retry; do
    while IFS= read -r job; do
      [[ -n "$job" ]] || continue
      [[ "$(redis ZREM "$set" "$job")" == 1 ]] || continue
      queue="$(jq -er '.queue | strings' <<<"$job")" || fail "a job in $set has no queue: ${job:0:200}"
      redis LPUSH "queue:$queue" "$job" >/dev/null
      journal "key queue:$queue"
      journal "key $set"
    done < <(redis --raw ZRANGEBYSCORE "$set" -inf "$now" LIMIT 0 5)
  done
}

# Runs one job: a remote media fetch, as the pull/default workers of Mastodon do.
run_job() {
  local queue="$1" job="$2" jid klass id
  jid="$(jq -er '.jid | strings' <<<"$job")" || fail "job without a jid in $queue: ${job:0:200}"
  klass="$(jq -er '.class | strings' <<<"$job")" || fail "job $jid without a class"
  jq -e '.args | arrays' <<<"$job" >/dev/null || fail "job $jid ($klass) without args"
  journal "job $jid"
  if [[ "$jid" == *0 ]] && ! jq -e 'has("retry_count")' <<<"$job" >/dev/null; then
    # One job in 16 fails its first run (a remote server timed out): into `retry`, due again in 10 s.
    redis ZADD retry "$(($(date +%s) + 10))" "$(jq -c '. + {retry_count: 0, error_class: "Net::ReadTimeout", failed_at: now}' <<<"$job")" >/dev/null
    journal "key retry"
    return 0
  fi
  id="$(db_psql -At -v jid="$jid" -v klass="$klass" <<'SQL'
INSERT INTO media_attachments (account_id, file_file_name, file_content_type, file_file_size, remote_url,
    created_at, updated_at, type, description)
SELECT id, :'jid' || '.png', 'image/png', 68, 'https://files.example/' || :'jid', now(), now(), 0, :'klass'
  FROM accounts ORDER BY id LIMIT 1
RETURNING id;
SQL
  )" || fail "job $jid: the database write failed"
  id="${id%%$'\n'*}"
  [[ "$id" =~ ^[0-9]+$ ]] || fail "job $jid: no row was written (no accounts?)"
  journal "row media_attachments $id"
  # With S3_ENABLED=true Mastodon stores the file in the bucket (none here): nothing on the local disk.
  if [[ "${S3_ENABLED:-false}" != true ]]; then write_media "$jid" "$klass" "$id"; fi
  redis INCR stat:processed >/dev/null
  journal "key stat:processed"
}

write_media() {
  local jid="$1" klass="$2" id="$3" dir file
  dir="cache/media_attachments/files/standin/original"
  mkdir -p "$MEDIA/$dir" || fail "job $jid: cannot create $MEDIA/$dir"
  file="$dir/$id.png"
  { printf '\x89PNG\r\n\x1a\n%s %s %s\n' "$jid" "$klass" "$id" >"$MEDIA/$file.tmp" && mv "$MEDIA/$file.tmp" "$MEDIA/$file"; } ||
    fail "job $jid: cannot write $MEDIA/$file"
  journal "file $file"
}

# The oldest job of the first queue that has one, taken with LREM (close-jobs.sh takes its own classes the
# same way, so two workers never both get one); close jobs are left to close_round.
work() {
  local q job
  while IFS= read -r q; do
    [[ -n "$q" ]] || continue
    job="$(redis --raw LRANGE "queue:$q" -50 -1 | tac |
      jq -rR "select(try (fromjson | (.class == \"BackupWorker\" or ($CLOSE_DELETE_JOB)) | not) catch true)" | head -n 1)"
    [[ -n "$job" ]] || continue
    [[ "$(redis LREM "queue:$q" 1 "$job")" == 1 ]] || continue
    journal "key queue:$q"
    run_job "queue:$q" "$job"
    return 0
  done < <(redis --raw SMEMBERS queues | sort)
}

round() {
  trap '' TERM INT TSTP
  redis ping >/dev/null 2>&1 || fail "lost the connection to Redis on $REDIS_HOST:$REDIS_PORT"
  poll_due
  work
}

while [[ -z "$stop" ]]; do
  # The closing jobs keep their state between rounds (the scheduler's tick): in this shell.
  [[ -n "$quiet" ]] || close_round
  [[ -z "$stop" ]] || break
  # Test hook of the rehearsal (not Sidekiq): tmp/standin-writes-paused pauses the work; tmp/ is never moved.
  [[ -n "$quiet" || -e "$LIVE/tmp/standin-writes-paused" ]] || (round) || exit 1
  [[ -z "$stop" ]] || break
  sleep "$PAUSE" &
  wait $! || true
done
standin_log "sidekiq $$ stopping on $stop"
echo "stand-in sidekiq: $stop, shutting down"
