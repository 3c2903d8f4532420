#!/usr/bin/env bash
# User media (public/system), server to server with rsync. The pre-sync runs while the source is live
# (repeatable, optionally bandwidth-limited; once more at the start of the cutover, before the stop, so the
# final pass covers only minutes of changes); the final pass (FINAL=true) mirrors deletions once Mastodon is
# stopped. rsync keeps partial files, so a transfer cut off half-way continues on the next run.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_USER FINAL BW_LIMIT_KBPS
SRC="$SOURCE_LIVE/public/system/"
DEST="$TARGET_LIVE/public/system/"
if [ ! -d "$SRC" ]; then
  log "no $SRC on the source server: no media to copy"
  exit 0
fi
make_dest() { install -d -o "$TARGET_USER" -g "$TARGET_USER" "$DEST"; }
on_peer make_dest TARGET_USER DEST
options=(-a --protect-args --partial --stats --human-readable --chown="$TARGET_USER:$TARGET_USER")
if [ "$FINAL" = true ]; then
  options+=(--delete)
  what="final media pass (deletions mirrored)"
else
  what="media pre-sync while the source server is live"
fi
if [ "$BW_LIMIT_KBPS" -gt 0 ]; then options+=(--bwlimit="$BW_LIMIT_KBPS"); fi
# No du/find scan first: rsync walks the tree anyway and its summary gives the counts.
log "$what"
# rsync's own status decides; its summary is filtered from a file, so a failure is never hidden by grep.
rsync "${options[@]}" -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$SRC" "$PEER:$DEST" >"$WORK/$STEP.stats"
grep -E '^(Number of (regular )?files|Total (file|transferred file) size|Number of deleted)' "$WORK/$STEP.stats" || true
log "media in sync"
