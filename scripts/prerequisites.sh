#!/usr/bin/env bash
# Installs the Debian packages the tests and the rehearsal need, only when something is missing:
# sshd, PostgreSQL, Redis, nginx, rsync (the sandbox hosts' real daemons and tools), iproute2/util-linux
# (network and mount namespaces), shellcheck (the generated scripts are checked), git (the stand-in
# Mastodon checkout), sudo (steps run through sudo -n for non-root SSH users), age (the closing archive is
# encrypted with it), zip and jq (the stand-in Mastodon builds archives and Sidekiq jobs), inotify-tools
# (the media change journal on the source host), pgbouncer (a scenario's source server pools its connections
# through it, as Mastodon's pgbouncer guide sets it up). Idempotent and quiet when everything is there. Needs root.
set -euo pipefail
declare -A need=(
  [/usr/sbin/sshd]=openssh-server [/usr/bin/ssh]=openssh-client [/usr/bin/ssh-keygen]=openssh-client
  [/usr/bin/pg_createcluster]=postgresql [/usr/lib/postgresql/15/bin/initdb]=postgresql
  [/usr/bin/redis-server]=redis-server [/usr/bin/redis-cli]=redis-server [/usr/sbin/nginx]=nginx
  [/usr/bin/rsync]=rsync [/usr/bin/curl]=curl [/usr/sbin/ip]=iproute2 [/usr/bin/unshare]=util-linux
  [/usr/bin/nsenter]=util-linux [/usr/bin/setpriv]=util-linux [/usr/bin/pgrep]=procps
  [/usr/bin/openssl]=openssl [/usr/bin/age]=age [/usr/bin/age-keygen]=age [/usr/bin/zip]=zip [/usr/bin/jq]=jq [/usr/bin/inotifywait]=inotify-tools [/usr/bin/shellcheck]=shellcheck [/usr/bin/git]=git [/usr/bin/flock]=util-linux [/usr/bin/sudo]=sudo
  [/usr/sbin/pgbouncer]=pgbouncer
)
missing=()
for f in "${!need[@]}"; do [[ -x "$f" ]] || missing+=("${need[$f]}"); done
(( ${#missing[@]} )) || exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
