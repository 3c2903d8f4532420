# shellcheck shell=bash
# Shared preconditions of the STAND-IN Mastodon commands (bin/tootctl, bin/rails, bundle exec ...).
# They fail loudly, like a misconfigured Mastodon would, unless: RAILS_ENV=production, the current
# directory is the live checkout, .env.production is present and readable, and the database it names
# is reachable with psql as the current OS user.

LIVE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STANDIN_LOG="$LIVE/log/standin.log"
PROG="${PROG:-$(basename "$0")}"

standin_log() {
  printf '%s pid=%s user=%s cwd=%s %s\n' "$(date -Is)" "$$" "$(id -un)" "$PWD" "$*" >>"$STANDIN_LOG" 2>/dev/null || true
}
fail() {
  echo "stand-in $PROG: $*" >&2
  standin_log "$PROG FAILED: $*"
  exit 1
}

# dotenv semantics: KEY=VALUE lines, comments and blanks skipped, quotes stripped, and variables
# already in the environment win.
load_env_production() {
  local line key val
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    line="${line#export }"
    [[ "$line" == *=* ]] || continue
    key="${line%%=*}" val="${line#*=}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [[ "$val" =~ ^\"(.*)\"$ || "$val" =~ ^\'(.*)\'$ ]]; then val="${BASH_REMATCH[1]}"; fi
    [[ -n "${!key+x}" ]] || export "$key=$val"
  done <"$LIVE/.env.production"
  export DB_HOST="${DB_HOST:-localhost}" DB_PORT="${DB_PORT:-5432}"
  export DB_USER="${DB_USER:-mastodon}" DB_NAME="${DB_NAME:-mastodon_production}"
  export REDIS_HOST="${REDIS_HOST:-localhost}" REDIS_PORT="${REDIS_PORT:-6379}"
}

# psql against the instance database as the current OS user (peer auth on a socket DB_HOST).
db_psql() {
  PGPASSWORD="${DB_PASS:-}" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 \
    -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" "$@"
}
redis() {
  local -a auth=()
  [[ -z "${REDIS_PASSWORD:-}" ]] || auth=(-a "$REDIS_PASSWORD" --no-auth-warning)
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "${auth[@]}" "$@"
}

standin_checks() {
  standin_log "$PROG $*"
  [[ "${RAILS_ENV:-}" == production ]] ||
    fail "RAILS_ENV must be 'production' (it is '${RAILS_ENV:-unset}'): Rails would boot the development environment and its database"
  [[ "$(pwd -P)" == "$LIVE" ]] || fail "must be run from $LIVE (the current directory is $PWD)"
  [[ -e "$LIVE/.env.production" ]] || fail "$LIVE/.env.production is missing"
  [[ -r "$LIVE/.env.production" ]] || fail "$LIVE/.env.production is not readable by $(id -un)"
  load_env_production
  # Like Rails, assets:precompile boots without a database (Mastodon's Docker build precompiles with none).
  [[ " $* " != *" assets:precompile "* ]] || return 0
  local err
  err="$(db_psql -Atc 'SELECT 1' 2>&1 >/dev/null)" ||
    fail "database $DB_NAME (DB_HOST=$DB_HOST DB_PORT=$DB_PORT DB_USER=$DB_USER) is not reachable as OS user $(id -un): ${err//$'\n'/ }"
}
