#!/usr/bin/env bash
# The Mastodon user's crontab (tootctl media remove, preview_cards remove, ...), set aside on the source
# server by source-services/stop.sh, installed for the target's Mastodon user (paths to the live directory
# rewritten). The rollback removes it there again (application/stop.sh).
# inputs: TARGET_USER SOURCE_LIVE TARGET_LIVE TARGET_WORK
CRONTAB="$WORK/crontab"
if [ ! -s "$CRONTAB" ]; then
  log "no crontab was set aside on the source server: nothing to carry"
  exit 0
fi
sed "s#$SOURCE_LIVE#$TARGET_LIVE#g" "$CRONTAB" >"$WORK/crontab.target"
make_work() { install -d -m 711 "$TARGET_WORK"; }
on_peer make_work TARGET_WORK
rsync --chmod=F600 -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$WORK/crontab.target" "$PEER:$TARGET_WORK/crontab"
install_crontab() {
  if ! command -v crontab >/dev/null; then
    echo "missing"
    return 0
  fi
  crontab -u "$TARGET_USER" "$TARGET_WORK/crontab"
  echo "installed"
}
case "$(on_peer install_crontab TARGET_USER TARGET_WORK)" in
  installed) log "crontab carried to $TARGET_USER on the target server ($(grep -cv '^[[:space:]]*\(#\|$\)' "$CRONTAB" || true) entries)" ;;
  *) log "WARNING: cron is not installed on the target server: install it, then crontab -u $TARGET_USER $TARGET_WORK/crontab there" ;;
esac
