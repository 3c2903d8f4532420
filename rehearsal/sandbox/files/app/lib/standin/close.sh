# shellcheck shell=bash
# STAND-IN of the tootctl commands that close an instance (mastodon-migration rehearsal sandbox), as
# Mastodon >= 4.3 has them; sourced by bin/tootctl after its preconditions (common.sh).
#   accounts backup USERNAME          a backups row (processed = false) and a BackupWorker job on queue
#                                     `pull`; Sidekiq builds the archive later. "No user with such username".
#   settings registrations open|approved|close   Setting.registrations_mode (settings row, YAML value).
#   self-destruct                     in self-destruct mode: the progress report, exit 0. Otherwise asks
#                                     "Type in the domain of the server to confirm:" (else "Domains do not
#                                     match", exit 1), then "Are you sure you want to proceed?" (y/yes, else
#                                     "Operation cancelled", exit 1), and prints SELF_DESTRUCT=<value>.

SD_JS="$LIVE/lib/standin/self-destruct.js"

sidekiq_push() { # QUEUE CLASS ARGS_JSON
  local job
  job=$(jq -cn --arg q "$1" --arg c "$2" --argjson a "$3" --arg jid "$(openssl rand -hex 12)" \
    '{retry: true, queue: $q, class: $c, args: $a, jid: $jid, created_at: now, enqueued_at: now}')
  redis SADD queues "$1" >/dev/null || fail "could not push $2 to Redis"
  redis LPUSH "queue:$1" "$job" >/dev/null || fail "could not push $2 to Redis"
}

accounts_backup() {
  local username="${1:-}" user_id id
  [[ -n "$username" && $# -eq 1 ]] || fail "usage: tootctl accounts backup USERNAME"
  [[ "$username" =~ ^[A-Za-z0-9_]+$ ]] || { echo "No user with such username" >&2; exit 1; }
  user_id=$(db_psql -Atc "SELECT u.id FROM accounts a JOIN users u ON u.account_id = a.id WHERE a.domain IS NULL AND lower(a.username) = lower('$username')")
  [[ -n "$user_id" ]] || { echo "No user with such username" >&2; exit 1; }
  id=$(db_psql -Atc "INSERT INTO backups (user_id, processed, created_at, updated_at) VALUES ($user_id, false, now(), now()) RETURNING id")
  id="${id%%$'\n'*}"
  sidekiq_push pull BackupWorker "[$id]"
  standin_log "tootctl accounts backup $username: backup $id queued"
  echo "OK"
}

settings_registrations() {
  local mode
  case "${1:-}" in
    open) mode=open ;;
    approved) mode=approved ;;
    close) mode=none ;;
    *) fail "usage: tootctl settings registrations open|approved|close" ;;
  esac
  db_psql -Atc "INSERT INTO settings (var, value, created_at, updated_at) VALUES ('registrations_mode', E'--- $mode\n', now(), now())
    ON CONFLICT (var) DO UPDATE SET value = EXCLUDED.value, updated_at = now()" >/dev/null
  standin_log "tootctl settings registrations $1: registrations_mode = $mode"
  echo "OK"
}

self_destruct() {
  local answer pending enqueued retries
  if node "$SD_JS" verify; then
    echo "Self-destruct mode is already enabled for this Mastodon server"
    pending=$(db_psql -Atc "SELECT count(*) FROM accounts WHERE domain IS NULL AND suspended_at IS NULL")
    enqueued=0
    while read -r q; do
      [[ -n "$q" ]] && enqueued=$((enqueued + $(redis LLEN "queue:$q")))
    done < <(redis --raw SMEMBERS queues)
    retries=$(redis ZCARD retry)
    if ((pending > 0)); then
      echo "$pending accounts are still pending deletion."
    elif ((enqueued > 0)); then
      echo "Deletion notices are still being processed"
    elif ((retries > 0)); then
      echo "At least one delivery attempt for each deletion notice has been made, but some have failed and are scheduled for retry"
    else
      echo "Every deletion notice has been sent! You can safely delete all data and decomission your servers!"
    fi
    standin_log "tootctl self-destruct: progress (pending $pending, enqueued $enqueued, retries $retries)"
    exit 0
  fi
  printf 'Type in the domain of the server to confirm: '
  answer=""
  IFS= read -r answer || true
  if [[ "$answer" != "$LOCAL_DOMAIN" ]]; then
    echo
    echo "Domains do not match. Stopping self-destruct initiation." >&2
    standin_log "tootctl self-destruct: domain not confirmed"
    exit 1
  fi
  cat <<'WARNING'
This operation WILL NOT be reversible.
While the data won't be erased locally, the server will be in a BROKEN STATE afterwards.
The deletion process itself may take a long time, and will be handled by Sidekiq, so do not shut it down until it has finished (you will be able to re-run this command to see the state of the self-destruct process).
WARNING
  printf 'Are you sure you want to proceed? '
  answer=""
  IFS= read -r answer || true
  if [[ ! "$answer" =~ ^([yY]|[yY][eE][sS])$ ]]; then
    echo
    echo "Operation cancelled. Self-destruct will not begin." >&2
    standin_log "tootctl self-destruct: cancelled"
    exit 1
  fi
  echo
  echo "To switch Mastodon to self-destruct mode, add the following variable to your evironment (e.g. by adding a line to your \`.env.production\`) and restart all Mastodon processes:"
  echo "  SELF_DESTRUCT=$(node "$SD_JS" generate)"
  echo "You can re-run this command to see the state of the self-destruct process."
  standin_log "tootctl self-destruct: value printed"
}
