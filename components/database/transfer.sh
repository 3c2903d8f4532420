#!/usr/bin/env bash
# The dump directory, server to server with rsync: resumable (partial files kept), files of an older dump
# replaced or deleted, every file's content checked by rsync; then the dump's identity compared on the target.
# inputs: DUMP TARGET_WORK TARGET_DUMP SHA
dump_id() { { sha256sum "$1/toc.dat" | cut -d' ' -f1 && (cd "$1" && find . -type f -printf '%P %s\n' | LC_ALL=C sort); } | sha256sum | cut -d' ' -f1; }
[ "$(dump_id "$DUMP")" = "$SHA" ] || die "$DUMP changed since it was dumped: run pulumi up again after a fresh dump"
make_dump_dir() { install -d -m 711 "$TARGET_WORK" && install -d -m 750 -o root -g postgres "$TARGET_WORK/db"; }
on_peer make_dump_dir TARGET_WORK
log "sending $(du -sh "$DUMP" | cut -f1) to the target server (resumes a partial copy)"
# rsync's own status decides; its summary is filtered from a file, so a failure is never hidden by grep.
rsync -a --delete --partial --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" \
  "$DUMP/" "$PEER:$TARGET_DUMP/" >"$WORK/$STEP.stats"
grep -E '^(Number of (regular )?files|Total transferred file size)' "$WORK/$STEP.stats" || true
target_id() { chgrp -R postgres "$TARGET_DUMP" && chmod -R g+rX,o-rwx "$TARGET_DUMP" && dump_id "$TARGET_DUMP"; }
target_sha=$(on_peer target_id TARGET_DUMP)
[ "$target_sha" = "$SHA" ] || die "the dump on the target server differs after the transfer ($target_sha): run pulumi up again"
log "dump on the target server, identity verified"
