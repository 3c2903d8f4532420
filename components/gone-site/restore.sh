#!/usr/bin/env bash
# Rollback: put the instance's original nginx site back and reload nginx.
# inputs: SITE
SAVED="$SITE.pre-close"
if [ ! -e "$SAVED" ]; then
  log "no $SAVED: the site was not changed"
  exit 0
fi
cp -p "$SAVED" "$SITE.tmp" && mv "$SITE.tmp" "$SITE"
nginx -t 2>"$WORK/nginx-t.log" || die "nginx -t refused the original site: $(tail -n 3 "$WORK/nginx-t.log")"
systemctl reload nginx 9>&-
rm -f "$SAVED"
log "original site back"
