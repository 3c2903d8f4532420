/**
 * Pure helpers that turn a step's body into the shell a `command.remote.Command` runs.
 *
 * Every step script gets the same preamble:
 *  - `set -euo pipefail`, a name, and a work directory of its own on the host;
 *  - an exclusive lock per step, so a re-run after a dropped connection waits for the orphaned run to end
 *    instead of racing it (a failed create is re-run from the start by the next `pulumi up`);
 *  - a heartbeat line every 20 s, so long silent steps show progress in the `pulumi up` log and idle
 *    SSH connections are kept busy;
 *  - a last line `mastodon-migration step=<name> seconds=<n>` from which components read durations.
 * Scripts never print secrets: they move `.env.production` and keys server-to-server and print only
 * counts, sizes and checksums.
 */

/** Quote a value for a POSIX shell (single quotes, with embedded quotes escaped). */
export function q(value: string | number): string {
    return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** Where and as whom a step runs, as far as the shell is concerned. */
export interface ShellHost {
    /** SSH user the connection logs in as; steps escalate with `sudo -n` when it is not root. */
    sshUser: string;
    /** Directory of our own on the host for dumps, keys, locks and markers. */
    workDir: string;
}

/** Marker printed as the last line of every step; `parseDuration` reads it back. */
export const DURATION_MARKER = "mastodon-migration step=";

/**
 * Shell functions every step may use.
 * `as_user U cmd...` runs a command as U with U's home and rbenv shims on PATH, like Mastodon's units do.
 */
const PRELUDE = `
log() { printf '[%s] %s: %s\\n' "$(date -u +%H:%M:%S)" "$STEP" "$*"; }
die() { printf '[%s] %s: ERROR: %s\\n' "$(date -u +%H:%M:%S)" "$STEP" "$*" >&2; exit 1; }
as_user() {
  local user=$1; shift
  local home
  home=$(getent passwd "$user" | cut -d: -f6) || die "no user $user on $(hostname)"
  # From /, which every user can enter (the caller's directory may be root's home).
  ( cd / && runuser -u "$user" -- env HOME="$home" PATH="$home/.rbenv/shims:$home/.rbenv/bin:/usr/local/bin:/usr/bin:/bin" "$@" )
}
psql_admin() { as_user postgres psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }
db_exists() { [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }
db_tables() { psql_admin -d "$1" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"; }
# 711: other users may reach files they are given (the dump, for postgres) but cannot list them.
mkdir -p "$WORK" && chmod 711 "$WORK"
# The step's lock is fd 9. Services a step starts must not inherit it (\`systemctl 9>&-\`), or they would
# hold it for their whole life; children that are part of the step (pg_restore, rsync) keep it on purpose.
exec 9>"$WORK/$STEP.lock"
if ! flock -n 9; then
  log "waiting for an earlier run of this step to finish (lock $WORK/$STEP.lock)"
  flock -w 21600 9 || die "an earlier run still holds $WORK/$STEP.lock after 6 h"
fi
STARTED=$(date +%s)
HEARTBEAT=
# heartbeat ['shell snippet']: a progress line every 20 s, with the snippet's output when given.
heartbeat() {
  [ -z "$HEARTBEAT" ] || kill "$HEARTBEAT" 2>/dev/null || true
  # The sleep is killed with the loop: a surviving child would hold stdout, and the SSH channel, open.
  ( trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 20 & nap=$!; wait "$nap"
      log "still running ($(( $(date +%s) - STARTED ))s)\${1:+: $(eval "$1" 2>/dev/null)}"
    done ) 2>/dev/null &
  HEARTBEAT=$!
}
heartbeat ''
finish() {
  local status=$?
  [ -z "$HEARTBEAT" ] || kill "$HEARTBEAT" 2>/dev/null || true
  if [ "$status" -eq 0 ]; then echo "${DURATION_MARKER}$STEP seconds=$(( $(date +%s) - STARTED ))"; fi
  exit "$status"
}
trap finish EXIT
`;

/**
 * A complete step script: preamble plus body. `name` is the step's stable name (also its lock name);
 * `body` is bash that may use `log`, `die`, `as_user`, `psql_admin`, `db_exists`, `db_tables`, `heartbeat`,
 * `$WORK` and `$STEP`.
 */
export function stepScript(name: string, host: ShellHost, body: string): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
        throw new Error(`step name ${JSON.stringify(name)} must be lowercase letters, digits and dashes`);
    }
    return [
        "set -euo pipefail",
        `# mastodon-migration step: ${name}`,
        `STEP=${q(name)}`,
        `WORK=${q(host.workDir)}`,
        PRELUDE.trim(),
        body.trim(),
        "",
    ].join("\n");
}

/**
 * The command string given to `command.remote.Command`: the SSH server runs it with the login user's
 * shell, so the script is passed to bash as one quoted argument, through `sudo -n` for non-root users.
 */
export function remoteCommand(script: string, host: ShellHost): string {
    const bash = `bash -c ${q(script)}`;
    return host.sshUser === "root" ? bash : `sudo -n ${bash}`;
}

/** Read the duration a step printed (seconds), or undefined when the marker is absent. */
export function parseDuration(stdout: string | undefined): number | undefined {
    if (!stdout) return undefined;
    const lines = stdout.trimEnd().split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
        const m = lines[i].startsWith(DURATION_MARKER) ? lines[i].slice(DURATION_MARKER.length).match(/^\S+ seconds=(\d+)$/) : null;
        if (m) return Number(m[1]);
    }
    return undefined;
}

/** The JSON after `<tag> ` on the first line of a step's output that starts with it. */
export function taggedJson<T>(stdout: string, tag: string, what: string): T {
    const line = stdout.split("\n").find(l => l.startsWith(`${tag} `));
    if (!line) throw new Error(`${what} printed no ${tag} line`);
    return JSON.parse(line.slice(tag.length + 1)) as T;
}

/** Where the other server is, as seen from the server that runs a transfer, and how to log in. */
export interface PeerSsh {
    host: string;
    port: number;
    user: string;
    /** Private key file on the server that runs the transfer (the migration key; never leaves it). */
    keyFile: string;
    /** known_hosts file of our own, so the admin's files are not touched. */
    knownHostsFile: string;
}

/** `ssh` invocation (without the destination) for server-to-server transfers, each word shell-quoted. */
export function sshCommand(peer: PeerSsh): string {
    return [
        "ssh",
        "-i", q(peer.keyFile),
        "-p", String(peer.port),
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", q(`UserKnownHostsFile=${peer.knownHostsFile}`),
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=8",
        "-o", "ConnectTimeout=20",
    ].join(" ");
}

/** `user@host` destination for ssh/rsync. */
export function sshDestination(peer: PeerSsh): string {
    return `${peer.user}@${peer.host}`;
}

/** Prefix that makes a command run as root on the peer. */
export function peerRoot(peer: PeerSsh): string {
    return peer.user === "root" ? "" : "sudo -n ";
}

/**
 * Shell that runs `remoteScript` on the peer as root: `ssh ... dest 'bash -s' <<'EOF' ... EOF`.
 * The heredoc delimiter is quoted, so nothing in the remote script is expanded locally; values must be
 * baked into `remoteScript` with `q()` beforehand.
 */
export function onPeer(peer: PeerSsh, remoteScript: string): string {
    const delimiter = "MASTODON_MIGRATION_PEER_EOF";
    if (remoteScript.includes(delimiter)) throw new Error("peer script contains the heredoc delimiter");
    return [
        `"\${SSH_PEER[@]}" "$PEER" ${q(`${peerRoot(peer)}bash -s`)} <<'${delimiter}'`,
        "set -euo pipefail",
        remoteScript.trim(),
        delimiter,
    ].join("\n");
}

/**
 * Lines that define, inside a step script: `SSH_PEER` (array: the ssh command), `PEER` (user@host),
 * `RSYNC_SSH` (the same ssh command as one string for `rsync -e`, which parses quotes itself) and
 * `RSYNC_PEER` (the rsync to run on the peer, through sudo for non-root users).
 */
export function peerSetup(peer: PeerSsh): string {
    return [
        `[ -r ${q(peer.keyFile)} ] || die "migration key ${peer.keyFile} is missing: run the prepare phase first"`,
        `PEER=${q(sshDestination(peer))}`,
        "# shellcheck disable=SC2034 # a step uses ssh, rsync or both",
        `{ SSH_PEER=(${sshCommand(peer)}); RSYNC_SSH=${q(sshCommand(peer))}; RSYNC_PEER=${q(`${peerRoot(peer)}rsync`)}; }`,
    ].join("\n");
}
