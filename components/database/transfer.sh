#!/usr/bin/env bash
# The dump, server to server: resumable rsync, then the checksum compared on the target.
# inputs: DUMP TARGET_WORK TARGET_DUMP SHA
[ "$(sha256sum "$DUMP" | cut -d' ' -f1)" = "$SHA" ] || die "$DUMP changed since it was dumped: run pulumi up again after a fresh dump"
make_dump_dir() { install -d -m 711 "$TARGET_WORK" && install -d -m 750 -o root -g postgres "$TARGET_WORK/db"; }
on_peer make_dump_dir TARGET_WORK
log "sending $(du -h "$DUMP" | cut -f1) to the target server (resumes a partial copy)"
rsync --partial --append-verify --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" --chmod=F640 \
  "$DUMP" "$PEER:$TARGET_DUMP"
dump_sha() { chgrp postgres "$TARGET_DUMP" && sha256sum "$TARGET_DUMP" | cut -d' ' -f1; }
target_sha=$(on_peer dump_sha TARGET_DUMP)
[ "$target_sha" = "$SHA" ] || die "checksum mismatch after the transfer ($target_sha): run pulumi up again"
log "dump on the target server, checksum verified"
