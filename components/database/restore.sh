#!/usr/bin/env bash
# createdb -T template0 and pg_restore -n public --no-owner --no-privileges --role=ROLE of the dump directory
# with parallel jobs on the target, into DB_migrating, renamed to DB only once complete (a restore cut off
# half-way is simply redone). ROLE owns everything; GRANTs to other roles of the source server (which the
# target lacks) are not restored. An existing DB with tables is refused, or renamed aside with
# ALLOW_NON_EMPTY=true; never dropped. ANALYZE runs after the health check (application/analyze).
# inputs: DB ROLE JOBS DUMP SHA ALLOW_NON_EMPTY
STAGING="${DB}_migrating"
MARKER="$WORK/db/$DB.restored"
dump_id() { { sha256sum "$1/toc.dat" | cut -d' ' -f1 && (cd "$1" && find . -type f -printf '%P %s\n' | LC_ALL=C sort); } | sha256sum | cut -d' ' -f1; }
[ -d "$DUMP" ] || die "no dump $DUMP on the target server"
[ "$(dump_id "$DUMP")" = "$SHA" ] || die "$DUMP on the target server is not the dump that was sent"
if db_exists "$DB"; then
  if [ "$(cat "$MARKER" 2>/dev/null)" = "$SHA" ]; then
    log "$DB was already restored from this dump"
    exit 0
  fi
  db_make_room "$DB" "restore over it"
fi
# A staging database left by an interrupted run is ours: start it again.
psql_admin -c "DROP DATABASE IF EXISTS \"$STAGING\""
as_user postgres createdb -T template0 -O "$ROLE" "$STAGING"
log "pg_restore -j $JOBS into $STAGING as role $ROLE"
heartbeat "psql_admin -c \"SELECT pg_size_pretty(pg_database_size('$STAGING'))\""
as_user postgres pg_restore --exit-on-error -Fd -j "$JOBS" -n public --no-owner --no-privileges --role="$ROLE" -d "$STAGING" "$DUMP"
psql_admin -c "ALTER DATABASE \"$STAGING\" RENAME TO \"$DB\""
printf '%s\n' "$SHA" >"$MARKER.tmp" && mv "$MARKER.tmp" "$MARKER"
log "restored $DB: $(db_tables "$DB") tables, $(psql_admin -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"
