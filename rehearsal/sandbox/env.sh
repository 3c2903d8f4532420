# shellcheck shell=bash
# Sourced by the sandbox scripts (and usable by people): where the two rehearsal hosts live and how to reach them.
# Every value can be overridden from the environment before sourcing.

SANDBOX_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SANDBOX_SRC/../.." && pwd)"

export SANDBOX_SRC REPO_ROOT
export SANDBOX_DIR="${REHEARSAL_DIR:-$REPO_ROOT/.rehearsal/sandbox}"

# Network: bridge in the root namespace, one netns per host. MMIG_SANDBOX (0-9, default 0) picks a sandbox
# of its own (bridge mmig<N>, namespaces mmig<N>-source/-target, subnet 10.213.<N>.0/24), so several
# checkouts can rehearse at once; 0 keeps the names mmig0, mmig-source and mmig-target.
export SANDBOX_ID="${MMIG_SANDBOX:-0}"
[[ "$SANDBOX_ID" =~ ^[0-9]$ ]] || { echo "MMIG_SANDBOX must be a digit 0-9, got '$SANDBOX_ID'" >&2; exit 2; }
NETNS_PREFIX=mmig
[[ "$SANDBOX_ID" == 0 ]] || NETNS_PREFIX="mmig$SANDBOX_ID"
export NETNS_PREFIX
export BRIDGE="mmig$SANDBOX_ID"
export BRIDGE_ADDR="10.213.$SANDBOX_ID.1"
export SOURCE_NETNS="$NETNS_PREFIX-source"
export TARGET_NETNS="$NETNS_PREFIX-target"
export SOURCE_ADDR="10.213.$SANDBOX_ID.2"
export TARGET_ADDR="10.213.$SANDBOX_ID.3"

# SSH access as root with the sandbox admin key (generated once, kept across runs).
export ADMIN_KEY="$SANDBOX_DIR/keys/admin_ed25519"
export ADMIN_PUBKEY="$ADMIN_KEY.pub"
export KNOWN_HOSTS="$SANDBOX_DIR/keys/known_hosts"
export SSH_OPTS="-i $ADMIN_KEY -o UserKnownHostsFile=$KNOWN_HOSTS -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5"

# Instance parameters; up.sh records the ones it was given in $SANDBOX_DIR/params.env.
if [[ -r "$SANDBOX_DIR/params.env" ]]; then
  # shellcheck disable=SC1091
  source "$SANDBOX_DIR/params.env"
fi
export DOMAIN="${DOMAIN:-mastodon.rehearsal.test}"
export TARGET_DB_ROLE="${TARGET_DB_ROLE:-mastodon}"
export MASTODON_VERSION=4.5.2
export LIVE_DIR=/home/mastodon/live
