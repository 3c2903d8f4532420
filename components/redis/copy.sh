#!/usr/bin/env bash
# Redis, per the current guide: stop Redis on the target first (it would overwrite the file on exit), SAVE
# and stop Redis on the source, copy dump.rdb server to server, start Redis on the target with the source's
# password (requirepass = REDIS_PASSWORD of the copied .env.production), wait until it has LOADED the file,
# and compare the keys without an expiry per database (keys with a TTL may expire in between and are not
# kept by a load; persistent keys never change while nothing writes). The target's Redis must be at least
# the source's version, or it cannot read the source's RDB format. Without it queued Sidekiq jobs are lost
# and trends and "active users" reset. Redis on the source server is stopped and disabled at boot.
# It starts as soon as Mastodon is stopped, beside the copy of .env.production: the password it sets is the
# source's REDIS_PASSWORD as it is now (what that copy carries), the port the target's REDIS_PORT.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_WORK
SAVED="$WORK/redis-saved"
LOAD_TIMEOUT=3600

# On the target: the version of its redis-server (it reads the RDB formats of its version and older).
target_redis_version() { redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p'; }

# On the target: a private stand-in for .env.production that redis_cli reads (print its directory): the
# target's REDIS_PORT and the source's REDIS_PASSWORD (REDIS_PASS, sent on stdin; the target's own copy of
# .env.production may be rewritten meanwhile).
target_redis_live() {
  local dir="$TARGET_WORK/redis-env"
  install -d -m 700 "$dir"
  (umask 077 && printf 'REDIS_PORT=%s\nREDIS_PASSWORD=%s\n' "$(env_value "$TARGET_LIVE" REDIS_PORT)" "$REDIS_PASS" >"$dir/.env.production.tmp")
  mv "$dir/.env.production.tmp" "$dir/.env.production"
  echo "$dir"
}

# On the target: redis-cli for its Redis as it runs before the copy: a fresh one has no password yet (the
# source's arrives with this copy; sending it would only print "AUTH failed"), else REDIS_PASSWORD.
target_cli() {
  local port
  port=$(env_value "$TARGET_LIVE" REDIS_PORT) || true
  if [ "$(env -u REDISCLI_AUTH redis-cli -p "${port:-6379}" PING 2>/dev/null)" = PONG ]; then
    env -u REDISCLI_AUTH redis-cli -p "${port:-6379}" "$@"
  else
    redis_cli "$(target_redis_live)" "$@"
  fi
}

# On the target: refuse a redis-server older than the source's (SOURCE_VERSION, when the source's Redis
# runs) before anything is touched; then stop Redis once, recording its data file and config file first.
# Prints its version, then the data file.
stop_target_redis() {
  local record="$TARGET_WORK/redis-target" dir file conf reply version
  version=$(target_redis_version)
  if [ -n "$SOURCE_VERSION" ] && [ "$(printf '%s\n%s\n' "$SOURCE_VERSION" "$version" | sort -V | head -n 1)" != "$SOURCE_VERSION" ]; then
    die "Redis $version on the target server is older than the source server's $SOURCE_VERSION: it cannot load the source's RDB format; install Redis $SOURCE_VERSION or newer there"
  fi
  install -d -m 711 "$TARGET_WORK"
  reply=$(target_cli PING 2>/dev/null) || true
  case "$reply" in
    *NOAUTH* | *WRONGPASS*) die "Redis on the target server wants a password other than REDIS_PASSWORD of .env.production: remove its requirepass (the copy sets the source's)" ;;
  esac
  if [ "$reply" = PONG ]; then
    [ "$(target_cli CONFIG GET appendonly | sed -n 2p)" != yes ] || die "appendonly is on: the copied dump.rdb would be ignored"
    dir=$(target_cli CONFIG GET dir | sed -n 2p)
    file=$(target_cli CONFIG GET dbfilename | sed -n 2p)
    conf=$(target_cli INFO server | tr -d '\r' | sed -n 's/^config_file://p')
    printf '%s/%s\n%s\n' "$dir" "$file" "$conf" >"$record.tmp" && mv "$record.tmp" "$record"
    systemctl stop redis-server
  elif [ ! -s "$record" ]; then
    # Stopped already (a new EC2 server leaves it stopped): the Debian layout.
    printf '%s\n%s\n' /var/lib/redis/dump.rdb /etc/redis/redis.conf >"$record.tmp" && mv "$record.tmp" "$record"
  fi
  echo "$version"
  head -n 1 "$record"
}

# On the target: the source's password as requirepass, the copied file in place, Redis started and
# loaded; print its persistent key counts.
load_target_redis() {
  local data conf password live
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

SOURCE_VERSION=
if [ "$(redis_cli "$SOURCE_LIVE" PING 2>/dev/null)" = PONG ]; then SOURCE_VERSION=$(redis_info "$SOURCE_LIVE" redis_version); fi
REDIS_PASS=$(env_value "$SOURCE_LIVE" REDIS_PASSWORD)
target=$(on_peer stop_target_redis TARGET_LIVE TARGET_WORK REDIS_PASS SOURCE_VERSION)
{ read -r target_version && read -r target_file; } <<<"$target"
log "Redis stopped on the target server (its data file: $target_file)"
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
copied=$(on_peer load_target_redis TARGET_LIVE TARGET_WORK LOAD_TIMEOUT REDIS_PASS)
[ "$copied" = "$persistent" ] || die "Redis on the target server holds keys without expiry ${copied:-none}, the source server saved ${persistent:-none}"
log "Redis copied and loaded: keys without expiry ${copied:-none} on both servers (keys with a TTL may have expired meanwhile)"
