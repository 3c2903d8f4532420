#!/usr/bin/env bash
# Switch the instance to self-destruct mode, as Mastodon 4.3+ expects: answer `tootctl self-destruct`'s
# two questions (the domain, then "y"), take the SELF_DESTRUCT=<value> line it prints, add it to
# .env.production (temp file and rename, same owner and mode; the value is never printed), then restart
# every Mastodon process. A re-run finds the mode on (the command says so) and only makes sure the
# processes run with it.
# inputs: LIVE MASTODON_USER DOMAIN
ENV_FILE="$LIVE/.env.production"
status=$(as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl self-destruct </dev/null 2>&1) || true
if grep -q 'already enabled' <<<"$status"; then
  log "self-destruct mode is already on"
else
  grep -q '^SELF_DESTRUCT=' "$ENV_FILE" && die "$ENV_FILE has a SELF_DESTRUCT line that Mastodon does not accept (another domain or SECRET_KEY_BASE?): inspect it by hand"
  out=$(printf '%s\ny\n' "$DOMAIN" | as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl self-destruct 2>&1) ||
    die "tootctl self-destruct refused: $(grep -v 'SELF_DESTRUCT=' <<<"$out" | tail -n 3)"
  line=$(grep -o 'SELF_DESTRUCT=[^[:space:]]*' <<<"$out" | tail -n 1) || die "tootctl self-destruct printed no SELF_DESTRUCT value"
  cp -p "$ENV_FILE" "$ENV_FILE.tmp"
  printf '%s\n' "$line" >>"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  unset out line
  log "SELF_DESTRUCT added to $ENV_FILE (value not shown)"
fi
read -ra units <<<"$(mastodon_units)"
log "restarting: ${units[*]}"
systemctl restart "${units[@]}" 9>&-
wait_active 60 "${units[@]}"
status=$(as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl self-destruct </dev/null 2>&1) || true
grep -q 'already enabled' <<<"$status" || die "Mastodon does not report self-destruct mode after the restart: $(tail -n 2 <<<"$status")"
log "self-destruct mode is on; Sidekiq sends the deletion notices"
