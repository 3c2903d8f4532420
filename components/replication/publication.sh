#!/usr/bin/env bash
# The publication on the source server: every table of the Mastodon schema except schema_migrations and
# ar_internal_metadata (copied with the schema: DDL is not replicated, so the cutover compares them), plus our
# marker table (the cutover writes it once Mastodon is stopped and waits until the target has applied it).
# Tables without a primary key get REPLICA IDENTITY FULL first, or their updates and deletes would fail
# on the live instance; the undo sets them back.
# inputs: DB PUBLICATION REPL_ROLE
STATE="$WORK/replication"
install -d -m 700 "$STATE"
no_pk=$(psql_admin -d "$DB" <<'SQL'
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relreplident = 'd'
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) ORDER BY 1
SQL
)
for table in $no_pk; do
  psql_admin -d "$DB" -c "ALTER TABLE $table REPLICA IDENTITY FULL"
  printf '%s\n' "$table" >>"$STATE/replica-identity-full"
  log "$table has no primary key: REPLICA IDENTITY FULL"
done
psql_admin -d "$DB" <<SQL
CREATE SCHEMA IF NOT EXISTS mastodon_migration;
CREATE TABLE IF NOT EXISTS mastodon_migration.cutover_marker (id integer PRIMARY KEY, token text NOT NULL, written_at timestamptz NOT NULL DEFAULT now());
INSERT INTO mastodon_migration.cutover_marker (id, token) VALUES (1, 'prepare') ON CONFLICT (id) DO NOTHING;
GRANT USAGE ON SCHEMA public, mastodon_migration TO "$REPL_ROLE";
GRANT SELECT ON ALL TABLES IN SCHEMA public, mastodon_migration TO "$REPL_ROLE";
SQL
tables=$(psql_admin -d "$DB" <<'SQL'
SELECT string_agg(format('%I.%I', schemaname, tablename), ', ' ORDER BY tablename) FROM pg_tables
WHERE (schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'ar_internal_metadata'))
   OR (schemaname = 'mastodon_migration' AND tablename = 'cutover_marker')
SQL
)
if [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_publication WHERE pubname = '$PUBLICATION'")" = 1 ]; then
  psql_admin -d "$DB" -c "ALTER PUBLICATION $PUBLICATION SET TABLE $tables"
else
  psql_admin -d "$DB" -c "CREATE PUBLICATION $PUBLICATION FOR TABLE $tables"
fi
n=$(psql_admin -d "$DB" -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = '$PUBLICATION'")
log "publication $PUBLICATION: $n tables (${no_pk:+REPLICA IDENTITY FULL on $(echo "$no_pk" | wc -l)})"
