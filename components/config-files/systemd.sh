#!/usr/bin/env bash
# The mastodon-* systemd units, with User= and WorkingDirectory= rewritten when they differ on the target;
# daemon-reload there.
# inputs: SOURCE_USER TARGET_USER SOURCE_LIVE TARGET_LIVE
shopt -s nullglob
units=(/etc/systemd/system/mastodon-*.service)
[ ${#units[@]} -gt 0 ] || die "no /etc/systemd/system/mastodon-*.service on the source server"
# The units as the target server runs them are made here first, then compared with the target's by content:
# only a real change is written and reported by name (the rewrite alone is none).
staged="$WORK/systemd"
rm -rf "$staged.tmp" && install -d -m 700 "$staged.tmp"
cp -p "${units[@]}" "$staged.tmp/"
if [ "$SOURCE_USER" != "$TARGET_USER" ] || [ "$SOURCE_LIVE" != "$TARGET_LIVE" ]; then
  sed -i -e "s#^User=.*#User=$TARGET_USER#" -e "s#^WorkingDirectory=.*#WorkingDirectory=$TARGET_LIVE#" "$staged.tmp"/*.service
fi
rm -rf "$staged" && mv "$staged.tmp" "$staged"
changed=$(rsync -a -c -i -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$staged"/*.service "$PEER:/etc/systemd/system/" | awk '$1 ~ /^[<>]f/ { print $2 }' | tr '\n' ' ')
log "systemd units written (new or changed): ${changed:-none}"
reload_units() { systemctl daemon-reload; }
on_peer reload_units
log "systemd units copied: $(basename -a "${units[@]}" | tr '\n' ' ')"
