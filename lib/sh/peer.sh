#!/usr/bin/env bash
# Server-to-server transfers, for steps that run on the source server and reach the target server with the
# migration key (which never leaves the source server). The header sets PEER_HOST, PEER_PORT, PEER_USER.
# Defines: SSH_PEER (array: the ssh command), PEER (user@host), RSYNC_SSH (the same ssh command as one
# string for `rsync -e`, which parses quotes itself), RSYNC_PEER (rsync on the peer, as root), and on_peer.

KEY="$WORK/migration_ed25519"
[ -r "$KEY" ] || die "migration key $KEY is missing: run the prepare phase first"
SSH_PEER=(ssh -i "$KEY" -p "$PEER_PORT" -o IdentitiesOnly=yes -o BatchMode=yes
  -o "UserKnownHostsFile=$WORK/known_hosts" -o StrictHostKeyChecking=accept-new
  -o ServerAliveInterval=15 -o ServerAliveCountMax=8 -o ConnectTimeout=20)
PEER="$PEER_USER@$PEER_HOST"
PEER_SUDO=
[ "$PEER_USER" = root ] || PEER_SUDO="sudo -n "
# shellcheck disable=SC2034 # used by the steps that call rsync
{
  # rsync splits -e on spaces and honours quotes, not backslashes; our paths hold no single quotes.
  RSYNC_SSH=$(printf "'%s' " "${SSH_PEER[@]}")
  RSYNC_PEER="${PEER_SUDO}rsync"
}

# on_peer FUNCTION [VARIABLE...]: run FUNCTION on the peer as root under `set -euo pipefail`. It gets this
# script's functions (log, die, as_user, psql_admin, ...: the peer's small preamble, with no lock and no
# heartbeat), STEP and the named variables; values travel as `declare -p` output, never re-parsed here.
on_peer() {
  local fn=$1
  shift
  {
    echo 'set -euo pipefail'
    declare -p STEP "$@"
    declare -f
    echo "$fn"
  } | "${SSH_PEER[@]}" "$PEER" "${PEER_SUDO}bash -s"
}
