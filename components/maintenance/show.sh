#!/usr/bin/env bash
# The maintenance page on the source server: while Mastodon is stopped, nginx answers every request with
# public/500.html (error_page 500 501 502 503 504 /500.html), so that page is replaced; the original is
# kept beside it once.
# inputs: LIVE PAGE_HTML
PAGE="$LIVE/public/500.html"
SAVED="$PAGE.pre-migration"
[ -f "$PAGE" ] || die "no $PAGE on the source server: is sourceLiveDir right?"
if [ ! -e "$SAVED" ]; then
  cp -p "$PAGE" "$SAVED.tmp" && mv "$SAVED.tmp" "$SAVED"
  log "original page kept as $SAVED"
fi
printf '%s' "$PAGE_HTML" >"$PAGE.tmp"
chown --reference="$SAVED" "$PAGE.tmp" && chmod --reference="$SAVED" "$PAGE.tmp"
mv "$PAGE.tmp" "$PAGE"
log "maintenance page in place"
