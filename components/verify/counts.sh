#!/usr/bin/env bash
# Verification before DNS moves: the exact row count of every table and materialized view, and the number
# and total size of media files, read on both servers and compared. Prints one VERIFY line; any mismatch
# fails the step, so the DNS cutover (which depends on it) never happens.
# inputs: DB SOURCE_LIVE TARGET_LIVE MEDIA_ON_S3
SOURCE_COUNTS="$WORK/verify-source.txt"
TARGET_COUNTS="$WORK/verify-target.txt"

# counts LIVE: `table <name> <rows>`, `matview <name> <rows>`, `media_files N`, `media_bytes N`, sorted.
# The media walk runs beside the row counts (independent: disk and database).
counts() {
  local files=0 bytes=0 media walker=
  media=$(mktemp)
  if [ "$MEDIA_ON_S3" = false ]; then
    media_stats "$1" >"$media" &
    walker=$!
  fi
  (cd / && runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -qAt -F ' ' -d "$DB") <<'SQL' | sort
SELECT format('SELECT %L, %L, count(*) FROM public.%I', kind, name, name) FROM (
  SELECT 'table' AS kind, tablename AS name FROM pg_tables WHERE schemaname = 'public'
  UNION ALL SELECT 'matview', matviewname FROM pg_matviews WHERE schemaname = 'public') AS relations
\gexec
SQL
  if [ -n "$walker" ]; then
    wait "$walker" || die "counting the media under $1/public/system failed"
    read -r files bytes <"$media"
  fi
  rm -f "$media"
  printf 'media_files %d\nmedia_bytes %d\n' "$files" "$bytes"
}
target_counts() { counts "$TARGET_LIVE"; }

# Both servers count at the same time.
on_peer target_counts DB TARGET_LIVE MEDIA_ON_S3 >"$TARGET_COUNTS" &
peer=$!
counts "$SOURCE_LIVE" >"$SOURCE_COUNTS"
wait "$peer" || die "counting on the target server failed"
tables=$(grep -c '^table ' "$SOURCE_COUNTS" || true)
rows=$(awk '$1 == "table" { r += $3 } END { print r + 0 }' "$SOURCE_COUNTS")
files=$(awk '$1 == "media_files" { print $2 }' "$SOURCE_COUNTS")
bytes=$(awk '$1 == "media_bytes" { print $2 }' "$SOURCE_COUNTS")
mismatches=$(diff "$SOURCE_COUNTS" "$TARGET_COUNTS" | sed -n 's/^< \(.*\)/source: \1/p; s/^> \(.*\)/target: \1/p' | head -n 50 |
  awk 'BEGIN { ORS = "" } { gsub(/"/, ""); printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 }')
identical=true
[ -z "$mismatches" ] || identical=false
result "$(printf 'VERIFY {"identical":%s,"tables":%d,"rows":%d,"mediaFiles":%d,"mediaBytes":%d,"mismatches":[%s]}' \
  "$identical" "$tables" "$rows" "${files:-0}" "${bytes:-0}" "$mismatches")"
[ "$identical" = true ] || die "the target server differs from the source server (see VERIFY above): DNS is not moved"
log "$tables tables, $rows rows, $files media files ($bytes bytes): identical on both servers"
