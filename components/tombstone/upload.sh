#!/usr/bin/env bash
# Upload the encrypted archive to the archive bucket (S3 PUT signed with SigV4 by curl). The credentials
# come on stdin (access key id, then secret), go into a curl config file readable by root only that is
# removed when the step ends, and never reach a command line or the log. The upload is checked by its MD5
# against the object's ETag; a re-run finds the object there and uploads nothing.
# inputs: BUCKET KEY REGION ENDPOINT NAME
ARCHIVE="$WORK/$NAME"
[ -s "$ARCHIVE" ] || die "no archive at $ARCHIVE: the dump step did not complete"
read -r key_id || die "no upload credentials on stdin"
read -r secret || die "no upload credentials on stdin"
CURLRC=$(mktemp "$WORK/upload.XXXXXX")
# The credentials file goes whatever happens; then the preamble's finish (it reads the status from $?).
cleanup() {
  local rc=$?
  rm -f "$CURLRC"
  if [ "$rc" -eq 0 ]; then finish; else false || finish; fi
}
trap cleanup EXIT
chmod 600 "$CURLRC"
printf 'user = "%s:%s"\n' "$key_id" "$secret" >"$CURLRC"
unset secret
url="$ENDPOINT/$BUCKET/$KEY"
s3() { curl -sS --fail-with-body --retry 3 --max-time 3600 -K "$CURLRC" --aws-sigv4 "aws:amz:$REGION:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
md5=$(md5sum "$ARCHIVE" | cut -d' ' -f1)
etag() { s3 -I "$url" 2>/dev/null | tr -d '\r"' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p'; }
if [ "$(etag)" = "$md5" ]; then
  log "the archive is already in the bucket (s3://$BUCKET/$KEY, md5 $md5)"
  exit 0
fi
log "uploading $(stat -c %s "$ARCHIVE") bytes to s3://$BUCKET/$KEY"
s3 -o /dev/null -T "$ARCHIVE" -H "x-amz-server-side-encryption: AES256" "$url" || die "the upload to s3://$BUCKET/$KEY failed; run pulumi up again"
[ "$(etag)" = "$md5" ] || die "the uploaded object's ETag is not the archive's MD5 ($md5): run pulumi up again"
log "archive uploaded and checked: s3://$BUCKET/$KEY (md5 $md5)"
