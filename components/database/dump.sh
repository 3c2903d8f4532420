#!/usr/bin/env bash
# pg_dump in directory format with parallel jobs on the source server (-Fd -j JOBS), uncompressed (-Z 0:
# written and read at disk speed; compressing costs more time than it saves on a server-to-server link),
# into a temporary directory renamed once complete. Prints DUMP_SHA256: the dump's identity (its table of
# contents and every file's size; the transfer's rsync checks each file's content).
# inputs: DB DUMP JOBS
dump_id() { { sha256sum "$1/toc.dat" | cut -d' ' -f1 && (cd "$1" && find . -type f -printf '%P %s\n' | LC_ALL=C sort); } | sha256sum | cut -d' ' -f1; }
install -d -m 750 -o root -g postgres "$(dirname "$DUMP")"
rm -rf "$DUMP.tmp" && install -d -m 750 -o postgres -g postgres "$DUMP.tmp"
log "pg_dump -Fd -j $JOBS $DB ($(psql_admin -c "SELECT pg_size_pretty(pg_database_size('$DB'))"))"
# shellcheck disable=SC2016 # evaluated by the heartbeat
heartbeat 'du -sh "$DUMP.tmp" | cut -f1'
as_user postgres pg_dump -Fd -j "$JOBS" -Z 0 -d "$DB" -f "$DUMP.tmp"
id=$(dump_id "$DUMP.tmp")
rm -rf "$DUMP" && mv "$DUMP.tmp" "$DUMP"
log "dump written: $(du -sh "$DUMP" | cut -f1)"
result "DUMP_SHA256=$id"
