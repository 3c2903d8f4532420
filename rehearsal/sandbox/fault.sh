#!/usr/bin/env bash
# Fault injection for rehearsals, on one sandbox host:
#   fault.sh <source|target> kill-ssh   kills every SSH connection of the host (the per-connection sshd
#                                       processes, children of the listener; the listener stays up, so
#                                       new connections work). Clients see the connection drop mid-command.
#   fault.sh <source|target> kill-ssh-of STEP
#                                       kills only the SSH connection(s) running the step script named STEP
#                                       (the per-connection sshd that is an ancestor of a process whose
#                                       command line holds the script's header line STEP='STEP'); prints
#                                       how many, 0 when that step is not running on the host.
#   fault.sh <source|target> link-down  takes the host's network link down (partition: packets vanish,
#   fault.sh <source|target> link-up    connections hang instead of failing) / brings it back.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
h="${1:-}" what="${2:-}" step="${3:-}"
usage="usage: fault.sh <source|target> kill-ssh|kill-ssh-of STEP|link-down|link-up"
[[ "$h" == source || "$h" == target ]] || { echo "$usage" >&2; exit 2; }
case "$what" in
  kill-ssh)
    # shellcheck disable=SC2016  # expanded inside the host
    "$here/host.sh" "$h" bash -c '
      listener="$(cat /run/sshd/sshd.pid)"
      sessions="$(pgrep -P "$listener" || true)"
      [[ -z "$sessions" ]] || kill -KILL $sessions
      echo "killed $(wc -w <<<"$sessions") ssh connection(s)"' ;;
  kill-ssh-of)
    [[ "$step" =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "$usage (STEP: a step name)" >&2; exit 2; }
    # shellcheck disable=SC2016  # expanded inside the host
    "$here/host.sh" "$h" bash -c '
      step=$1 listener="$(cat /run/sshd/sshd.pid)" killed=()
      for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        # The header line of the step script, a whole line of bash -c'"'"'s argument.
        tr "\0" "\n" <"$dir/cmdline" 2>/dev/null | grep -qxF "STEP='"'"'$step'"'"'" || continue
        while [[ -n "$pid" && "$pid" != 1 ]]; do
          parent="$(awk "/^PPid:/ {print \$2}" "/proc/$pid/status" 2>/dev/null || true)"
          if [[ "$parent" == "$listener" ]]; then killed+=("$pid"); break; fi
          pid=$parent
        done
      done
      (( ${#killed[@]} == 0 )) || kill -KILL "${killed[@]}"
      echo "killed ${#killed[@]} ssh connection(s) of step $step"' _ "$step" ;;
  link-down) ip link set "$BRIDGE-$h" down; echo "link of $h down" ;;
  link-up) ip link set "$BRIDGE-$h" up; echo "link of $h up" ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
