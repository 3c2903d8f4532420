#!/usr/bin/env bash
# Host init: runs as PID 1 of a sandbox host's own mount/PID/UTS namespaces (inside its netns).
# Bind-mounts the host's private directories over the standard paths, sets the hostname,
# then becomes a zombie reaper that lives until down.sh kills it. Daemons are started later
# by up.sh through host.sh (nsenter into this process's namespaces).
set -euo pipefail
name="$1" hostdir="$2"
# shellcheck source=lib/mounts.sh
source "$(dirname "$0")/mounts.sh"

mount --make-rprivate /
# The host's directory is held open and every source (and init.ready) is reached through that descriptor,
# never by its path: $hostdir lies wherever the checkout or $REHEARSAL_DIR does (/tmp, /home, /var/...),
# and a path under a directory these mounts cover would be hidden by the first mount over it (a clone
# under /tmp lost /etc/hosts). /proc/$$ is this shell's own (PID 1 of the host, --mount-proc).
exec {tree_fd}<"$hostdir"
tree="/proc/$$/fd/$tree_fd"
for m in "${HOST_MOUNTS[@]}"; do
  IFS='|' read -r dest src _ _ <<<"$m"
  mkdir -p "$dest"
  mount --no-canonicalize --bind "$tree/root/$src" "$dest"
done
for m in "${HOST_FILE_MOUNTS[@]}"; do
  IFS='|' read -r dest src <<<"$m"
  mount --no-canonicalize --bind "$tree/root/$src" "$dest"
done
hostname "mastodon-$name"
echo "host init for $name: mounts done" >&2
touch "$tree/init.ready"
exec {tree_fd}<&-

# PID 1 duties: reap every orphan (stopped daemons must disappear, not linger as zombies).
exec perl -e 'use POSIX ":sys_wait_h"; while (1) { my $p = waitpid(-1, 0); sleep 1 if $p <= 0; }'
