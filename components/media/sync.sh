#!/usr/bin/env bash
# User media (public/system), server to server with rsync. PASS says which pass:
#  - presync: while the source is live (repeatable, optionally bandwidth-limited);
#  - catchup: at the start of the cutover, before the stop, so the final pass covers only minutes of changes;
#    it mirrors deletions too, and tells the change journal (lib/sh/journal.sh) that the tree was mirrored
#    while it ran;
#  - final: once Mastodon is stopped, deletions mirrored. With a whole change journal it copies only the
#    paths changed since the catch-up pass began (new directories whole, vanished paths deleted); without
#    one it walks the whole tree on both servers.
# The final pass leaves in $WORK/$STEP.mode how it went (journal: the paths it copied stay in
# $WORK/$STEP.paths, which the verification checks; tree), once it succeeded.
# rsync keeps partial files, so a transfer cut off half-way continues on the next run.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_USER PASS BW_LIMIT_KBPS
SRC="$SOURCE_LIVE/public/system/"
DEST="$TARGET_LIVE/public/system/"
if [ ! -d "$SRC" ]; then
  log "no $SRC on the source server: no media to copy"
  exit 0
fi
make_dest() { install -d -o "$TARGET_USER" -g "$TARGET_USER" "$DEST"; }
on_peer make_dest TARGET_USER DEST
options=(-a --protect-args --partial --stats --human-readable --chown="$TARGET_USER:$TARGET_USER")
case "$PASS" in
  presync) what="media pre-sync while the source server is live" ;;
  catchup) what="media catch-up pass while the source server is live (deletions mirrored)" ;;
  final) what="final media pass (deletions mirrored)" ;;
  *) die "unknown pass $PASS" ;;
esac
[ "$PASS" = presync ] || options+=(--delete)
if [ "$BW_LIMIT_KBPS" -gt 0 ]; then options+=(--bwlimit="$BW_LIMIT_KBPS"); fi
# rsync's own status decides; its summary is filtered from a file, so a failure is never hidden by grep.
stats() { grep -E '^(Number of (regular )?files|Total (file|transferred file) size|Number of deleted)' "$WORK/$STEP.stats" || true; }
watcher=$(journal_watcher)
if [ "$PASS" = final ]; then
  rm -f "$WORK/$STEP.mode"
  why=$(journal_usable)
  if [ -z "$why" ] && ! journal_flush; then why="the watcher did not write its events within 30 s"; fi
  journal_stop
  [ -n "$why" ] || why=$(journal_broken)
  if [ -z "$why" ]; then
    changed=$(journal_lists "$WORK/$STEP.paths" "$WORK/$STEP.dirs")
    log "$what: $changed paths changed since the catch-up pass began (change journal)"
    # The changed paths: files copied (even when size and time match: they changed), new directories whole
    # (-r), vanished paths deleted (with their contents).
    rsync "${options[@]}" -r --ignore-times --from0 --files-from="$WORK/$STEP.paths" --delete-missing-args --force \
      -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$SRC" "$PEER:$DEST" >"$WORK/$STEP.stats"
    stats
    # The directories that hold them get their times (an entry made or removed changes them), not their contents.
    rsync "${options[@]}" -d --from0 --files-from="$WORK/$STEP.dirs" \
      -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$SRC" "$PEER:$DEST" >"$WORK/$STEP.stats"
    echo journal >"$WORK/$STEP.mode"
    log "media in sync"
    exit 0
  fi
  log "$what over the whole tree: $why"
else
  log "$what"
fi
rsync "${options[@]}" -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$SRC" "$PEER:$DEST" >"$WORK/$STEP.stats"
stats
if [ "$PASS" = final ]; then echo tree >"$WORK/$STEP.mode"; fi
# The journal's watcher ran through the whole catch-up pass, which mirrored the tree: the final pass may use it.
if [ "$PASS" = catchup ] && [ -n "$watcher" ] && [ "$(journal_watcher)" = "$watcher" ]; then
  printf '%s\n' "$watcher" >"$JOURNAL/mirrored"
  log "the change journal (watcher $watcher) covers every change since this pass began"
fi
log "media in sync"
