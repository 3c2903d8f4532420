#!/usr/bin/env bash
# In the window, once Mastodon is stopped on the source server, with one connection to the target:
#  - refuse if schema_migrations differ (DDL is not replicated: a migration ran after the schema was copied);
#  - write a marker row on the source (its commit follows every write of the stopped instance) and wait until
#    the target has applied it: the source's WAL position at the stop (refuse after MAX_WAIT, with the lag);
#  - copy every sequence's value (logical replication does not carry sequences);
#  - drop the subscription (and its slot on the source) and our marker schema, and take the snapshot the
#    materialized views are refreshed from (the data at the stop); the refresh itself waits until the target
#    serves (`views`, after the health check): the target's database is the instance's from then on.
# inputs: DB SUBSCRIPTION MAX_WAIT TARGET_WORK HOLD_SECONDS
migrations() { psql_admin -d "$DB" -c "SELECT CASE WHEN to_regclass('public.schema_migrations') IS NULL THEN 'none' ELSE (SELECT count(*) || ' ' || md5(coalesce(string_agg(version, ',' ORDER BY version), '')) FROM public.schema_migrations) END"; }
lag() { psql_admin -d "$DB" -c "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint FROM pg_replication_slots WHERE slot_name = '$SUBSCRIPTION'"; }
SOURCE_MIGRATIONS=$(migrations)
LAG_AT_STOP=$(lag)
# Mastodon is stopped: the sequences' values are final.
SETVALS=$(psql_admin -d "$DB" <<'SQL'
SELECT format('SELECT format(''SELECT pg_catalog.setval(%%L, %%s, %%s);'', %L, last_value, is_called::text) FROM %I.%I',
              format('%I.%I', schemaname, sequencename), schemaname, sequencename)
FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename
\gexec
SQL
)
TOKEN="cutover-$(date -u +%Y%m%dT%H%M%S)-$$"
LSN=$(psql_admin -d "$DB" -c "UPDATE mastodon_migration.cutover_marker SET token = '$TOKEN', written_at = now() WHERE id = 1 RETURNING pg_current_wal_lsn()" 2>/dev/null || true)
log "waiting until the target has applied the source's WAL up to ${LSN:-the stop} (lag at the stop: ${LAG_AT_STOP:-?} bytes)"
# shellcheck disable=SC2016 # evaluated by the heartbeat
heartbeat 'echo "lag $(lag) bytes"'
# Built here: functions sent to the peer cannot hold here-documents.
WAIT_SQL=$(
  cat <<SQL
DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '$MAX_WAIT seconds';
BEGIN
  LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM mastodon_migration.cutover_marker WHERE id = 1 AND token = '$TOKEN')
      AND NOT EXISTS (SELECT 1 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
                      WHERE s.subname = '$SUBSCRIPTION' AND r.srsubstate <> 'r');
    IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'not caught up'; END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
END
\$\$;
SQL
)

# refresh_views: the materialized views from the data at the stop (what a restore, which refreshes them,
# gives). Those the gate populated and that have a unique index are refreshed CONCURRENTLY by a session of
# their own, in one repeatable-read transaction whose snapshot is taken here, before the verification and the
# start (no write of the target's Mastodon enters them). The session then waits, holding only its snapshot,
# until the `views` step releases it once the target serves (DB.views.go): the refresh's work is out of the
# window, and readers keep the replica's contents (populated by the gate) until it commits. Unreleased after
# HOLD_SECONDS it ends without refreshing (Mastodon's scheduler refreshes them later). Any other view is
# refreshed here.
refresh_views() {
  local state="$TARGET_WORK/replication" view concurrent views=() refresh
  [ ! -f "$state/$DB.views.started" ] || return 0
  while read -r view concurrent; do
    [ -n "$view" ] || continue
    if [ "$concurrent" = t ]; then
      views+=("$view")
    else
      psql_admin -d "$DB" -c "REFRESH MATERIALIZED VIEW $view"
    fi
  done < <(psql_admin -d "$DB" -F ' ' -c "SELECT format('%I.%I', v.schemaname, v.matviewname), v.ispopulated AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = format('%I.%I', v.schemaname, v.matviewname)::regclass AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL) FROM pg_matviews v WHERE v.schemaname = 'public' ORDER BY 1")
  rm -f "$state/$DB.views.status" "$state/$DB.views.log" "$state/$DB.views.go"
  if [ ${#views[@]} -gt 0 ]; then
    refresh="$(printf ' REFRESH MATERIALIZED VIEW CONCURRENTLY %s;' "${views[@]}") COMMIT;"
    # The session's input: the snapshot now; the refresh once released (ROLLBACK when never released).
    # shellcheck disable=SC2016 # expanded by the session's own shell
    setsid bash -c '
      { echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;"
        deadline=$(($(date +%s) + $4))
        until [ -f "$3.go" ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
        if [ -f "$3.go" ]; then echo "$1"; else echo "ROLLBACK;"; fi
      } | (cd / && runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -qAt "dbname=$2 application_name=mastodon-migration-views") >"$3.log" 2>&1
      status=$?
      [ -f "$3.go" ] || status="not released within $4 s: left to the scheduler of Mastodon"
      echo "$status" >"$3.status"' \
      _ "$refresh" "$DB" "$state/$DB.views" "$HOLD_SECONDS" </dev/null >/dev/null 2>&1 &
    local deadline=$(($(date +%s) + 60))
    until [ "$(psql_admin -d "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mastodon-migration-views' AND backend_xmin IS NOT NULL")" != 0 ] || [ -f "$state/$DB.views.status" ]; do
      [ "$(date +%s)" -lt "$deadline" ] || die "the session refreshing the materialized views did not start within 60 s"
      sleep 0.05
    done
    if [ -f "$state/$DB.views.status" ]; then
      die "the session refreshing the materialized views ended before its snapshot was taken: $(tail -n 3 "$state/$DB.views.log")"
    fi
    echo "${views[*]}" >"$state/$DB.views.started"
  else
    echo 0 >"$state/$DB.views.status"
    : >"$state/$DB.views.started"
  fi
}

promote() {
  local state="$TARGET_WORK/replication" started waited
  install -d -m 700 "$state"
  if [ -f "$state/$DB.promoted" ]; then
    log "$DB was already promoted on the target server"
    return 0
  fi
  if [ ! -f "$state/$DB.promoting" ]; then
    [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_subscription WHERE subname = '$SUBSCRIPTION'")" = 1 ] ||
      die "no subscription $SUBSCRIPTION on the target server (a rollback set the copy aside?): copy again in prepare with pulumi config set dbReplicationRun <n+1>"
    local target_migrations
    target_migrations=$(migrations)
    [ "$target_migrations" = "$SOURCE_MIGRATIONS" ] ||
      die "schema_migrations differ (source: $SOURCE_MIGRATIONS, target: $target_migrations): a Mastodon migration ran on the source server after the schema was copied, and DDL is not replicated. Roll back (pulumi config set phase prepare && pulumi up), then copy again with pulumi config set dbReplicationRun <n+1>"
    [ -n "$LSN" ] || die "the marker row is missing on the source server (mastodon_migration.cutover_marker)"
    rm -f "$state/$DB.views.started" "$state/$DB.views.status" "$state/$DB.views.log" "$state/$DB.views.go"
    started=$(date +%s%N)
    # One session polls every 20 ms; each statement of the loop sees the newest applied commit.
    if ! printf '%s\n' "$WAIT_SQL" | psql_admin -d "$DB" >/dev/null 2>&1; then
      die "the target has not applied the source's WAL up to $LSN after ${MAX_WAIT}s: Mastodon stays stopped. Run pulumi up again to keep waiting, or roll back with pulumi config set phase prepare && pulumi up"
    fi
    waited=$((($(date +%s%N) - started) / 1000000))
    echo "APPLIED_MS=$waited"
    printf '%s\n' "$SETVALS" | psql_admin -d "$DB" >/dev/null
    date -u +%FT%TZ >"$state/$DB.promoting"
    psql_admin -d "$DB" -c "ALTER SUBSCRIPTION $SUBSCRIPTION DISABLE"
  fi
  if [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_subscription WHERE subname = '$SUBSCRIPTION'")" = 1 ]; then
    if ! psql_admin -d "$DB" -c "DROP SUBSCRIPTION $SUBSCRIPTION" 2>/dev/null; then
      psql_admin -d "$DB" -c "ALTER SUBSCRIPTION $SUBSCRIPTION SET (slot_name = NONE)"
      psql_admin -d "$DB" -c "DROP SUBSCRIPTION $SUBSCRIPTION"
      log "the source's slot could not be dropped from the target server: the publication's removal in complete drops it"
    fi
  fi
  psql_admin -d "$DB" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS mastodon_migration CASCADE"
  refresh_views
  date -u +%FT%TZ >"$state/$DB.promoted.tmp" && mv "$state/$DB.promoted.tmp" "$state/$DB.promoted"
  rm -f "$state/$DB.promoting" "$state/password"
}
out=$(on_peer promote DB SUBSCRIPTION TARGET_WORK SOURCE_MIGRATIONS LSN SETVALS WAIT_SQL MAX_WAIT HOLD_SECONDS) || {
  printf '%s\n' "$out"
  die "the catch-up failed (lag now $(lag) bytes; see above)"
}
printf '%s\n' "$out" | grep -v '^APPLIED_MS=' || true
applied=$(printf '%s\n' "$out" | sed -n 's/^APPLIED_MS=//p')
sequences=$(printf '%s\n' "$SETVALS" | grep -c setval || true)
result "$(printf 'CATCHUP {"lsn":"%s","waitedMs":%d,"lagBytesAtStop":%d,"sequences":%d}' "${LSN:-}" "${applied:-0}" "${LAG_AT_STOP:-0}" "$sequences")"
log "the target applied the source's WAL up to ${LSN:-?} after ${applied:-0} ms, $sequences sequences copied, subscription dropped: $DB on the target server is the instance's database"
