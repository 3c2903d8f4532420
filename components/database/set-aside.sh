#!/usr/bin/env bash
# Rollback: the restored database is renamed aside (never dropped), so a later cutover restores afresh.
# inputs: DB
MARKER="$WORK/db/$DB.restored"
if [ -f "$MARKER" ] && db_exists "$DB"; then
  aside="${DB}_rolled_back_$(date -u +%Y%m%d%H%M%S)"
  psql_admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB'" >/dev/null
  psql_admin -c "ALTER DATABASE \"$DB\" RENAME TO \"$aside\""
  log "rolled back: the restored database is kept as $aside"
fi
rm -f "$MARKER"
