#!/usr/bin/env bash
# Rollback: Mastodon stopped and disabled on the target again, and the crontab carried there removed.
# inputs: MASTODON_USER
read -r -a unit_list <<<"$(mastodon_units)"
systemctl disable --now "${unit_list[@]}"
log "Mastodon stopped on the target server (${unit_list[*]})"
if [ -e "$WORK/crontab" ] && command -v crontab >/dev/null; then
  crontab -r -u "$MASTODON_USER" 2>/dev/null || true
  rm -f "$WORK/crontab"
  log "the crontab carried from the source server is removed from the target server"
fi
