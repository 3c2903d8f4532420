#!/usr/bin/env bash
# Cutover, before the catch-up pass, while the source is live: start the media change journal
# (lib/sh/journal.sh), an inotify watcher over public/system that runs on after this step, so the final pass
# once Mastodon is stopped copies only what changed since the catch-up pass began. Without inotifywait, or
# when the kernel's watch limit is too low for the tree, the final pass walks the whole tree instead.
# inputs: SOURCE_LIVE
SRC="$SOURCE_LIVE/public/system"
journal_stop
rm -rf "$JOURNAL"
install -d -m 700 "$JOURNAL" "$JOURNAL/flush"
: >"$JOURNAL/events"
without() {
  printf '%s\n' "$1" >"$JOURNAL/unavailable"
  log "no change journal ($1): the final media pass walks the whole tree"
  exit 0
}
[ -d "$SRC/" ] || without "no $SRC on the source server"
command -v inotifywait >/dev/null || without "inotifywait is not installed on the source server (Debian package inotify-tools)"
ROOT=$(readlink -f "$SRC")
printf '%s\n' "$ROOT" >"$JOURNAL/root"
# Its own session, no terminal, nothing of this step's (its lock, its output): it outlives the SSH session.
setsid inotifywait -m -r -P --format '%e %w%f%0' --no-newline -o "$JOURNAL/events" \
  -e modify,attrib,close_write,create,delete,delete_self,move_self,moved_from,moved_to,unmount \
  "$ROOT" "$JOURNAL/flush" </dev/null >/dev/null 2>"$JOURNAL/watcher.log" 9>&- &
printf '%s\n' "$!" >"$JOURNAL/pid"
log "setting up the change journal over $ROOT (one inotify watch per directory)"
deadline=$(($(date +%s) + 600))
until grep -q '^Watches established' "$JOURNAL/watcher.log"; do
  if [ -z "$(journal_watcher)" ]; then
    without "the watcher stopped: $(grep -v '^Setting up watches' "$JOURNAL/watcher.log" | tail -n 1)"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    journal_stop
    without "the watches were not set up after 600 s"
  fi
  sleep 0.2
done
log "change journal running (watcher $(journal_watcher))"
