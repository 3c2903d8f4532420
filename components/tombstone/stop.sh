#!/usr/bin/env bash
# Stop and disable everything but nginx: every Mastodon unit, then PostgreSQL and Redis (the final
# dump is made). nginx keeps answering 410 for every path. The first time is recorded: prints STOPPED {"at"}.
# inputs:
read -ra units <<<"$(mastodon_units)"
units+=(postgresql redis-server)
for unit in "${units[@]}"; do
  systemctl stop "$unit" 9>&- || die "could not stop $unit"
  systemctl disable "$unit" >/dev/null 2>&1 9>&- || log "$unit: not disabled (no unit file to disable?)"
done
for unit in "${units[@]}"; do
  ! systemctl is-active --quiet "$unit" || die "$unit is still active"
done
systemctl is-active --quiet nginx || die "nginx is not running: the tombstone needs it"
log "stopped and disabled: ${units[*]}; nginx answers 410"
RECORD="$WORK/tombstone-since"
[ -s "$RECORD" ] || { date -u +%Y-%m-%dT%H:%M:%SZ >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"; }
printf 'STOPPED {"at":"%s"}\n' "$(cat "$RECORD")"
