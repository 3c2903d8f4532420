#!/usr/bin/env bash
# The media change journal, on the source server. An inotify watcher (inotifywait, Debian package
# inotify-tools) over public/system, started by the cutover's `media-watch` step before the catch-up pass,
# records every path created, written, changed, moved or deleted from then on. Once Mastodon is stopped, the
# final pass copies only those paths (deletions mirrored) instead of walking the whole tree on both servers.
# The journal is used only when it is whole: the same watcher ran without a break from before a catch-up pass
# that mirrored the tree (deletions included) until the final pass, its queue never overflowed, and the media
# directory itself was never moved or unmounted. Otherwise the final pass walks the whole tree, as without it.
# Helpers: journal_watcher, journal_stop, journal_usable, journal_flush, journal_lists.
JOURNAL="$WORK/media-journal"

# journal_watcher: the pid of our watcher (inotifywait writing $JOURNAL/events) when it runs, else nothing.
journal_watcher() {
  local pid
  pid=$(cat "$JOURNAL/pid" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$JOURNAL/events"; then echo "$pid"; fi
  return 0
}

# journal_stop: stop the watcher, if it runs (the journal it wrote stays).
journal_stop() {
  local pid
  pid=$(journal_watcher)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$JOURNAL/pid"
}

# journal_usable: why the journal cannot stand in for a walk of the whole tree (empty when it can).
journal_usable() {
  local pid
  pid=$(journal_watcher)
  if [ -z "$pid" ]; then
    if [ -f "$JOURNAL/unavailable" ]; then cat "$JOURNAL/unavailable"; else echo "no change journal is running"; fi
    return 0
  fi
  [ "$(cat "$JOURNAL/mirrored" 2>/dev/null)" = "$pid" ] || {
    echo "no catch-up pass mirrored the tree while this journal ran"
    return 0
  }
  journal_broken
}

# journal_broken: why the events recorded so far cannot be trusted (an overflowed queue, the media directory
# itself moved, deleted or unmounted); empty when they can.
journal_broken() {
  local root
  root=$(cat "$JOURNAL/root")
  if grep -zqE '^([A-Z_]+,)*(Q_OVERFLOW|UNMOUNT)(,[A-Z_]+)* ' "$JOURNAL/events"; then
    echo "the watcher's queue overflowed or a file system was unmounted"
  elif grep -zqxF -e "DELETE_SELF $root/" -e "MOVE_SELF $root/" "$JOURNAL/events"; then
    echo "the media directory itself was moved or deleted"
  fi
  return 0
}

# journal_flush: make sure the watcher has written every event that happened before this call (a file made
# and removed in its own flush directory, watched by the same inotify instance, whose events come in order).
journal_flush() {
  local token
  token="flush-$(date +%s%N)-$$"
  : >"$JOURNAL/flush/$token"
  rm -f "$JOURNAL/flush/$token"
  for _ in $(seq 1 300); do
    grep -zqxF "DELETE $JOURNAL/flush/$token" "$JOURNAL/events" && return 0
    sleep 0.1
  done
  return 1
}

# journal_lists PATHS PARENTS: from the events, the paths below the media directory that changed (NUL
# separated, relative, each once; none below a directory that is gone) into PATHS, and the directories that hold them and still exist into PARENTS
# (their times change when an entry is made or removed). Prints how many paths changed.
journal_lists() {
  local root record path parent paths=()
  root=$(cat "$JOURNAL/root")
  declare -A seen=() parents=()
  while IFS= read -r -d '' record; do
    path=${record#* }
    case "$path" in
      "$root"/*) path=${path#"$root"/} ;;
      *) continue ;;
    esac
    path=${path%/}
    if [ -z "$path" ]; then
      parents[.]=1
      continue
    fi
    [ -n "${seen[$path]:-}" ] && continue
    seen[$path]=1
    if [[ "$path" == */* ]]; then parent=${path%/*}; else parent=.; fi
    # Below a directory that is gone: its own deletion (or move) is in the journal, and removes all of it.
    [ -d "$root/$parent" ] || continue
    paths+=("$path")
    parents[$parent]=1
  done <"$JOURNAL/events"
  : >"$1"
  [ ${#paths[@]} -eq 0 ] || printf '%s\0' "${paths[@]}" | sort -z >"$1"
  : >"$2"
  for path in "${!parents[@]}"; do
    [ -d "$root/$path" ] && printf '%s\0' "$path"
  done | sort -z >"$2"
  echo "${#paths[@]}"
}
