#!/usr/bin/env bash
# The target server's Redis, for the Redis steps (redis/prepare.sh, redis/copy.sh): functions they run on the
# target through on_peer, with TARGET_LIVE, TARGET_WORK, REDIS_PASS (the source's REDIS_PASSWORD, sent on
# stdin) and SOURCE_VERSION (the source's redis-server, empty when it does not run).
# Helpers: target_redis_live, target_cli, stop_target_redis.

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
  version=$(redis_server_version)
  redis_refuse_older "$SOURCE_VERSION" "$version"
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
