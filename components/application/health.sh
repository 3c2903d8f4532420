#!/usr/bin/env bash
# The target answers through nginx with the instance's Host header: /health, /api/v1/streaming/health, and
# /api/v2/instance naming the domain.
# inputs: DOMAIN TIMEOUT_SECONDS
check() { curl -fsS -k --max-time 10 --resolve "$DOMAIN:443:127.0.0.1" "https://$DOMAIN$1"; }
deadline=$(($(date +%s) + TIMEOUT_SECONDS))
until [ "$(check /health 2>/dev/null)" = OK ] && [ "$(check /api/v1/streaming/health 2>/dev/null)" = OK ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "the target server does not answer /health and /api/v1/streaming/health through nginx after $TIMEOUT_SECONDS s"
  sleep 0.5
done
check /api/v2/instance | grep -q "\"domain\":\"$DOMAIN\"" || die "/api/v2/instance on the target server does not name $DOMAIN"
log "healthy through nginx: /health, /api/v1/streaming/health, /api/v2/instance ($DOMAIN)"
