# shellcheck shell=bash
# STAND-IN of the Sidekiq work of closing an instance (mastodon-migration rehearsal sandbox), Mastodon
# >= 4.3; sourced by sidekiq.sh after common.sh. `close_round` is called in each round of its loop:
#   - BackupWorker (queue pull): builds the user's archive (a zip with actor.json and outbox.json) under
#     public/system/backups/dumps/<id partition>/original/, then sets the backups row processed = true, as
#     Mastodon's BackupService does (STANDIN_BACKUP_SECONDS, default 3: how long one archive takes; up to 25
#     a round, as `sidekiq -c 25` runs 25 jobs at once);
#   - in self-destruct mode (SELF_DESTRUCT valid, see self-destruct.js), Scheduler::SelfDestructScheduler
#     every STANDIN_SELF_DESTRUCT_TICK seconds (Mastodon: 60): unless more than 10,000 jobs are queued, up to
#     50 local accounts not yet suspended, by id: a signed-looking Delete of the actor pushed as an
#     ActivityPub::DeliveryWorker job (queue push) for every known inbox, then the account suspended;
#   - ActivityPub::DeliveryWorker jobs carrying a Delete: POSTed to the inbox. Remote servers are reached
#     through STANDIN_FEDERATION_ADDR (host:port of the rehearsal's stand-in remote server; the inbox's
#     host goes in the Host header). A failed delivery goes to `retry`, due again in 5 s.
# Jobs of other classes are left where they are.

CLOSE_SD_JS="$LIVE/lib/standin/self-destruct.js"
CLOSE_LAST_TICK=0
CLOSE_DELETE_JOB='.class == "ActivityPub::DeliveryWorker" and ((.args[0] | fromjson | .type) == "Delete")'

close_partition() { printf '%09d' "$1" | sed -E 's/(...)(...)(...)/\1\/\2\/\3/'; }

# Take up to LIMIT jobs that match the jq FILTER off queue:QUEUE, oldest first, and print them (LREM of each
# exact job, so two workers never both get one).
close_take() {
  local queue=$1 filter=$2 limit=$3 job taken=0
  while IFS= read -r job; do
    [[ -n "$job" ]] || continue
    [[ "$(redis LREM "queue:$queue" 1 "$job")" == 1 ]] || continue
    printf '%s\n' "$job"
    taken=$((taken + 1))
    ((taken < limit)) || break
  done < <(redis --raw LRANGE "queue:$queue" -500 -1 | tac | jq -rR "select(try (fromjson | $filter) catch false)")
}

close_backup_worker() {
  local job=$1 id row username account_id dir name tmp
  id=$(jq -er '.args[0] | numbers' <<<"$job") || fail "BackupWorker job without a backup id: ${job:0:200}"
  row=$(db_psql -F ' ' -Atc "SELECT a.username, a.id FROM backups b JOIN users u ON u.id = b.user_id JOIN accounts a ON a.id = u.account_id WHERE b.id = $id AND NOT b.processed")
  [[ -n "$row" ]] || { standin_log "BackupWorker $id: no pending backup (already processed?)"; return 0; }
  read -r username account_id <<<"$row"
  sleep "${STANDIN_BACKUP_SECONDS:-3}"
  dir="$LIVE/public/system/backups/dumps/$(close_partition "$id")/original"
  name="archive-$(date -u +%Y%m%d%H%M%S)-$(openssl rand -hex 16).zip"
  mkdir -p "$dir" || fail "BackupWorker $id: cannot create $dir"
  tmp=$(mktemp -d)
  jq -n --arg u "$username" --arg d "$LOCAL_DOMAIN" '{"@context": "https://www.w3.org/ns/activitystreams", id: "https://\($d)/users/\($u)", type: "Person", preferredUsername: $u}' >"$tmp/actor.json"
  db_psql -Atc "SELECT coalesce(json_agg(json_build_object('id', id, 'content', text, 'published', created_at) ORDER BY id), '[]') FROM statuses WHERE account_id = $account_id" |
    jq '{"@context": "https://www.w3.org/ns/activitystreams", type: "OrderedCollection", orderedItems: .}' >"$tmp/outbox.json"
  (cd "$tmp" && zip -q -X "$dir/.$name.tmp" actor.json outbox.json) || fail "BackupWorker $id: zip failed"
  rm -rf "$tmp"
  mv "$dir/.$name.tmp" "$dir/$name"
  db_psql -Atc "UPDATE backups SET dump_file_name = '$name', dump_content_type = 'application/zip', dump_file_size = $(stat -c %s "$dir/$name"), dump_updated_at = now(), processed = true, updated_at = now() WHERE id = $id" >/dev/null
  standin_log "BackupWorker $id: archive of $username written ($name); mail with the link sent (stand-in: not sent)"
}

close_self_destruct_tick() {
  local enqueued=0 q inboxes id username jobs count=0
  while read -r q; do
    [[ -n "$q" ]] && enqueued=$((enqueued + $(redis LLEN "queue:$q")))
  done < <(redis --raw SMEMBERS queues)
  if ((enqueued > 10000)); then
    standin_log "SelfDestructScheduler: $enqueued jobs queued, waiting"
    return 0
  fi
  # Account.inboxes: every known remote server's shared inbox.
  mapfile -t inboxes < <(db_psql -Atc "SELECT DISTINCT 'https://' || domain || '/inbox' FROM accounts WHERE domain IS NOT NULL ORDER BY 1")
  while read -r id username; do
    [[ -n "$id" ]] || continue
    # One signed Delete of the actor, delivered to every inbox (ActivityPub::DeliveryWorker.push_bulk).
    mapfile -t jobs < <(jq -cn --arg d "$LOCAL_DOMAIN" --arg u "$username" --argjson id "$id" --arg r "$RANDOM$RANDOM" \
      --args '($ARGS.positional) as $inboxes
      | {"@context": "https://www.w3.org/ns/activitystreams", id: "https://\($d)/users/\($u)#delete", type: "Delete",
         actor: "https://\($d)/users/\($u)", object: "https://\($d)/users/\($u)", to: ["https://www.w3.org/ns/activitystreams#Public"],
         signature: {type: "RsaSignature2017", creator: "https://\($d)/users/\($u)#main-key"}} as $json
      | range(0; $inboxes | length) as $i
      | {retry: true, queue: "push", class: "ActivityPub::DeliveryWorker", args: [($json | tojson), $id, $inboxes[$i]],
         jid: "\($r)\($id)\($i)", created_at: now, enqueued_at: now}' "${inboxes[@]}")
    if ((${#jobs[@]} > 0)); then
      redis SADD queues push >/dev/null || fail "could not push ActivityPub::DeliveryWorker"
      redis LPUSH queue:push "${jobs[@]}" >/dev/null || fail "could not push ActivityPub::DeliveryWorker"
    fi
    db_psql -Atc "UPDATE accounts SET suspended_at = now(), suspension_origin = 0 WHERE id = $id" >/dev/null
    count=$((count + 1))
  done < <(db_psql -F ' ' -Atc "SELECT id, username FROM accounts WHERE domain IS NULL AND suspended_at IS NULL ORDER BY id LIMIT 50")
  standin_log "SelfDestructScheduler: $count accounts deleted, ${#inboxes[@]} inboxes each"
}

close_delivery_worker() {
  local job=$1 body inbox host path
  body=$(jq -er '.args[0] | strings' <<<"$job") || fail "DeliveryWorker job without a payload"
  inbox=$(jq -er '.args[2] | strings' <<<"$job") || fail "DeliveryWorker job without an inbox"
  [[ -n "${STANDIN_FEDERATION_ADDR:-}" ]] || fail "STANDIN_FEDERATION_ADDR is not set: the stand-in cannot reach remote servers"
  host=${inbox#https://}
  path=/${host#*/}
  host=${host%%/*}
  if ! curl -sS --fail --max-time 10 -X POST -H "Host: $host" -H 'Content-Type: application/activity+json' \
    --data-binary "$body" "http://$STANDIN_FEDERATION_ADDR$path" >/dev/null 2>&1; then
    redis ZADD retry "$(($(date +%s) + 5))" "$(jq -c '. + {retry_count: ((.retry_count // -1) + 1), error_class: "HTTP::ConnectionError"}' <<<"$job")" >/dev/null
    standin_log "DeliveryWorker: $inbox unreachable, retry in 5 s"
  fi
}

close_round() {
  local job now
  # Sidekiq's poller for the retries of deliveries.
  now=$(date +%s)
  while IFS= read -r job; do
    [[ -n "$job" ]] || continue
    jq -e "$CLOSE_DELETE_JOB" <<<"$job" >/dev/null 2>&1 || continue
    [[ "$(redis ZREM retry "$job")" == 1 ]] && redis LPUSH queue:push "$job" >/dev/null
  done < <(redis --raw ZRANGEBYSCORE retry -inf "$now" LIMIT 0 50)
  # Sidekiq runs 25 jobs at once (-c 25): up to 25 archives a round.
  while IFS= read -r job; do
    [[ -n "$job" ]] && close_backup_worker "$job"
  done < <(close_take pull '.class == "BackupWorker"' 25)
  if node "$CLOSE_SD_JS" verify; then
    if ((now - CLOSE_LAST_TICK >= ${STANDIN_SELF_DESTRUCT_TICK:-60})); then
      CLOSE_LAST_TICK=$now
      close_self_destruct_tick
    fi
    while IFS= read -r job; do
      [[ -n "$job" ]] && close_delivery_worker "$job"
    done < <(close_take push "$CLOSE_DELETE_JOB" 25)
  fi
}
