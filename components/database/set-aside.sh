#!/usr/bin/env bash
# Rollback: the restored database is renamed aside (never dropped), so a later cutover restores afresh.
# inputs: DB
MARKER="$WORK/db/$DB.restored"
if [ -f "$MARKER" ] && db_exists "$DB"; then
  aside=$(db_set_aside "$DB" rolled_back)
  log "rolled back: the restored database is kept as $aside"
fi
rm -f "$MARKER"
