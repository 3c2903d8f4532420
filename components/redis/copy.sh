#!/usr/bin/env bash
# Redis, per the current guide: stop Redis on the target first (it would overwrite the file on exit), SAVE
# and stop Redis on the source, copy dump.rdb server to server, start Redis on the target and compare the
# counts of keys without an expiry (keys with one, such as rate limits and streaming subscriptions, may
# expire between the SAVE and the load, which drops them). Without it queued Sidekiq jobs are lost and
# trends and "active users" reset.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_WORK
SAVED="$WORK/redis-saved"

# persistent_keys LIVE: keys without an expiry in db 0 (INFO keyspace: keys - expires), once loading is done.
persistent_keys() {
  local info
  for _ in $(seq 1 600); do
    info=$(redis_cli "$1" INFO persistence 2>/dev/null | tr -d '\r') || true
    grep -qx 'loading:0' <<<"$info" && break
    sleep 1
  done
  grep -qx 'loading:0' <<<"$info" || die "Redis is still loading its dataset after 600 s"
  redis_cli "$1" INFO keyspace | tr -d '\r' | awk -F'[=,:]' '$1 == "db0" { print $3 - $5; found = 1 } END { if (!found) print 0 }'
}

# On the target: stop Redis once, recording its data file first; print that file.
stop_target_redis() {
  local record="$TARGET_WORK/redis-target" dir file
  install -d -m 711 "$TARGET_WORK"
  if redis_cli "$TARGET_LIVE" PING >/dev/null 2>&1; then
    [ "$(redis_cli "$TARGET_LIVE" CONFIG GET appendonly | sed -n 2p)" != yes ] || die "appendonly is on: the copied dump.rdb would be ignored"
    dir=$(redis_cli "$TARGET_LIVE" CONFIG GET dir | sed -n 2p)
    file=$(redis_cli "$TARGET_LIVE" CONFIG GET dbfilename | sed -n 2p)
    printf '%s/%s\n' "$dir" "$file" >"$record.tmp" && mv "$record.tmp" "$record"
    systemctl stop redis-server
  fi
  cat "$record" 2>/dev/null || echo /var/lib/redis/dump.rdb
}

# On the target: put the copied file in place, start Redis, print its count of keys without an expiry.
load_target_redis() {
  local data
  data=$(cat "$TARGET_WORK/redis-target" 2>/dev/null || echo /var/lib/redis/dump.rdb)
  chown redis:redis "$data.migrating" && mv "$data.migrating" "$data"
  systemctl start redis-server
  for _ in $(seq 1 60); do
    redis_cli "$TARGET_LIVE" PING >/dev/null 2>&1 && break
    sleep 1
  done
  persistent_keys "$TARGET_LIVE"
}

target_file=$(on_peer stop_target_redis TARGET_LIVE TARGET_WORK)
log "Redis stopped on the target server (its data file: $target_file)"
if redis_cli "$SOURCE_LIVE" PING >/dev/null 2>&1; then
  dir=$(redis_cli "$SOURCE_LIVE" CONFIG GET dir | sed -n 2p)
  file=$(redis_cli "$SOURCE_LIVE" CONFIG GET dbfilename | sed -n 2p)
  keys=$(persistent_keys "$SOURCE_LIVE")
  redis_cli "$SOURCE_LIVE" SAVE >/dev/null
  systemctl stop redis-server
  printf '%s/%s %s\n' "$dir" "$file" "$keys" >"$SAVED.tmp" && mv "$SAVED.tmp" "$SAVED"
  log "SAVE done on the source server ($keys keys without expiry) and Redis stopped"
fi
[ -s "$SAVED" ] || die "Redis is not running on the source server and this step did not save it: start redis-server there and run pulumi up again"
read -r source_file keys <"$SAVED"
rsync --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$source_file" "$PEER:$target_file.migrating" >"$WORK/$STEP.stats"
grep -E '^Total file size' "$WORK/$STEP.stats" || true
copied=$(on_peer load_target_redis TARGET_LIVE TARGET_WORK)
[ "$copied" = "$keys" ] || die "Redis on the target server holds $copied keys without expiry, the source server saved $keys"
log "Redis copied: $copied keys without expiry on the target server (keys with an expiry may have expired)"
