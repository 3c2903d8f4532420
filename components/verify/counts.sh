#!/usr/bin/env bash
# Verification before DNS moves: the exact row count of every table and materialized view, and the media,
# read on both servers and compared. Prints one VERIFY line; any mismatch fails the step, so the DNS cutover
# (which depends on it) never happens. The media: when the final pass (step MEDIA_FINAL) copied only the
# paths its change journal named, those paths and everything below them (number, sizes, and a digest of the
# paths with their types and sizes, deletions included): the catch-up pass before them mirrored the whole
# tree, and walking it again in the window would cost as much as the tree is large (millions of files on a
# real instance). Otherwise the number and total size of all media files.
# inputs: DB SOURCE_LIVE TARGET_LIVE MEDIA_ON_S3 MEDIA_FINAL
SOURCE_COUNTS="$WORK/verify-source.txt"
TARGET_COUNTS="$WORK/verify-target.txt"
MEDIA=tree
if [ "$MEDIA_ON_S3" = true ]; then
  MEDIA=none
elif [ "$(cat "$WORK/$MEDIA_FINAL.mode" 2>/dev/null)" = journal ] && [ -f "$WORK/$MEDIA_FINAL.paths" ]; then
  MEDIA=journal
fi
# The journal's paths for the target (NUL separated: sent as base64 text).
LISTED=$(if [ "$MEDIA" = journal ]; then base64 -w0 <"$WORK/$MEDIA_FINAL.paths"; fi)

# counts LIVE: `table <name> <rows>`, `matview <name> <rows>`, `media_files N`, `media_bytes N` (and
# `media_digest D` for the journal's paths), sorted. The media runs beside the row counts (disk and database).
counts() {
  local files=0 bytes=0 digest="" media walker="" list=""
  media=$(mktemp)
  if [ "$MEDIA" = journal ]; then
    list=$(mktemp)
    printf '%s' "$LISTED" | base64 -d >"$list"
    media_changed_stats "$1" "$list" >"$media" &
    walker=$!
  elif [ "$MEDIA" = tree ]; then
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
    read -r files bytes digest <"$media"
  fi
  rm -f "$media" ${list:+"$list"}
  printf 'media_files %d\nmedia_bytes %d\n' "$files" "$bytes"
  if [ -n "$digest" ]; then printf 'media_digest %s\n' "$digest"; fi
}
target_counts() { counts "$TARGET_LIVE"; }

# Both servers count at the same time.
on_peer target_counts DB TARGET_LIVE MEDIA LISTED >"$TARGET_COUNTS" &
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
case "$MEDIA" in
  journal) checked="changed paths" what="media: the $(tr -cd '\0' <"$WORK/$MEDIA_FINAL.paths" | wc -c) paths the final pass copied, $files files below them ($bytes bytes); the catch-up pass mirrored the rest" ;;
  tree) checked=tree what="$files media files ($bytes bytes)" ;;
  *) checked=none what="media in object storage" ;;
esac
result "$(printf 'VERIFY {"identical":%s,"tables":%d,"rows":%d,"media":"%s","mediaFiles":%d,"mediaBytes":%d,"mismatches":[%s]}' \
  "$identical" "$tables" "$rows" "$checked" "${files:-0}" "${bytes:-0}" "$mismatches")"
[ "$identical" = true ] || die "the target server differs from the source server (see VERIFY above): DNS is not moved"
log "$tables tables, $rows rows, $what: identical on both servers"
