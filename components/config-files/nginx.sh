#!/usr/bin/env bash
# The nginx site, with the certificate files it names (ssl_certificate, ssl_certificate_key) dereferenced
# into a directory of our own on the target and the site pointed at them; nginx reloaded there. The files
# that differ from the target's copy (a renewed certificate, an edited site) are reported by name.
# inputs: SITE TLS_DIR
[ -r "$SITE" ] || die "no nginx site $SITE on the source server: set nginxSite"
STAGE="$WORK/nginx"
rm -rf "$STAGE" && install -d -m 700 "$STAGE/tls"
# letsencrypt's live/ holds links: copy what they point to.
sed -n 's/^[[:space:]]*ssl_certificate\(_key\)\{0,1\}[[:space:]]\{1,\}\([^;]*\);.*/\2/p' "$SITE" | sort -u | while read -r cert; do
  base=$(basename "$cert")
  [ ! -e "$STAGE/tls/$base" ] || die "two certificate files are named $base: rename one in $SITE"
  cp -L "$cert" "$STAGE/tls/$base"
done
sed "s#^\([[:space:]]*ssl_certificate\(_key\)\{0,1\}[[:space:]]\{1,\}\)[^;]*/\([^/;]*\);#\1$TLS_DIR/\3;#" "$SITE" >"$STAGE/site"
make_tls_dir() { install -d -m 700 "$TLS_DIR"; }
on_peer make_tls_dir TLS_DIR
rsync -a -c -i --chmod=D700,F600 -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$STAGE/tls/" "$PEER:$TLS_DIR/" >"$STAGE/changes"
rsync -c -i --chmod=F644 -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$STAGE/site" "$PEER:$SITE" | sed "s#site\$#$SITE#" >>"$STAGE/changes"
changed=$(awk '$1 ~ /^[<>]f/ { $1 = ""; print substr($0, 2) }' "$STAGE/changes" | tr '\n' ' ')
log "nginx site and certificates: ${changed:+written (new or changed): $changed}${changed:-unchanged on the target server}"
rm -rf "$STAGE"
enable_site() {
  ln -sfn "$SITE" "/etc/nginx/sites-enabled/$(basename "$SITE")"
  nginx -t 2>&1 | tail -n 1
  if systemctl is-active --quiet nginx; then systemctl reload nginx; else systemctl start nginx; fi
}
on_peer enable_site SITE
log "nginx site and certificates in place on the target server (certificates in $TLS_DIR)"
