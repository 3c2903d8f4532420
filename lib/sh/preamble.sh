#!/usr/bin/env bash
# The preamble of every step script, run on the server the step runs on. The header before it sets
# STEP (the step's stable name) and WORK (our directory on that server), and the step's own inputs.
#  - an exclusive lock per step (fd 9), so a re-run after a dropped connection waits for the orphaned run
#    instead of racing it (a failed create is re-run from the start by the next `pulumi up`);
#  - a heartbeat line every 20 s, so long silent steps show progress in the `pulumi up` log;
#  - a last line `mastodon-migration step=<name> seconds=<n>`, read back as the step's duration.
#  - `result LINE`: a line of output later steps read (FACTS, DUMP_SHA256, ...), also kept in
#    $WORK/$STEP.result with the duration marker, so the step's `update` (lib/sh/keep.sh) can print the same
#    output again without running anything.
# Helpers: log, die, as_user, psql_admin, db_exists, db_tables, db_set_aside, heartbeat, result.

# Progress lines (log, die, the heartbeat) go to the step's output, which `pulumi up` shows only as passing
# status lines, and are kept in $WORK/$STEP.log on the server (`tail -f` it during a long step; it stays after).
# They are cut at 4000 bytes (the command provider reads lines of up to 64 KiB; a longer one hangs the step).
keep_line() { [ -z "${WORK:-}" ] || [ ! -d "$WORK" ] || printf '%s\n' "$1" >>"$WORK/$STEP.log" 2>/dev/null || true; }
log() {
  local m="$*" line
  line=$(printf '[%s] %s: %s' "$(date -u +%H:%M:%S)" "$STEP" "${m:0:4000}")
  printf '%s\n' "$line"
  keep_line "$line"
}
die() {
  local m="$*" line
  line=$(printf '[%s] %s: ERROR: %s' "$(date -u +%H:%M:%S)" "$STEP" "${m:0:4000}")
  printf '%s\n' "$line" >&2
  keep_line "$line"
  exit 1
}
# as_user U cmd...: run a command as U with U's home and rbenv shims on PATH, like Mastodon's units do.
as_user() {
  local user=$1 home
  shift
  home=$(getent passwd "$user" | cut -d: -f6) || die "no user $user on $(hostname)"
  # From /, which every user can enter (the caller's directory may be root's home).
  (cd / && runuser -u "$user" -- env HOME="$home" PATH="$home/.rbenv/shims:$home/.rbenv/bin:/usr/local/bin:/usr/bin:/bin" "$@")
}
psql_admin() { as_user postgres psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }
db_exists() { [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }
db_tables() { psql_admin -d "$1" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"; }
# db_set_aside DB WHY: rename DB aside to DB_WHY_<UTC time> (never dropped), ending its sessions first (a
# rename waits for none); prints the new name.
db_set_aside() {
  local aside
  aside="$1_$2_$(date -u +%Y%m%d%H%M%S)"
  psql_admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1'" >/dev/null
  psql_admin -c "ALTER DATABASE \"$1\" RENAME TO \"$aside\""
  printf '%s\n' "$aside"
}

# 711: other users may reach files they are given (the dump, for postgres) but cannot list them.
mkdir -p "$WORK" && chmod 711 "$WORK"
# The step's lock is fd 9. Services a step starts must not inherit it (`systemctl 9>&-`), or they would
# hold it for their whole life; children that are part of the step (pg_restore, rsync) keep it on purpose.
exec 9>"$WORK/$STEP.lock"
if ! flock -n 9; then
  log "waiting for an earlier run of this step to finish (lock $WORK/$STEP.lock)"
  flock -w 21600 9 || die "an earlier run still holds $WORK/$STEP.lock after 6 h"
fi
STARTED=$(date +%s)
keep_line "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $STEP: started"
rm -f "$WORK/$STEP.result.tmp"
# result LINE: print a line of the step's output that the program reads, and keep it for lib/sh/keep.sh.
result() {
  # The command provider reads output lines with a 64 KiB limit, and a longer one hangs the step for good
  # (the pipe that feeds its logger is never read again): refuse it instead.
  ((${#1} <= 60000)) || die "result line of ${#1} bytes is over the 60000 the command provider can read"
  printf '%s\n' "$1"
  printf '%s\n' "$1" >>"$WORK/$STEP.result.tmp"
}
HEARTBEAT=
# heartbeat ['shell snippet']: a progress line every 20 s, with the snippet's output when given.
heartbeat() {
  [ -z "$HEARTBEAT" ] || kill "$HEARTBEAT" 2>/dev/null || true
  # The sleep is killed with the loop: a surviving child would hold stdout, and the SSH channel, open.
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 20 &
      nap=$!
      wait "$nap"
      log "still running ($(($(date +%s) - STARTED))s)${1:+: $(eval "$1" 2>/dev/null)}"
    done
  ) 2>/dev/null &
  HEARTBEAT=$!
}
heartbeat ''
finish() {
  local status=$?
  [ -z "$HEARTBEAT" ] || kill "$HEARTBEAT" 2>/dev/null || true
  if [ "$status" -eq 0 ]; then
    result "mastodon-migration step=$STEP seconds=$(($(date +%s) - STARTED))"
    mv "$WORK/$STEP.result.tmp" "$WORK/$STEP.result"
  fi
  keep_line "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $STEP: ended with status $status after $(($(date +%s) - STARTED)) s"
  exit "$status"
}
trap finish EXIT
