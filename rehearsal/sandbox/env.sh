# shellcheck shell=bash
# Sourced by the sandbox scripts (and usable by people): where the two rehearsal hosts live and how to reach them.
# Every value can be overridden from the environment before sourcing.

SANDBOX_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SANDBOX_SRC/../.." && pwd)"

export SANDBOX_SRC REPO_ROOT
export SANDBOX_DIR="${REHEARSAL_DIR:-$REPO_ROOT/.rehearsal/sandbox}"

# Network: bridge in the root namespace, one netns per host.
export BRIDGE=mmig0
export BRIDGE_ADDR=10.213.0.1
export SOURCE_NETNS=mmig-source
export TARGET_NETNS=mmig-target
export SOURCE_ADDR=10.213.0.2
export TARGET_ADDR=10.213.0.3

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
