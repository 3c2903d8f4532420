#!/usr/bin/env bash
# Once DNS points at the target: the source server's nginx forwards every request to the target server, so a
# client or remote server that still resolves the source's address sees no second outage. TLS to the target's
# address with the instance's name (SNI, certificate checked against the system CAs and the instance's own
# certificate), the original Host header, WebSocket upgrades for streaming. The instance's site is disabled
# (its links in sites-enabled are recorded, so the rollback puts them back) and nginx reloaded.
# inputs: SITE DOMAIN TARGET_ADDRESS
ENABLED=/etc/nginx/sites-enabled
FWD=/etc/nginx/sites-available/mastodon-migration-forwarding
LINKS="$WORK/forwarding-site-links"
TRUST="$WORK/forwarding-trust.pem"
[ -r "$SITE" ] || die "no nginx site $SITE on the source server"
certs=$(grep -E '^[[:space:]]*ssl_certificate(_key)?[[:space:]]' "$SITE" | sed 's/^[[:space:]]*//')
cert=$(sed -n 's/^ssl_certificate[[:space:]]\{1,\}\([^;]*\);.*/\1/p' <<<"$certs")
[ -n "$cert" ] || die "no ssl_certificate in $SITE: nothing to serve the instance's name with"
{ cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true; cat "$cert"; } >"$TRUST.tmp" && mv "$TRUST.tmp" "$TRUST"
cat >"$FWD.tmp" <<NGINX
# mastodon-migration: every request forwarded to the target server (the instance moved there).
map \$http_upgrade \$mmig_connection_upgrade {
  default upgrade;
  ''      close;
}
server {
  listen 80;
  listen [::]:80;
  server_name $DOMAIN;
  location / { return 301 https://\$host\$request_uri; }
}
server {
  listen 443 ssl http2;
  listen [::]:443 ssl http2;
  server_name $DOMAIN;
  $certs
  client_max_body_size 99m;
  location / {
    proxy_pass https://$TARGET_ADDRESS;
    proxy_ssl_server_name on;
    proxy_ssl_name $DOMAIN;
    proxy_ssl_verify on;
    proxy_ssl_verify_depth 4;
    proxy_ssl_trusted_certificate $TRUST;
    proxy_set_header Host \$host;
    proxy_set_header X-Real-IP \$remote_addr;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto https;
    proxy_http_version 1.1;
    proxy_set_header Upgrade \$http_upgrade;
    proxy_set_header Connection \$mmig_connection_upgrade;
    proxy_buffering off;
    proxy_read_timeout 1h;
  }
}
NGINX
mv "$FWD.tmp" "$FWD"
# The links to the instance's site, recorded once (a re-run finds them already replaced).
if [ ! -e "$LINKS" ]; then
  find "$ENABLED" -maxdepth 1 -lname "$SITE" -printf '%f\n' >"$LINKS.tmp"
  [ -s "$LINKS.tmp" ] || die "$SITE is not enabled in $ENABLED: nothing to replace with the forwarding"
  mv "$LINKS.tmp" "$LINKS"
fi
while read -r link; do rm -f "${ENABLED:?}/$link"; done <"$LINKS"
ln -sfn "$FWD" "$ENABLED/mastodon-migration-forwarding"
if ! nginx -t 2>"$WORK/$STEP.nginx"; then
  rm -f "$ENABLED/mastodon-migration-forwarding"
  while read -r link; do ln -sfn "$SITE" "$ENABLED/$link"; done <"$LINKS"
  rm -f "$LINKS"
  cat "$WORK/$STEP.nginx" >&2
  die "nginx refused the forwarding site: the instance's site is back"
fi
systemctl reload nginx 9>&-
log "nginx forwards every request for $DOMAIN to the target server ($TARGET_ADDRESS)"
