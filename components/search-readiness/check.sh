#!/usr/bin/env bash
# Full-text search on the target server (ES_ENABLED=true): it reaches the search engine its .env.production
# (copied from the source server) names, ES_HOST:ES_PORT (https:// when ES_HOST says so) with ES_USER and
# ES_PASS when set, and the cluster's health is green or yellow (yellow: replicas unassigned on one node).
# Runs in prepare and again before the cutover's downtime, so a missing or broken engine is refused while
# the source server still serves. The password reaches curl on stdin, never a command line or the log.
# inputs: LIVE WAIT_SECONDS
[ -r "$LIVE/.env.production" ] || die "no $LIVE/.env.production on the target server (it is copied before this check)"
es_enabled=$(env_value "$LIVE" ES_ENABLED)
[ "$es_enabled" = true ] || die "ES_ENABLED=${es_enabled:-unset} in $LIVE/.env.production on the target server, but the stack says elasticsearch is true"
host=$(env_value "$LIVE" ES_HOST)
port=$(env_value "$LIVE" ES_PORT)
preset=$(env_value "$LIVE" ES_PRESET)
user=$(env_value "$LIVE" ES_USER)
url="${host:-localhost}:${port:-9200}"
case "$url" in http://* | https://*) ;; *) url="http://$url" ;; esac

# search_get PATH: the body, then the HTTP status on a line of its own (000: no answer).
search_get() {
  local password
  if [ -n "$user" ]; then
    password=$(env_value "$LIVE" ES_PASS)
    password=${password//\\/\\\\}
    printf 'user = "%s:%s"\n' "$user" "${password//\"/\\\"}"
  fi | curl -sS --max-time 10 -K - -w '\n%{http_code}' "$url$1" 2>/dev/null || printf '\n000'
}

deadline=$(($(date +%s) + WAIT_SECONDS))
until answer=$(search_get /_cluster/health) && [ "$(tail -n 1 <<<"$answer")" != 000 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "no search engine answers at $url (ES_HOST/ES_PORT of .env.production) from the target server after ${WAIT_SECONDS} s: install and start Elasticsearch 7 or OpenSearch there (a new EC2 server gets one), or open the way to it; the move would leave search broken"
  sleep 1
done
code=$(tail -n 1 <<<"$answer")
case "$code" in
  200) ;;
  401 | 403) die "the search engine at $url refuses the credentials of .env.production (HTTP $code, ES_USER=${user:-unset}): create that user there" ;;
  *) die "the search engine at $url answers HTTP $code to GET /_cluster/health" ;;
esac
status=$(sed -n '1s/.*"status"[[:space:]]*:[[:space:]]*"\([a-z]*\)".*/\1/p' <<<"$answer")
case "$status" in
  green | yellow) ;;
  *) die "the search engine at $url reports cluster health '${status:-unknown}': it must be green or yellow before the move" ;;
esac
# Whole answers, never piped into a reader that may stop early (SIGPIPE under pipefail).
root=$(search_get /)
version=$(sed -n '1s/.*"number"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$root")
log "search engine at $url: version ${version:-unknown}, cluster health $status, ES_PRESET ${preset:-unset}"
