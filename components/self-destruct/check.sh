#!/usr/bin/env bash
# Preflight of self-destruct: Mastodon 4.3 or later (earlier versions queued every deletion at once and
# have no SELF_DESTRUCT mode), and Sidekiq running (it sends the deletion notices).
# inputs: LIVE MASTODON_USER
version=$(as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl version) || die "cannot run tootctl version in $LIVE"
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
[[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || die "unexpected Mastodon version '$version'"
if [ "$major" -lt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -lt 3 ]; }; then
  die "Mastodon $version: self-destruct needs Mastodon 4.3 or later (earlier versions queue every deletion at once). Upgrade the instance to 4.3+ first (docs.joinmastodon.org/admin/upgrading), then run pulumi up again"
fi
systemctl is-active --quiet mastodon-sidekiq || die "mastodon-sidekiq is not running: Sidekiq sends the deletion notices; start it first"
log "Mastodon $version supports self-destruct; Sidekiq is running"
