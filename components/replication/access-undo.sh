#!/usr/bin/env bash
# Remove the replication role, its pg_hba line and its password (complete, or when the strategy changes).
# inputs: DB REPL_ROLE
HBA=$(psql_admin -c "SHOW hba_file")
if grep -qF '# mastodon-migration' "$HBA"; then
  cp -p "$HBA" "$HBA.tmp"
  grep -F -v '# mastodon-migration' "$HBA" >"$HBA.tmp" || true
  mv "$HBA.tmp" "$HBA"
  psql_admin -c "SELECT pg_reload_conf()" >/dev/null
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$REPL_ROLE'")" = 1 ]; then
  psql_admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '$REPL_ROLE'" >/dev/null
  if db_exists "$DB"; then psql_admin -d "$DB" -c "DROP OWNED BY \"$REPL_ROLE\""; fi
  psql_admin -c "DROP ROLE \"$REPL_ROLE\""
fi
rm -f "$WORK/replication/password"
log "replication role $REPL_ROLE, its pg_hba line and its password removed"
