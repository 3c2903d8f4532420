#!/usr/bin/env bash
# .env.production, server to server (its contents never leave the servers); DB_USER rewritten on the target
# when its role differs. What changed since the last copy (an edit on the source between prepare and the
# cutover) is reported by key name, never by value. The role's password (DB_PASS) is set on the target's
# role, so a TCP/password setup logs in there too.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_USER SOURCE_ROLE TARGET_ROLE
ENV="$SOURCE_LIVE/.env.production"
[ -r "$ENV" ] || die "no $ENV on the source server"

# env_digest FILE [SKIP_KEY]: "KEY sha256-of-value" per key, sorted; values never printed.
env_digest() {
  [ -r "$1" ] || return 0
  sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=\(.*\)$/\1 \2/p' "$1" | while read -r key value; do
    [ "$key" != "${2:-}" ] || continue
    printf '%s %s\n' "$key" "$(printf '%s' "$value" | sha256sum | cut -c1-16)"
  done | sort -u -k1,1
}
target_digest() { env_digest "$TARGET_LIVE/.env.production" "$SKIP"; }
SKIP=
[ "$SOURCE_ROLE" = "$TARGET_ROLE" ] || SKIP=DB_USER
before=$(on_peer target_digest TARGET_LIVE SKIP)
after=$(env_digest "$ENV" "$SKIP")
if [ -z "$before" ]; then
  log ".env.production: first copy to the target server"
else
  drift=$(join -a1 -a2 -e - -o 0,1.2,2.2 <(echo "$before") <(echo "$after") | awk '$2 != $3 { print $1 }' | tr '\n' ' ')
  log ".env.production: ${drift:+changed since the last copy (by key): $drift}${drift:-unchanged since the last copy}"
fi
rsync --chmod=F600 --chown="$TARGET_USER:$TARGET_USER" -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$ENV" "$PEER:$TARGET_LIVE/.env.production"
log ".env.production copied server to server (contents never leave the servers)"
if [ "$SOURCE_ROLE" != "$TARGET_ROLE" ]; then
  set_db_user() { sed -i "s/^DB_USER=.*/DB_USER=$TARGET_ROLE/" "$TARGET_LIVE/.env.production"; }
  on_peer set_db_user TARGET_LIVE TARGET_ROLE
  log "DB_USER set to $TARGET_ROLE on the target server (was $SOURCE_ROLE)"
fi
# On the target: the role gets DB_PASS as its password (SQL on stdin, never on a command line).
set_role_password() {
  local pass
  pass=$(sed -n 's/^DB_PASS=//p' "$TARGET_LIVE/.env.production" | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/")
  [ -n "$pass" ] || return 0
  # Not in the server log either (log_statement = ddl would write it there).
  printf 'SET log_statement = none;\nSET log_min_duration_statement = -1;\nALTER ROLE "%s" PASSWORD '\''%s'\'';\n' \
    "$TARGET_ROLE" "${pass//\'/\'\'}" | psql_admin >/dev/null
  echo set
}
if [ "$(on_peer set_role_password TARGET_LIVE TARGET_ROLE)" = set ]; then
  log "role $TARGET_ROLE on the target server has the password of DB_PASS"
fi
