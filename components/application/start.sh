#!/usr/bin/env bash
# Start Mastodon on the target: daemon-reload, Redis, pgbouncer when configured (restarted: one already
# running, as Debian's package leaves it, still has its old pgbouncer.ini and databases), every mastodon-*
# unit enabled and started, nginx restarted.
# inputs:
read -r -a unit_list <<<"$(mastodon_units)"
systemctl daemon-reload
systemctl start redis-server 9>&-
if [ -f /etc/pgbouncer/pgbouncer.ini ]; then systemctl enable pgbouncer >/dev/null && systemctl restart pgbouncer 9>&-; fi
log "starting ${unit_list[*]}"
systemctl enable --now "${unit_list[@]}" 9>&-
systemctl restart nginx 9>&-
log "Mastodon started on the target server"
