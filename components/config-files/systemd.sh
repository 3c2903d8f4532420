#!/usr/bin/env bash
# The mastodon-* systemd units, with User= and WorkingDirectory= rewritten when they differ on the target;
# daemon-reload there.
# inputs: SOURCE_USER TARGET_USER SOURCE_LIVE TARGET_LIVE
shopt -s nullglob
units=(/etc/systemd/system/mastodon-*.service)
[ ${#units[@]} -gt 0 ] || die "no /etc/systemd/system/mastodon-*.service on the source server"
# Compared with the target's units as they were copied (the target's rewrite of User= and WorkingDirectory=
# makes those differ there): the ones written are reported by name.
changed=$(rsync -a -c -i -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "${units[@]}" "$PEER:/etc/systemd/system/" | awk '$1 ~ /^[<>]f/ { print $2 }' | tr '\n' ' ')
log "systemd units written (new or changed): ${changed:-none}"
install_units() {
  if [ "$SOURCE_USER" != "$TARGET_USER" ] || [ "$SOURCE_LIVE" != "$TARGET_LIVE" ]; then
    sed -i -e "s#^User=.*#User=$TARGET_USER#" -e "s#^WorkingDirectory=.*#WorkingDirectory=$TARGET_LIVE#" /etc/systemd/system/mastodon-*.service
  fi
  systemctl daemon-reload
}
on_peer install_units SOURCE_USER TARGET_USER SOURCE_LIVE TARGET_LIVE
log "systemd units copied: $(basename -a "${units[@]}" | tr '\n' ' ')"
