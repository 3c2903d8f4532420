#!/usr/bin/env bash
# Replace the instance's nginx site by one that answers 410 Gone (MODE gone-but-media: everything but
# /system/, which serves media and the users' export archives; MODE gone: every path). The original site is
# kept once as SITE.pre-close; the new site reuses its listen, server_name and ssl_certificate lines.
# inputs: SITE LIVE MODE MESSAGE
SAVED="$SITE.pre-close"
[ -f "$SITE" ] || [ -f "$SAVED" ] || die "no nginx site at $SITE: set nginxSite"
if [ ! -e "$SAVED" ]; then
  cp -p "$SITE" "$SAVED.tmp" && mv "$SAVED.tmp" "$SAVED"
  log "original site kept as $SAVED"
fi
# The listen, server_name and certificate lines of the original's TLS server block (the one with ssl_certificate).
block=$(awk '/^[[:space:]]*server[[:space:]]*[{]/ {n++} /^[[:space:]]*ssl_certificate[[:space:]]/ {print n; exit}' "$SAVED")
[ -n "$block" ] || die "no server block with ssl_certificate in $SAVED: cannot build the 410 site"
tls=$(awk -v b="$block" '/^[[:space:]]*server[[:space:]]*[{]/ {n++}
  n == b && /^[[:space:]]*(listen|server_name|ssl_certificate|ssl_certificate_key|ssl_protocols)[[:space:]]/ {sub(/^[[:space:]]*/, "  "); print}' "$SAVED")
grep -q 'ssl_certificate ' <<<"$tls" || die "no ssl_certificate line in $SAVED: cannot build the 410 site"
grep -q 'listen .*443' <<<"$tls" || die "no 'listen ... 443' line in $SAVED"
server_name=$(grep -m1 'server_name' <<<"$tls")
case "$MODE" in
  gone-but-media) media="  location ^~ /system/ {
    add_header Cache-Control \"public, max-age=2419200, immutable\";
    add_header X-Content-Type-Options nosniff;
    add_header Content-Security-Policy \"default-src 'none'; form-action 'none'\";
    try_files \$uri =404;
  }" ;;
  gone) media="" ;;
  *) die "unknown MODE $MODE" ;;
esac
body=$(printf '%s' "$MESSAGE" | tr -d '"\\;{}$' | tr '\n' ' ')
cat >"$SITE.tmp" <<NGINX
# mastodon-migration: the instance is closing ($MODE); the original site is $SAVED.
server {
  listen 80;
  listen [::]:80;
$server_name
  location / { return 301 https://\$host\$request_uri; }
}

server {
$tls
  root $LIVE/public;
  default_type text/plain;
  add_header Cache-Control "no-store" always;
$media
  location / {
    return 410 "$body\n";
  }
}
NGINX
mv "$SITE.tmp" "$SITE"
if ! nginx -t 2>"$WORK/nginx-t.log"; then
  cp -p "$SAVED" "$SITE"
  die "nginx -t refused the 410 site (original put back): $(tail -n 3 "$WORK/nginx-t.log")"
fi
systemctl reload nginx 9>&-
log "nginx answers 410 ($MODE)"
