#!/usr/bin/env bash
# Redis, per the current guide: with Redis stopped on the target (redis/prepare.sh, before the window; it
# would overwrite the file on exit), save and stop Redis on the source, copy dump.rdb server to server, start
# Redis on the target with the source's password (requirepass = REDIS_PASSWORD), wait until it has LOADED
# the file, and compare the keys without an expiry per database (keys with a TTL may expire in between and
# are not kept by a load; persistent keys never change while nothing writes). Without it queued Sidekiq jobs
# are lost and trends and "active users" reset. Redis on the source server is stopped and disabled at boot.
# It starts as soon as Mastodon is stopped, beside the copy of .env.production: the password it sets is the
# source's REDIS_PASSWORD as it is now (what that copy carries), the port the target's REDIS_PORT.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_WORK
SAVED="$WORK/redis-saved"
LOAD_TIMEOUT=3600

# On the target: the source's password as requirepass, the copied file in place, Redis started and
# loaded; print its persistent key counts.
load_target_redis() {
  local data conf password live
  # Stopped by the prepare step; should something have started it since, stopped again first.
  stop_target_redis >/dev/null
  { read -r data && read -r conf; } <"$TARGET_WORK/redis-target" || true
  live=$(target_redis_live)
  password=$REDIS_PASS
  if [ -n "$conf" ] && [ -f "$conf" ]; then
    case "$password" in *'"'* | *\\*) die "REDIS_PASSWORD holds a quote or backslash: set requirepass in $conf by hand" ;; esac
    sed -i '/^[[:space:]]*requirepass[[:space:]]/d' "$conf"
    if [ -n "$password" ]; then printf 'requirepass "%s"\n' "$password" >>"$conf"; fi
  elif [ -n "$password" ]; then
    die "Redis on the target server runs without a config file: cannot carry the password (set requirepass yourself)"
  fi
  if [ -e "$data.migrating" ]; then chown redis:redis "$data.migrating" && mv "$data.migrating" "$data"; fi
  systemctl start redis-server 9>&-
  redis_wait_loaded "$live" "$LOAD_TIMEOUT"
  redis_persistent "$live"
  rm -rf "$live"
}

[ -s "$WORK/redis-target" ] || die "the target's Redis was not prepared (redis-prepare): run pulumi up again"
{ read -r target_version && read -r target_file; } <"$WORK/redis-target"
# Empty when the source's Redis does not answer.
SOURCE_VERSION=$(redis_info "$SOURCE_LIVE" redis_version)
REDIS_PASS=$(env_value "$SOURCE_LIVE" REDIS_PASSWORD)
if [ -n "$SOURCE_VERSION" ]; then
  dir=$(redis_cli "$SOURCE_LIVE" CONFIG GET dir | sed -n 2p)
  file=$(redis_cli "$SOURCE_LIVE" CONFIG GET dbfilename | sed -n 2p)
  # With save points Redis saves as it stops (a SAVE before would write the same data twice); without any,
  # SAVE first. Nothing writes meanwhile: Mastodon is stopped.
  save_points=$(redis_cli "$SOURCE_LIVE" CONFIG GET save | sed -n 2p)
  [ -n "$save_points" ] || redis_cli "$SOURCE_LIVE" SAVE >/dev/null
  persistent=$(redis_persistent "$SOURCE_LIVE")
  saving=$(date +%s)
  systemctl stop redis-server
  [ -f "$dir/$file" ] && [ "$(stat -c %Y "$dir/$file")" -ge "${saving}" ] || [ -z "$save_points" ] ||
    die "Redis on the source server stopped without saving $dir/$file (see its log): start it, SAVE, and run pulumi up again"
  # Not at boot either (Sidekiq's queues as of the cutover stay there); the rollback enables it again.
  if systemctl is-enabled --quiet redis-server 2>/dev/null; then
    touch "$WORK/redis-disabled" && systemctl disable redis-server >/dev/null
  fi
  printf '%s/%s\n%s\n' "$dir" "$file" "$persistent" >"$SAVED.tmp" && mv "$SAVED.tmp" "$SAVED"
  log "SAVE done on the source server (keys without expiry: ${persistent:-none}) and Redis stopped"
fi
[ -s "$SAVED" ] || die "Redis is not running on the source server and this step did not save it: start redis-server there and run pulumi up again"
{ read -r source_file && read -r persistent; } <"$SAVED" || true
log "RDB format $(head -c 9 "$source_file" | sed -n 's/^REDIS0*//p') from the source server; Redis $target_version on the target server"
rsync --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$source_file" "$PEER:$target_file.migrating" >"$WORK/$STEP.stats"
grep -E '^Total file size' "$WORK/$STEP.stats" || true
copied=$(on_peer load_target_redis TARGET_LIVE TARGET_WORK LOAD_TIMEOUT REDIS_PASS SOURCE_VERSION)
[ "$copied" = "$persistent" ] || die "Redis on the target server holds keys without expiry ${copied:-none}, the source server saved ${persistent:-none}"
log "Redis copied and loaded: keys without expiry ${copied:-none} on both servers (keys with a TTL may have expired meanwhile)"
