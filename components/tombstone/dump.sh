#!/usr/bin/env bash
# The final database dump, encrypted on the server: pg_dump -Fc piped into age with the recipient's public
# key, written to a temporary name and renamed, so only a complete encrypted archive exists. A re-run keeps
# an archive already made. Prints ARCHIVE {"name", "sha256", "bytes"}.
# inputs: DB RECIPIENT NAME
command -v age >/dev/null || die "age is not installed on this server: apt-get install age"
db_exists "$DB" || die "database $DB does not exist on this server"
ARCHIVE="$WORK/$NAME"
if [ ! -s "$ARCHIVE" ]; then
  log "dumping $DB, encrypted to $RECIPIENT"
  rm -f "$ARCHIVE.tmp"
  as_user postgres pg_dump -Fc "$DB" | age -r "$RECIPIENT" >"$ARCHIVE.tmp"
  mv "$ARCHIVE.tmp" "$ARCHIVE"
  chmod 600 "$ARCHIVE"
else
  log "the encrypted dump is already there"
fi
sha=$(sha256sum "$ARCHIVE" | cut -d' ' -f1)
bytes=$(stat -c %s "$ARCHIVE")
log "archive $ARCHIVE: $bytes bytes, sha256 $sha"
printf 'ARCHIVE {"name":"%s","sha256":"%s","bytes":%s}\n' "$NAME" "$sha" "$bytes"
