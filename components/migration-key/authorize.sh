#!/usr/bin/env bash
# Authorize the migration key for KEY_USER on the target server (`restrict`: no forwarding, no pty), replacing
# an older line of ours, found by its comment. With AUTHORIZE=false, revoke it instead.
# inputs: KEY_USER PUBLIC_KEY COMMENT AUTHORIZE
home=$(getent passwd "$KEY_USER" | cut -d: -f6) || die "no user $KEY_USER on the target server"
AK="$home/.ssh/authorized_keys"
install -d -m 700 -o "$KEY_USER" "$home/.ssh"
touch "$AK"
line="restrict $PUBLIC_KEY"
if [ "$AUTHORIZE" = true ] && grep -qxF "$line" "$AK"; then
  log "migration key already authorized for $KEY_USER on the target server"
  exit 0
fi
{
  grep -vF " $COMMENT" "$AK" || true
  if [ "$AUTHORIZE" = true ]; then printf '%s\n' "$line"; fi
} >"$AK.tmp"
chown "$KEY_USER" "$AK.tmp" && chmod 600 "$AK.tmp" && mv "$AK.tmp" "$AK"
if [ "$AUTHORIZE" = true ]; then log "migration key authorized for $KEY_USER on the target server"; else log "migration key revoked on the target server"; fi
