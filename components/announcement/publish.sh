#!/usr/bin/env bash
# Publish the closure as a Mastodon announcement (the banner of the web interface and the apps): a row of
# `announcements`, published now, as the admin interface's "Publish" writes it. Its id and time are kept in
# the work directory, so a re-run publishes nothing twice and the rollback withdraws exactly this one.
# Prints ANNOUNCED {"at": ...}.
# inputs: DB TEXT
RECORD="$WORK/announcement"
db_exists "$DB" || die "database $DB does not exist on this server: set sourceDbName"
if [ ! -s "$RECORD" ]; then
  # The text reaches psql as a variable (:'text', quoted by psql), never inside the SQL.
  row=$(psql_admin -d "$DB" -v text="$TEXT" -F ' ' <<'SQL'
INSERT INTO announcements (text, published, published_at, all_day, created_at, updated_at)
VALUES (:'text', true, now(), false, now(), now())
RETURNING id, to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
SQL
  ) || die "could not insert the announcement"
  printf '%s\n' "$row" >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
  log "announcement published (id ${row%% *})"
else
  log "announcement already published (id $(cut -d' ' -f1 "$RECORD"))"
fi
read -r id at <"$RECORD"
[ "$(psql_admin -d "$DB" -c "SELECT count(*) FROM announcements WHERE id = $id AND published")" = 1 ] ||
  die "announcement $id is no longer published (withdrawn by hand?): remove $RECORD to publish it again"
printf 'ANNOUNCED {"at":"%s","id":%s}\n' "$at" "$id"
