#!/usr/bin/env bash
# Before the window (the maintenance page waits for it): refuse a target redis-server older than the
# source's, which could not read the source's RDB format, before any downtime; then stop Redis on the target
# (it would overwrite the copied file on exit), recording its data and config files there. What the copy
# needs of it (the target's version and data file) is kept here, on the source server.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_WORK
# Empty when the source's Redis does not answer.
SOURCE_VERSION=$(redis_info "$SOURCE_LIVE" redis_version)
# shellcheck disable=SC2034 # sent to the target by on_peer
REDIS_PASS=$(env_value "$SOURCE_LIVE" REDIS_PASSWORD)
target=$(on_peer stop_target_redis TARGET_LIVE TARGET_WORK REDIS_PASS SOURCE_VERSION)
printf '%s\n' "$target" >"$WORK/redis-target.tmp" && mv "$WORK/redis-target.tmp" "$WORK/redis-target"
{ read -r version && read -r file; } <<<"$target"
log "Redis $version on the target server (on the source server: ${SOURCE_VERSION:-not running}) stopped until the copy (its data file: $file)"
