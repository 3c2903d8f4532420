#!/usr/bin/env bash
# The subscription's way in: a login role with REPLICATION made for the move, with a random password that
# is generated here, kept root-only in our directory on both servers (sent to the target over the migration
# key's SSH) and never printed, so it never passes through Pulumi. pg_hba admits that role, to that database,
# from the target server's address only (hostssl when the source's PostgreSQL has TLS on).
# inputs: DB REPL_ROLE TARGET_HOST TARGET_WORK
STATE="$WORK/replication"
install -d -m 700 "$STATE"
PASS_FILE="$STATE/password"
if [ ! -s "$PASS_FILE" ]; then
  (umask 077 && head -c 32 /dev/urandom | sha256sum | cut -c1-48 >"$PASS_FILE.tmp")
  mv "$PASS_FILE.tmp" "$PASS_FILE"
fi
target_ip=$(getent ahostsv4 "$TARGET_HOST" | awk 'NR == 1 { print $1 }')
[ -n "$target_ip" ] || die "cannot resolve the target server's address $TARGET_HOST"
# The password goes over stdin, and statement logging is off for this session: not in argv, not in logs.
{
  echo "SET log_statement = 'none';"
  if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$REPL_ROLE'")" != 1 ]; then
    echo "CREATE ROLE \"$REPL_ROLE\" LOGIN REPLICATION;"
  fi
  echo "ALTER ROLE \"$REPL_ROLE\" LOGIN REPLICATION PASSWORD '$(cat "$PASS_FILE")';"
} | psql_admin
if [ "$(psql_admin -c "SHOW ssl")" = on ]; then kind=hostssl sslmode=require; else kind=host sslmode=prefer; fi
[ "$kind" = hostssl ] || log "WARNING: TLS is off on the source server's PostgreSQL: the replication stream is not encrypted between the servers"
HBA=$(psql_admin -c "SHOW hba_file")
line="$kind $DB $REPL_ROLE $target_ip/32 scram-sha-256 # mastodon-migration"
if ! grep -qxF "$line" "$HBA"; then
  # First match wins in pg_hba.conf: our line goes before the first rule.
  cp -p "$HBA" "$HBA.tmp"
  { grep -F -v '# mastodon-migration' "$HBA" | awk -v l="$line" '!done && /^[[:space:]]*[a-z]/ { print l; done = 1 } { print } END { if (!done) print l }'; } >"$HBA.tmp"
  mv "$HBA.tmp" "$HBA"
  psql_admin -c "SELECT pg_reload_conf()" >/dev/null
  errors=$(psql_admin -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")
  [ "$errors" = 0 ] || die "pg_hba.conf has $errors invalid lines after adding ours: $HBA"
fi
store_password() {
  install -d -m 700 "$TARGET_WORK/replication"
  (umask 077 && printf '%s\n' "$REPL_PASSWORD" >"$TARGET_WORK/replication/password.tmp")
  mv "$TARGET_WORK/replication/password.tmp" "$TARGET_WORK/replication/password"
}
REPL_PASSWORD=$(cat "$PASS_FILE")
on_peer store_password TARGET_WORK REPL_PASSWORD
log "role $REPL_ROLE may replicate $DB from $target_ip ($kind); its password is on both servers, root-only"
result "SOURCE_PG_SSLMODE=$sslmode"
