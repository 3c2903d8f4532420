#!/usr/bin/env bash
# Builds and starts the two rehearsal sandbox hosts, "source" (10.213.N.2) and "target" (10.213.N.3, N = $MMIG_SANDBOX, default 0), from
# scratch: each is a network namespace plus private mount/PID/UTS namespaces with its own sshd,
# PostgreSQL 15, Redis, nginx, stand-in systemctl/cloud-init and stand-in Mastodon checkout.
# Running it again tears everything down first (fresh hosts every time).
# Usage: up.sh [--domain D] [--target-db-role R]     (needs root; installs missing Debian packages)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib/mounts.sh
source "$here/lib/mounts.sh"

# Defaults are fixed (not the previous run's parameters): a plain up.sh is always the default sandbox.
domain=mastodon.rehearsal.test target_role=mastodon
while (( $# )); do
  case "$1" in
    --domain) domain="${2:?--domain needs a value}"; shift 2 ;;
    --domain=*) domain="${1#*=}"; shift ;;
    --target-db-role) target_role="${2:?--target-db-role needs a value}"; shift 2 ;;
    --target-db-role=*) target_role="${1#*=}"; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$domain" =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || { echo "up.sh: bad domain '$domain'" >&2; exit 2; }
[[ "$target_role" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "up.sh: bad role name '$target_role'" >&2; exit 2; }
(( EUID == 0 )) || { echo "up.sh: must run as root" >&2; exit 1; }
started=$SECONDS
log() { printf '[up %3ds] %s\n' "$(( SECONDS - started ))" "$*"; }

# --- 1. Debian packages (only when something is missing) ----------------------------------------
"$here/../../scripts/prerequisites.sh"
command -v node >/dev/null || { echo "up.sh: node is required (the stand-in Mastodon servers run on it)" >&2; exit 1; }

# --- 2. clean slate ------------------------------------------------------------------------------
"$here/down.sh" >/dev/null
mkdir -p "$SANDBOX_DIR/keys"
printf 'DOMAIN=%q\nTARGET_DB_ROLE=%q\n' "$domain" "$target_role" >"$SANDBOX_DIR/params.env"
export DOMAIN="$domain" TARGET_DB_ROLE="$target_role"

# The mastodon OS user (shared /etc/passwd; its home is per host because /home is bound).
if ! id mastodon >/dev/null 2>&1; then
  useradd --home-dir /home/mastodon --no-create-home --shell /bin/bash --user-group mastodon
fi
# An admin user with passwordless sudo, like `ubuntu` on Ubuntu's cloud images: the program's steps can
# run as a non-root SSH user (sudo -n). Exists only for the sandbox hosts (its home is per host).
if ! id admin >/dev/null 2>&1; then
  useradd --home-dir /home/admin --no-create-home --shell /bin/bash --user-group admin
fi
printf '# mastodon-migration rehearsal sandbox: the hosts'"'"' admin user\nadmin ALL=(ALL) NOPASSWD:ALL\n' \
  >/etc/sudoers.d/mastodon-migration-sandbox
chmod 440 /etc/sudoers.d/mastodon-migration-sandbox

# --- 3. keys, generated once and kept across runs -----------------------------------------------
keys="$SANDBOX_DIR/keys"
[[ -f "$ADMIN_KEY" ]] || ssh-keygen -q -t ed25519 -N '' -C "mastodon-migration sandbox admin" -f "$ADMIN_KEY"
for h in source target; do
  [[ -f "$keys/ssh_host_${h}_ed25519_key" ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "root@mastodon-$h" -f "$keys/ssh_host_${h}_ed25519_key"
done
{
  echo "$SOURCE_ADDR $(cut -d' ' -f1,2 "$keys/ssh_host_source_ed25519_key.pub")"
  echo "$TARGET_ADDR $(cut -d' ' -f1,2 "$keys/ssh_host_target_ed25519_key.pub")"
} >"$KNOWN_HOSTS"
tls="$keys/tls/$domain"
if [[ ! -f "$tls/fullchain.pem" ]]; then
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$domain" \
    -addext "subjectAltName=DNS:$domain" -keyout "$tls/privkey.pem" -out "$tls/fullchain.pem" 2>/dev/null
fi

# --- 4. the stand-in Mastodon checkout (git repo tagged v4.5.2), built once per run -------------
build="$SANDBOX_DIR/build"
rm -rf "$build"; mkdir -p "$build"
cp -a "$here/files/app" "$build/live"
git -C "$build/live" init -q -b main
git -C "$build/live" add -A
git -C "$build/live" -c user.name="Mastodon stand-in" -c user.email=standin@rehearsal.invalid \
  commit -q -m "Mastodon v$MASTODON_VERSION (stand-in of the mastodon-migration rehearsal sandbox)"
git -C "$build/live" -c user.name="Mastodon stand-in" -c user.email=standin@rehearsal.invalid \
  tag -a "v$MASTODON_VERSION" -m "v$MASTODON_VERSION (stand-in)"
mkdir -p "$build/live/log" "$build/live/public/system" "$build/live/tmp"
touch "$build/live/log/standin.log"; chmod 664 "$build/live/log/standin.log"

# --- 5. per-host file trees ----------------------------------------------------------------------
build_host() {  # build_host NAME
  local h="$1" hd="$SANDBOX_DIR/hosts/$1" r m src owner mode
  rm -rf "$hd"; mkdir -p "$hd/root"
  r="$hd/root"
  for m in "${HOST_MOUNTS[@]}"; do
    IFS='|' read -r _ src owner mode <<<"$m"
    mkdir -p "$r/$src"; chown "$owner" "$r/$src"; chmod "$mode" "$r/$src"
  done
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tmastodon-%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$h" >"$r/etc/hosts"
  echo "mastodon-$h" >"$r/etc/hostname"

  # sshd: own host key, admin key for root
  cp -a /etc/ssh/ssh_config /etc/ssh/moduli "$r/etc/ssh/"
  [[ -d /etc/ssh/ssh_config.d ]] && cp -a /etc/ssh/ssh_config.d "$r/etc/ssh/"
  mkdir -p "$r/etc/ssh/sshd_config.d"
  cp "$here/files/sshd_config" "$r/etc/ssh/sshd_config"
  install -m 600 "$keys/ssh_host_${h}_ed25519_key" "$r/etc/ssh/ssh_host_ed25519_key"
  install -m 644 "$keys/ssh_host_${h}_ed25519_key.pub" "$r/etc/ssh/ssh_host_ed25519_key.pub"
  install -m 600 "$ADMIN_PUBKEY" "$r/root-ssh/authorized_keys"
  install -d -o admin -g admin -m 700 "$r/home/admin" "$r/home/admin/.ssh"
  install -o admin -g admin -m 600 "$ADMIN_PUBKEY" "$r/home/admin/.ssh/authorized_keys"

  # nginx: the distribution's config with a per-host pid file and no default site
  cp -a /etc/nginx/. "$r/etc/nginx/"
  rm -f "$r/etc/nginx/sites-enabled/"*
  sed -i 's#^pid .*#pid /run/nginx/nginx.pid;#' "$r/etc/nginx/nginx.conf"
  install -d -o root -g adm -m 755 "$r/var/log/nginx"
  install -d -o redis -g redis -m 750 "$r/var/log/redis"
  install -d -o postgres -g postgres -m 1775 "$r/var/log/postgresql"
  install -d -o www-data -g root -m 700 "$r/var/cache/nginx"

  # redis
  install -o redis -g redis -m 640 "$here/files/redis.conf" "$r/etc/redis/redis.conf"

  # stand-in systemctl and cloud-init; builtin services enabled like the packages would do
  cp -a /usr/local/sbin/. "$r/usr/local/sbin/"
  install -m 755 "$here/files/sbin/systemctl" "$here/files/sbin/cloud-init" "$r/usr/local/sbin/"
  install -m 755 "$here/files/search-engine.js" "$r/usr/local/sbin/search-engine"
  # the stand-in search engine, installed on both hosts but not started (a scenario with ES_ENABLED starts it)
  install -m 644 "$here/files/units/elasticsearch.service" "$r/etc/systemd/system/elasticsearch.service"
  mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
  local u
  for u in postgresql redis-server nginx ssh; do
    ln -s "/lib/systemd/system/$u.service" "$r/etc/systemd/system/multi-user.target.wants/$u.service"
  done

  # the mastodon user's home: stand-in checkout and rbenv shim
  mkdir -p "$r/home/mastodon/.rbenv/shims"
  cp -a "$build/live" "$r/home/mastodon/live"
  install -m 755 "$here/files/bundle" "$r/home/mastodon/.rbenv/shims/bundle"
  chown -R mastodon:mastodon "$r/home/mastodon"
  chmod 711 "$r/home/mastodon"

  if [[ "$h" == source ]]; then
    # the running instance: Mastodon's site, certificate and units
    sed "s/@DOMAIN@/$domain/g" "$here/files/nginx-mastodon.conf" >"$r/etc/nginx/sites-available/mastodon"
    ln -s /etc/nginx/sites-available/mastodon "$r/etc/nginx/sites-enabled/mastodon"
    install -m 644 "$tls/fullchain.pem" "$r/etc/ssl/mastodon-sandbox/fullchain.pem"
    install -m 600 "$tls/privkey.pem" "$r/etc/ssl/mastodon-sandbox/privkey.pem"
    for u in mastodon-web mastodon-sidekiq mastodon-streaming; do
      install -m 644 "$here/files/units/$u.service" "$r/etc/systemd/system/$u.service"
      ln -s "/etc/systemd/system/$u.service" "$r/etc/systemd/system/multi-user.target.wants/$u.service"
    done
  fi
}
for h in source target; do build_host "$h"; done
log "host trees built under $SANDBOX_DIR/hosts"

# --- 6. network: bridge $BRIDGE + one veth per host ------------------------------------------------
ip link add "$BRIDGE" type bridge
ip addr add "$BRIDGE_ADDR/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for h in source target; do
  ns="$NETNS_PREFIX-$h"; addr="$SOURCE_ADDR"; [[ "$h" == target ]] && addr="$TARGET_ADDR"
  ip netns add "$ns"
  ip link add "$BRIDGE-$h" type veth peer name eth0 netns "$ns"
  ip link set "$BRIDGE-$h" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
done

# --- 7. host init processes (PID 1 of each host) -----------------------------------------------
declare -A launcher
for h in source target; do
  hd="$SANDBOX_DIR/hosts/$h"
  ( exec setsid ip netns exec "$NETNS_PREFIX-$h" unshare --mount --propagation private --pid --fork --mount-proc \
      --uts bash "$here/lib/hostinit.sh" "$h" "$hd" ) </dev/null >"$hd/init.log" 2>&1 &
  launcher[$h]=$!
done
for h in source target; do
  hd="$SANDBOX_DIR/hosts/$h"; n=100
  until [[ -f "$hd/init.ready" ]] && pid="$(pgrep -P "${launcher[$h]}")"; do
    if (( n-- <= 0 )) || ! kill -0 "${launcher[$h]}" 2>/dev/null; then
      echo "up.sh: host init of $h failed:" >&2; cat "$hd/init.log" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "$pid" >"$hd/init.pid"
done
log "host inits running (source pid $(cat "$SANDBOX_DIR/hosts/source/init.pid"), target pid $(cat "$SANDBOX_DIR/hosts/target/init.pid"))"

# --- 8. provision and start the daemons inside each host (both at once) -------------------------
declare -A prov
for h in source target; do
  role=mastodon; [[ "$h" == target ]] && role="$target_role"
  "$here/host.sh" "$h" bash -s -- "$h" "$role" <"$here/lib/provision.sh" >"$SANDBOX_DIR/hosts/$h/provision.log" 2>&1 &
  prov[$h]=$!
done
for h in source target; do
  wait "${prov[$h]}" || { echo "up.sh: provisioning $h failed:" >&2; cat "$SANDBOX_DIR/hosts/$h/provision.log" >&2; exit 1; }
done
log "daemons started"

# --- 9. wait for SSH with the admin key ---------------------------------------------------------
for addr in "$SOURCE_ADDR" "$TARGET_ADDR"; do
  n=100
  # shellcheck disable=SC2086
  until ssh $SSH_OPTS "root@$addr" true 2>/dev/null; do
    (( n-- > 0 )) || { echo "up.sh: no SSH on $addr" >&2; exit 1; }
    sleep 0.2
  done
done
log "both hosts answer SSH"

cat <<EOF
Sandbox up in $(( SECONDS - started ))s ($SANDBOX_DIR)
  source  root@$SOURCE_ADDR  netns $SOURCE_NETNS  PostgreSQL role mastodon, Redis, nginx with site $domain, Mastodon units
  target  root@$TARGET_ADDR  netns $TARGET_NETNS  PostgreSQL role $target_role, Redis, nginx without a Mastodon site
  ssh: ssh -i $ADMIN_KEY -o UserKnownHostsFile=$KNOWN_HOSTS root@$SOURCE_ADDR
  run as root on a host: $here/host.sh source|target <command...>
EOF
