#!/usr/bin/env bash
# The schema on the target server, from `pg_dump --schema-only` of the source (with the rows of
# schema_migrations and ar_internal_metadata, which are not replicated), restored into DB_migrating and
# renamed to DB once complete, then our marker table. The database is ours once it carries the marker file
# of this copy (RUN); an existing DB with tables is refused, or renamed aside with ALLOW_NON_EMPTY=true.
# inputs: DB ROLE RUN ALLOW_NON_EMPTY TARGET_WORK
STATE="$WORK/replication"
install -d -m 700 "$STATE"
# Without privileges: the objects belong to the target's role, and the grants to our replication role
# (or to roles the target server does not have) would fail there.
as_user postgres pg_dump -Fc --schema-only --no-privileges -n public -d "$DB" >"$STATE/schema.dump.tmp"
mv "$STATE/schema.dump.tmp" "$STATE/schema.dump"
meta=$(psql_admin -d "$DB" -c "SELECT string_agg('-t public.' || tablename, ' ') FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('schema_migrations', 'ar_internal_metadata')")
# shellcheck disable=SC2086 # $meta is a list of -t options
if [ -n "$meta" ]; then as_user postgres pg_dump -Fc --data-only $meta -d "$DB" >"$STATE/meta.dump.tmp"; else : >"$STATE/meta.dump.tmp"; fi
mv "$STATE/meta.dump.tmp" "$STATE/meta.dump"
make_dir() { install -d -m 711 "$TARGET_WORK" && install -d -m 750 -o root -g postgres "$TARGET_WORK/replication-schema"; }
on_peer make_dir TARGET_WORK
rsync --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" --chmod=F640 \
  "$STATE/schema.dump" "$STATE/meta.dump" "$PEER:$TARGET_WORK/replication-schema/" >"$STATE/rsync.log"
log "schema sent to the target server: $(sed -n 's/^Total transferred file size: //p' "$STATE/rsync.log")"

restore_schema() {
  local marker="$TARGET_WORK/replication/$DB.replica" staging="${DB}_migrating" dir="$TARGET_WORK/replication-schema"
  install -d -m 700 "$TARGET_WORK/replication"
  chgrp postgres "$dir"/*.dump
  if [ -f "$TARGET_WORK/replication/$DB.promoted" ]; then
    # Back in prepare after a cutover: the rollback sets the promoted copy aside once Mastodon is stopped
    # on the target; a new copy is made with the next dbReplicationRun.
    log "$DB on the target server was promoted by the cutover: left to the rollback; copy again with pulumi config set dbReplicationRun <n+1>"
    return 0
  fi
  if db_exists "$DB"; then
    if [ "$(cat "$marker" 2>/dev/null)" = "$RUN" ]; then
      log "$DB on the target server already holds the schema of copy $RUN"
      return 0
    fi
    local aside
    if [ -f "$marker" ] && [ ! -f "$TARGET_WORK/replication/$DB.promoted" ]; then
      # An earlier copy of ours, never promoted: its subscription is dropped and it is set aside.
      local sub
      for sub in $(psql_admin -d "$DB" -c "SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"); do
        psql_admin -d "$DB" -c "DROP SUBSCRIPTION \"$sub\""
      done
      aside=$(db_set_aside "$DB" replica_aside)
      log "the earlier copy $(cat "$marker") is kept aside as $aside"
    else
      db_make_room "$DB" "replicate into it"
    fi
  fi
  psql_admin -c "DROP DATABASE IF EXISTS \"$staging\""
  as_user postgres createdb -T template0 -O "$ROLE" "$staging"
  # The dump of -n public creates the schema; a new database already has it.
  pg_restore -l "$dir/schema.dump" | grep -v -E ' (SCHEMA|COMMENT) - (SCHEMA )?public ' >"$dir/schema.list"
  chgrp postgres "$dir/schema.list"
  as_user postgres pg_restore --exit-on-error --no-owner --role="$ROLE" -L "$dir/schema.list" -d "$staging" "$dir/schema.dump"
  if [ -s "$dir/meta.dump" ]; then as_user postgres pg_restore --exit-on-error --no-owner --role="$ROLE" --data-only -d "$staging" "$dir/meta.dump"; fi
  psql_admin -d "$staging" <<'SQL'
CREATE SCHEMA mastodon_migration;
CREATE TABLE mastodon_migration.cutover_marker (id integer PRIMARY KEY, token text NOT NULL, written_at timestamptz NOT NULL DEFAULT now());
SQL
  psql_admin -c "ALTER DATABASE \"$staging\" RENAME TO \"$DB\""
  printf '%s\n' "$RUN" >"$marker.tmp" && mv "$marker.tmp" "$marker"
  rm -f "$TARGET_WORK/replication/$DB.promoted"
  log "schema restored on the target server: $(db_tables "$DB") tables in $DB (copy $RUN)"
}
on_peer restore_schema DB ROLE RUN ALLOW_NON_EMPTY TARGET_WORK
