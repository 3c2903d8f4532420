#!/usr/bin/env bash
# Helpers about a Mastodon install. Most take the live directory (the checkout) as their first argument,
# so one definition serves both servers (on_peer ships them to the other one).

# env_value LIVE KEY: a non-secret value of .env.production (LOCAL_DOMAIN, S3_ENABLED, ...); never the file.
env_value() { sed -n "s/^$2=//p" "$1/.env.production" | tail -n 1 | tr -d "\"'"; }

# redis_cli LIVE ARGS...: redis-cli with the port and password of that .env.production (the password goes
# through REDISCLI_AUTH, never on a command line or in the log; none at all without a password, or redis-cli
# would warn "AUTH failed" on every call).
redis_cli() {
  local live=$1 port password
  shift
  port=$(env_value "$live" REDIS_PORT 2>/dev/null) || true
  password=$(env_value "$live" REDIS_PASSWORD 2>/dev/null) || true
  if [ -n "$password" ]; then
    REDISCLI_AUTH="$password" redis-cli -p "${port:-6379}" "$@"
  else
    env -u REDISCLI_AUTH redis-cli -p "${port:-6379}" "$@"
  fi
}

# redis_info LIVE FIELD: one field of INFO (redis_version, loading, config_file, ...), without the CR; empty
# when Redis does not answer.
redis_info() { { redis_cli "$1" INFO 2>/dev/null || true; } | tr -d '\r' | sed -n "s/^$2://p"; }

# redis_config PORT FILE NAME DEFAULT: a setting of the Redis on PORT: from the running server when it answers
# CONFIG GET, else from its configuration file, which a stopped Redis (a new server's) starts with: the last
# NAME line wins, as Redis reads it, and DEFAULT when there is none. Dies when neither can be read.
redis_config() {
  local port=$1 conf=$2 name=$3 fallback=$4 got value
  got=$(env -u REDISCLI_AUTH redis-cli -p "$port" CONFIG GET "$name" 2>/dev/null) || true
  if [ "$(printf '%s\n' "$got" | sed -n 1p)" = "$name" ]; then
    printf '%s\n' "$got" | sed -n 2p
    return 0
  fi
  [ -r "$conf" ] || die "Redis on $(hostname) does not answer CONFIG GET on port $port and $conf cannot be read: cannot check its $name"
  value=$(sed -n "s/^[[:space:]]*${name}[[:space:]]\{1,\}\([^[:space:]#]*\).*/\1/Ip" "$conf" | tail -n 1 | tr -d "\"'")
  printf '%s\n' "${value:-$fallback}"
}

# redis_server_version: the version of this server's redis-server (it reads the RDB formats of its version
# and older).
redis_server_version() { redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p'; }

# redis_refuse_older SOURCE TARGET: die unless Redis TARGET (the target server's) is at least SOURCE (the
# source server's): an older Redis cannot load a newer RDB format. Nothing to compare without SOURCE.
redis_refuse_older() {
  [ -z "$1" ] || [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ] ||
    die "Redis $2 on the target server is older than the source server's $1: it cannot load the source's RDB format; install Redis $1 or newer there"
}

# redis_persistent LIVE: the keys without an expiry, per database ("db0=12 db3=4"), from INFO keyspace. A
# copy of an RDB drops the keys that expired meanwhile (rate limits, streaming, cache); these never do.
redis_persistent() {
  redis_cli "$1" INFO keyspace | tr -d '\r' | sed -n 's/^\(db[0-9]*\):keys=\([0-9]*\),expires=\([0-9]*\).*/\1 \2 \3/p' |
    awk '{ printf "%s%s=%d", (NR > 1 ? " " : ""), $1, $2 - $3 } END { print "" }'
}

# redis_wait_loaded LIVE SECONDS: wait until Redis answers PING and has finished loading its data file
# (while LOADING, every command but INFO fails).
redis_wait_loaded() {
  local deadline=$(($(date +%s) + $2))
  until [ "$(redis_cli "$1" PING 2>/dev/null)" = PONG ] && [ "$(redis_info "$1" loading)" = 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "Redis on $(hostname) is not ready (loading its data) after $2 s"
    sleep 0.1
  done
}

# media_stats LIVE: "<files> <bytes>" of the user media (public/system), following public/system itself when
# it is a link to a block volume (common), never links inside it.
media_stats() {
  local media="$1/public/system"
  if [ -d "$media" ]; then
    find -H "$media" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'
  else
    echo "0 0"
  fi
}

# media_changed_stats LIVE LIST: "<files> <bytes> <digest>" of the paths that LIST (NUL separated, relative to
# public/system) names and everything below them: the paths the final media pass copied from the change
# journal. The digest covers every such path with its type and, for files, its size; a missing path counts as
# "absent", so a deletion not mirrored shows.
media_changed_stats() {
  local media="$1/public/system" listing files bytes
  listing=$(mktemp)
  if [ -d "$media" ]; then
    (cd "$media" && while IFS= read -r -d '' path; do
      if [ -e "$path" ] || [ -L "$path" ]; then
        find "$path" \( -type f -printf '%p f %s\0' \) -o -printf '%p %y\0'
      else
        printf '%s absent\0' "$path"
      fi
    done <"$2") | LC_ALL=C sort -zu >"$listing"
  fi
  files=$(grep -zc ' f [0-9]*$' "$listing" || true)
  bytes=$(sed -zn 's/.* f \([0-9]*\)$/\1/p' "$listing" | tr '\0' '\n' | awk '{ b += $1 } END { printf "%d", b }')
  printf '%d %d %s\n' "$files" "$bytes" "$(sha256sum <"$listing" | cut -c1-64)"
  rm -f "$listing"
}

# mastodon_units: the units to run: every mastodon-* unit file; a streaming template (mastodon-streaming@)
# only when there is no plain streaming unit.
mastodon_units() {
  local f name units=()
  for f in /etc/systemd/system/mastodon-*.service; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .service)
    case "$name" in
      *@) [ -e "/etc/systemd/system/${name%@}.service" ] || units+=("${name}4000") ;;
      *) units+=("$name") ;;
    esac
  done
  [ ${#units[@]} -gt 0 ] || die "no mastodon-*.service unit on $(hostname)"
  echo "${units[@]}"
}

# as_mastodon USER LIVE COMMAND...: run a Rails/tootctl command as Mastodon runs it: as its user, in the
# live directory, with RAILS_ENV=production.
as_mastodon() {
  local user=$1 live=$2
  shift 2
  # shellcheck disable=SC2016 # expanded by the inner shell
  as_user "$user" bash -c 'cd "$1" && shift && RAILS_ENV=production exec "$@"' _ "$live" "$@"
}

# wait_active SECONDS UNIT...: wait until every unit is active; die naming the first one that is not.
wait_active() {
  local seconds=$1 unit
  shift
  for unit in "$@"; do
    for _ in $(seq 1 "$seconds"); do
      systemctl is-active --quiet "$unit" && break
      sleep 1
    done
    systemctl is-active --quiet "$unit" || die "$unit did not become active within $seconds s"
  done
}
