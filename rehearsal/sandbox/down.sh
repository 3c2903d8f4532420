#!/usr/bin/env bash
# Tears the sandbox down: kills every process of both hosts (their init, i.e. PID 1 of each host's
# PID namespace, and anything else in the network namespaces), then removes the netns, veths and
# the bridge. Host files stay under $SANDBOX_DIR/hosts until the next up.sh. Safe when nothing exists.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

# A process counts until it is gone or a zombie (zombies hold no namespace and no port).
running() { local st; st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1; st="${st##*) }"; [[ "${st:0:1}" != Z ]]; }

for h in source target; do
  ns="$NETNS_PREFIX-$h" pidfile="$SANDBOX_DIR/hosts/$h/init.pid"
  pids=()
  if [[ -f "$pidfile" ]]; then pids+=("$(cat "$pidfile")"); fi
  if ip netns list 2>/dev/null | grep -qw "$ns"; then mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null); fi
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for p in "${pids[@]}"; do if running "$p"; then alive=1; fi; done
    if ip netns list 2>/dev/null | grep -qw "$ns" && [[ -n "$(ip netns pids "$ns" 2>/dev/null)" ]]; then alive=1; fi
    (( alive )) || break
    sleep 0.1
  done
  rm -f "$pidfile" "$SANDBOX_DIR/hosts/$h/init.ready"
  ip link del "$BRIDGE-$h" 2>/dev/null || true
  if ip netns list 2>/dev/null | grep -qw "$ns"; then ip netns del "$ns"; fi
done
ip link del "$BRIDGE" 2>/dev/null || true
echo "sandbox down"
