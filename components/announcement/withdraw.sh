#!/usr/bin/env bash
# Rollback: withdraw the announcement the publish step made (unpublished, as the admin interface's
# "Unpublish" does; the row stays).
# inputs: DB
RECORD="$WORK/announcement"
if [ ! -s "$RECORD" ]; then
  log "no announcement recorded: nothing to withdraw"
  exit 0
fi
read -r id _ <"$RECORD"
psql_admin -d "$DB" -c "UPDATE announcements SET published = false, published_at = NULL, updated_at = now() WHERE id = $id" >/dev/null
rm -f "$RECORD"
log "announcement $id withdrawn"
