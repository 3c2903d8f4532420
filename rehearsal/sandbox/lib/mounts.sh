# shellcheck shell=bash
# The per-host bind mounts: "<path on the host>|<directory under hosts/<name>/root>|owner|mode".
# up.sh creates the source directories with these owners; lib/hostinit.sh mounts them, reaching the
# sources through a descriptor of the host's directory (so the order does not matter, wherever it lies).
# shellcheck disable=SC2034
HOST_MOUNTS=(
  "/home|home|root:root|0755"
  "/root/.ssh|root-ssh|root:root|0700"
  "/etc/ssh|etc/ssh|root:root|0755"
  "/etc/nginx|etc/nginx|root:root|0755"
  "/etc/systemd/system|etc/systemd/system|root:root|0755"
  "/etc/pgbouncer|etc/pgbouncer|root:root|0755"
  "/etc/redis|etc/redis|redis:redis|2775"
  "/etc/postgresql|etc/postgresql|postgres:postgres|0755"
  "/etc/ssl/mastodon-sandbox|etc/ssl/mastodon-sandbox|root:root|0755"
  "/var/log|var/log|root:root|0755"
  "/var/lib/nginx|var/lib/nginx|root:root|0755"
  "/var/cache/nginx|var/cache/nginx|root:root|0755"
  "/var/lib/redis|var/lib/redis|redis:redis|0750"
  "/var/lib/postgresql|var/lib/postgresql|postgres:postgres|0755"
  "/var/lib/mastodon-migration|var/lib/mastodon-migration|root:root|0755"
  "/var/lib/elasticsearch|var/lib/elasticsearch|nobody:nogroup|0750"
  "/run/postgresql|run/postgresql|postgres:postgres|2775"
  "/run/sshd|run/sshd|root:root|0755"
  "/run/redis|run/redis|redis:redis|2775"
  "/run/nginx|run/nginx|root:root|0755"
  "/run/standin-systemd|run/standin-systemd|root:root|0755"
  "/usr/local/sbin|usr/local/sbin|root:root|0755"
  "/tmp|tmp|root:root|1777"
)
# Single files bound over the shared ones (created by up.sh).
HOST_FILE_MOUNTS=(
  "/etc/hosts|etc/hosts"
  "/etc/hostname|etc/hostname"
)
