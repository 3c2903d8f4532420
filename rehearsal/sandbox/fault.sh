#!/usr/bin/env bash
# Fault injection for rehearsals, on one sandbox host:
#   fault.sh <source|target> kill-ssh   kills every SSH connection of the host (the per-connection sshd
#                                       processes, children of the listener; the listener stays up, so
#                                       new connections work). Clients see the connection drop mid-command.
#   fault.sh <source|target> link-down  takes the host's network link down (partition: packets vanish,
#   fault.sh <source|target> link-up    connections hang instead of failing) / brings it back.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
h="${1:-}" what="${2:-}"
[[ "$h" == source || "$h" == target ]] || { echo "usage: fault.sh <source|target> kill-ssh|link-down|link-up" >&2; exit 2; }
case "$what" in
  kill-ssh)
    # shellcheck disable=SC2016  # expanded inside the host
    "$here/host.sh" "$h" bash -c '
      listener="$(cat /run/sshd/sshd.pid)"
      sessions="$(pgrep -P "$listener" || true)"
      [[ -z "$sessions" ]] || kill -KILL $sessions
      echo "killed $(wc -w <<<"$sessions") ssh connection(s)"' ;;
  link-down) ip link set "$BRIDGE-$h" down; echo "link of $h down" ;;
  link-up) ip link set "$BRIDGE-$h" up; echo "link of $h up" ;;
  *) echo "usage: fault.sh <source|target> kill-ssh|link-down|link-up" >&2; exit 2 ;;
esac
