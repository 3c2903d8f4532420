/**
 * TypeScript access to the rehearsal sandbox (two namespace hosts, "source" and "target", built by
 * rehearsal/sandbox/up.sh). Everything here shells out to the sandbox scripts and needs root.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export type HostName = "source" | "target";

export const SANDBOX_SRC = __dirname;
export const REPO_ROOT = resolve(SANDBOX_SRC, "..", "..");
/** Where the hosts' files, keys and logs live (`$REHEARSAL_DIR`, default `<repo>/.rehearsal/sandbox`). */
export const SANDBOX_DIR = process.env.REHEARSAL_DIR ?? join(REPO_ROOT, ".rehearsal", "sandbox");

/** Which sandbox (`MMIG_SANDBOX`, 0-9, default 0): several checkouts can rehearse at once (see env.sh). */
export const SANDBOX_ID = Number(process.env.MMIG_SANDBOX ?? "0");
if (!/^[0-9]$/.test(String(SANDBOX_ID))) throw new Error(`MMIG_SANDBOX must be a digit 0-9, got ${process.env.MMIG_SANDBOX}`);
/** The sandbox's subnet, `10.213.<id>`. */
export const SUBNET = `10.213.${SANDBOX_ID}`;
export const BRIDGE_ADDR = `${SUBNET}.1`;
export const SOURCE_ADDR = `${SUBNET}.2`;
export const TARGET_ADDR = `${SUBNET}.3`;
export const HOST_ADDR: Record<HostName, string> = { source: SOURCE_ADDR, target: TARGET_ADDR };
/** The sandbox's bridge in the root namespace, `mmig<id>` (env.sh's BRIDGE). */
export const BRIDGE = `mmig${SANDBOX_ID}`;
/** The hosts' network namespaces, `mmig-source`/`mmig-target` for sandbox 0, else `mmig<id>-...` (env.sh's). */
export const NETNS_PREFIX = SANDBOX_ID === 0 ? "mmig" : `mmig${SANDBOX_ID}`;
export const HOST_NETNS: Record<HostName, string> = { source: `${NETNS_PREFIX}-source`, target: `${NETNS_PREFIX}-target` };
export const SSH_PORT = 22;
export const SSH_USER = "root";

/** Sandbox admin key (root on both hosts), generated once by up.sh. */
export const ADMIN_KEY = join(SANDBOX_DIR, "keys", "admin_ed25519");
export const ADMIN_PUBKEY = `${ADMIN_KEY}.pub`;
/** known_hosts with both hosts' ed25519 keys (`10.213.0.2 ssh-ed25519 ...`). */
export const KNOWN_HOSTS = join(SANDBOX_DIR, "keys", "known_hosts");

export const DEFAULT_DOMAIN = "mastodon.rehearsal.test";
export const DEFAULT_TARGET_DB_ROLE = "mastodon";
export const MASTODON_VERSION = "4.5.2";
export const LIVE_DIR = "/home/mastodon/live";

export interface SandboxOptions {
    /** Instance domain (nginx server_name, certificate). Default `mastodon.rehearsal.test`. */
    domain?: string;
    /** PostgreSQL role for the mastodon OS user on the target host. Default `mastodon`. */
    targetDbRole?: string;
}

export interface HostResult {
    code: number;
    stdout: string;
    stderr: string;
}

const script = (name: string) => join(SANDBOX_SRC, name);

function run(args: string[], input?: string | Buffer, timeoutMs = 600_000): HostResult {
    const r = spawnSync("bash", args, {
        input,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        timeout: timeoutMs,
        env: process.env,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? 128 + 9, stdout: r.stdout, stderr: r.stderr };
}

/** Builds both hosts from scratch (tearing down any previous sandbox). Throws when up.sh fails. */
export function sandboxUp(opts: SandboxOptions = {}): { seconds: number; output: string } {
    const args = [script("up.sh")];
    if (opts.domain) args.push("--domain", opts.domain);
    if (opts.targetDbRole) args.push("--target-db-role", opts.targetDbRole);
    const started = Date.now();
    const r = run(args);
    if (r.code !== 0) throw new Error(`sandbox up.sh failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return { seconds: (Date.now() - started) / 1000, output: r.stdout };
}

/** Kills every process of both hosts and removes their namespaces and network. Safe to repeat. */
export function sandboxDown(): void {
    const r = run([script("down.sh")]);
    if (r.code !== 0) throw new Error(`sandbox down.sh failed (exit ${r.code}):\n${r.stderr}`);
}

/** Runs `bash -c cmd` as root inside a host (its own /home, localhost, PostgreSQL, Redis, ...). */
export function onHost(host: HostName, cmd: string, input?: string | Buffer): HostResult {
    return run([script("host.sh"), host, "bash", "-c", cmd], input);
}

/** Same as onHost, throwing with the output when the command exits non-zero. */
export function onHostChecked(host: HostName, cmd: string, input?: string | Buffer): string {
    const r = onHost(host, cmd, input);
    if (r.code !== 0) throw new Error(`on ${host}: \`${cmd}\` exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** Fault: drops every SSH connection of a host (its sshd keeps listening for new ones). */
export function killSshSessions(host: HostName): HostResult {
    return run([script("fault.sh"), host, "kill-ssh"]);
}

/** Fault: takes a host's network link down (`false`) or back up (`true`). */
export function setLink(host: HostName, up: boolean): HostResult {
    return run([script("fault.sh"), host, up ? "link-up" : "link-down"]);
}

/** `ssh` command-line options for reaching a host as root with the admin key. */
export function sshArgs(host: HostName): string[] {
    return sshArgsFor(join(SANDBOX_DIR, "keys"), HOST_ADDR[host]);
}

/** `ssh` options for `root@address` with the admin key and known_hosts in `keysDir` (a sandbox's `keys/`). */
export function sshArgsFor(keysDir: string, address: string): string[] {
    return [
        "-i",
        join(keysDir, "admin_ed25519"),
        "-o",
        `UserKnownHostsFile=${join(keysDir, "known_hosts")}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        `${SSH_USER}@${address}`,
    ];
}

/** The parameters the current sandbox was built with (from `$SANDBOX_DIR/params.env`). */
export function sandboxParams(): Required<SandboxOptions> {
    const file = join(SANDBOX_DIR, "params.env");
    const params: Required<SandboxOptions> = { domain: DEFAULT_DOMAIN, targetDbRole: DEFAULT_TARGET_DB_ROLE };
    if (!existsSync(file)) return params;
    for (const line of readFileSync(file, "utf8").split("\n")) {
        const m = line.match(/^(DOMAIN|TARGET_DB_ROLE)=(.*)$/);
        if (!m) continue;
        const value = m[2].replace(/^'(.*)'$/, "$1");
        if (m[1] === "DOMAIN") params.domain = value;
        else params.targetDbRole = value;
    }
    return params;
}

/** True when a process exists and is not a zombie. */
export function pidRunning(pid: number | string): boolean {
    try {
        const stat = readFileSync(`/proc/${String(pid).trim()}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

/** True when both hosts' init processes are alive. */
export function sandboxRunning(): boolean {
    return (["source", "target"] as const).every(h => {
        const file = join(SANDBOX_DIR, "hosts", h, "init.pid");
        return existsSync(file) && pidRunning(readFileSync(file, "utf8"));
    });
}

/** Shell for a host: wait up to 10 s until the stand-in search engine (unit elasticsearch) answers on 127.0.0.1:9200. */
export const SEARCH_ENGINE_UP =
    "for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9200/ && exit 0; sleep 0.1; done; echo 'the stand-in search engine does not answer' >&2; exit 1";
