#!/usr/bin/env bash
# Rollback: the forwarding site is removed and the instance's site enabled again, so the source server shows
# its maintenance page (until its services start again).
# inputs: SITE
ENABLED=/etc/nginx/sites-enabled
FWD=/etc/nginx/sites-available/mastodon-migration-forwarding
LINKS="$WORK/forwarding-site-links"
rm -f "$ENABLED/mastodon-migration-forwarding"
if [ -s "$LINKS" ]; then
  while read -r link; do ln -sfn "$SITE" "$ENABLED/$link"; done <"$LINKS"
fi
nginx -t 2>&1 | tail -n 1
systemctl reload nginx 9>&-
rm -f "$LINKS" "$FWD"
log "forwarding removed: the instance's site is back on the source server"
