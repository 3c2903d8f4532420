#!/usr/bin/env bash
# assets:precompile on the target, in prepare (outside the downtime).
# inputs: MASTODON_USER LIVE
[ -r "$LIVE/.env.production" ] || die ".env.production is missing on the target server"
log "assets:precompile (outside the downtime)"
as_mastodon "$MASTODON_USER" "$LIVE" bundle exec rails assets:precompile
log "assets precompiled"
