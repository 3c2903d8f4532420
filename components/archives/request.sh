#!/usr/bin/env bash
# Request the users' archives: `tootctl accounts backup USERNAME` (a backups row, then Sidekiq's
# BackupWorker builds the archive and mails the link) for USERS, or for every active local user
# (not suspended, not disabled, confirmed) without an archive younger than RECENT_DAYS days. The users
# already requested are recorded, so a re-run requests nothing twice.
# inputs: LIVE MASTODON_USER DB USERS RECENT_DAYS
RECORD="$WORK/archives-requested"
touch "$RECORD"
if [ ${#USERS[@]} -gt 0 ]; then
  wanted=("${USERS[@]}")
else
  mapfile -t wanted < <(psql_admin -d "$DB" <<SQL
SELECT a.username FROM accounts a JOIN users u ON u.account_id = a.id
WHERE a.domain IS NULL AND a.suspended_at IS NULL AND NOT u.disabled AND u.confirmed_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.user_id = u.id AND b.created_at > now() - interval '$RECENT_DAYS days')
ORDER BY a.id;
SQL
  )
fi
requested=0 skipped=0
for username in "${wanted[@]}"; do
  [ -n "$username" ] || continue
  if grep -qxF "$username" "$RECORD"; then
    skipped=$((skipped + 1))
    continue
  fi
  out=$(as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl accounts backup "$username" 2>&1) || die "tootctl accounts backup $username failed: $out"
  printf '%s\n' "$username" >>"$RECORD"
  requested=$((requested + 1))
  [ $((requested % 50)) -ne 0 ] || log "requested $requested archives"
done
log "archives requested: $requested now, $skipped earlier ($(wc -l <"$RECORD") users in all)"
