#!/usr/bin/env bash
# Wait for cloud-init on a new EC2 target and fail when it reported an error.
# inputs:
log "waiting for cloud-init (prerequisites and the Mastodon checkout take a while)"
heartbeat 'cloud-init status 2>/dev/null | head -n 1'
status=0
cloud-init status --wait >/dev/null || status=$?
[ "$status" -eq 0 ] || die "cloud-init finished with status $status: see /var/log/cloud-init-output.log on the target server"
log "cloud-init done"
