#!/usr/bin/env bash
# pg_dump -Fc on the source server, written to a temporary name and renamed; prints DUMP_SHA256.
# inputs: DB DUMP
install -d -m 750 -o root -g postgres "$(dirname "$DUMP")"
log "pg_dump -Fc $DB ($(psql_admin -c "SELECT pg_size_pretty(pg_database_size('$DB'))"))"
# shellcheck disable=SC2016 # evaluated by the heartbeat
heartbeat 'du -h "$DUMP.tmp" | cut -f1'
as_user postgres pg_dump -Fc --verbose -d "$DB" 2> >(grep -v '^pg_dump: \(reading\|identifying\|finding\|flagging\|saving\)' >&2) >"$DUMP.tmp"
sha=$(sha256sum "$DUMP.tmp" | cut -d' ' -f1)
chgrp postgres "$DUMP.tmp" && chmod 640 "$DUMP.tmp" && mv "$DUMP.tmp" "$DUMP"
log "dump written: $(du -h "$DUMP" | cut -f1)"
result "DUMP_SHA256=$sha"
