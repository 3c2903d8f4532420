#!/usr/bin/env bash
# Rollback: Mastodon stopped and disabled on the target again.
# inputs:
read -r -a unit_list <<<"$(mastodon_units)"
systemctl disable --now "${unit_list[@]}"
log "Mastodon stopped on the target server (${unit_list[*]})"
