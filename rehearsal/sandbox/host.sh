#!/usr/bin/env bash
# Runs a command as root inside a sandbox host's namespaces (network, mount, PID, UTS), with a clean
# login-like environment and cwd /root; stdin/stdout/stderr pass through, the exit status is kept.
# Usage: host.sh <source|target> <command> [args...]     e.g. host.sh source bash -c 'redis-cli ping'
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
h="${1:-}"; shift || true
if [[ "$h" != source && "$h" != target ]] || (( $# == 0 )); then
  echo "usage: host.sh <source|target> <command> [args...]" >&2; exit 2
fi
pid="$(cat "$SANDBOX_DIR/hosts/$h/init.pid" 2>/dev/null || true)"
if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
  echo "host.sh: host $h is not running (run up.sh)" >&2; exit 125
fi
exec nsenter -t "$pid" -n -m -p -u --wd=/root -- env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
