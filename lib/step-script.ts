/**
 * Step scripts are bash files (`components/<component>/<step>.sh`, shellcheck-clean as files). TypeScript
 * only chooses the file and its inputs: a step's command is a header of `NAME=<quoted value>` lines, the
 * preamble (`lib/sh/preamble.sh`), the helper libraries it asks for, and the file itself.
 *
 * Each step file declares its inputs on a line `# inputs: NAME NAME ...`; rendering checks that exactly
 * those are given, so a script and its TypeScript caller cannot drift apart.
 * Scripts never print secrets: they move `.env.production` and keys server-to-server and print only
 * counts, sizes and checksums.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

/** A value a step script receives in its header. */
export type ShellValue = string | number | boolean | readonly string[];

/** Helper libraries in `lib/sh/` a step may ask for (the preamble is always included). */
export type ShellLibrary = "mastodon" | "postgres" | "database" | "journal" | "redis-target";

/** What a step runs: a script file and its inputs. Built by small pure functions in each component. */
export interface StepScript {
    /** Absolute path of the `.sh` file. */
    file: string;
    /** Inputs, by the names the file's `# inputs:` line declares (UPPER_CASE). */
    vars: Record<string, ShellValue>;
    /** Helper libraries the script uses besides the preamble. */
    libs?: ShellLibrary[];
}

/** Where the other server of a transfer is, as the server running the step reaches it. */
export interface PeerAddress {
    host: string;
    port: number;
    /** The SSH user on the peer; root, or a user with passwordless sudo. */
    user: string;
}

const SH_DIR = join(__dirname, "sh");
const REPO_ROOT = dirname(__dirname);

/** Quote a value for a POSIX shell (single quotes, with embedded quotes escaped). */
export function q(value: string | number): string {
    return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** `scriptsIn(__dirname, "database")("dump.sh", {...})`: a component's step scripts, by file name. */
export function scriptsIn(componentsDir: string, component: string) {
    return (file: string, vars: Record<string, ShellValue>, libs?: ShellLibrary[]): StepScript => ({
        file: join(componentsDir, component, file),
        vars,
        libs,
    });
}

const sources = new Map<string, string>();
/** A script file's text without its shebang line (read once). */
function source(file: string): string {
    let text = sources.get(file);
    if (text === undefined) {
        text = readFileSync(file, "utf8")
            .replace(/^#!.*\n/, "")
            .trim();
        sources.set(file, text);
    }
    return text;
}

/** The names a step file declares on its `# inputs:` line. */
export function declaredInputs(file: string): string[] {
    const line = source(file).match(/^# inputs:(.*)$/m);
    if (!line) throw new Error(`${file} has no "# inputs:" line`);
    return line[1].split(/\s+/).filter(Boolean);
}

/** One `NAME=value` header line. */
export function assignment(name: string, value: ShellValue): string {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`step input ${JSON.stringify(name)} must be UPPER_CASE`);
    if (Array.isArray(value)) return `${name}=(${value.map(v => q(v)).join(" ")})`;
    if (typeof value === "number" && !Number.isInteger(value)) throw new Error(`step input ${name} must be an integer, got ${value}`);
    return `${name}=${typeof value === "string" ? q(value) : String(value)}`;
}

/** Throw unless a script is given exactly the inputs its file declares. */
function checkInputs(script: StepScript): void {
    const given = Object.keys(script.vars).sort();
    const declared = declaredInputs(script.file).sort();
    if (given.join(" ") !== declared.join(" ")) {
        throw new Error(`${relative(REPO_ROOT, script.file)} declares inputs [${declared.join(" ")}] but was given [${given.join(" ")}]`);
    }
}

/** A script that runs on its own (no step preamble), such as cloud-init's: shebang, header, file. */
export function standaloneScript(script: StepScript): string {
    checkInputs(script);
    return [
        "#!/bin/bash",
        "set -euo pipefail",
        ...Object.entries(script.vars).map(([k, v]) => assignment(k, v)),
        source(script.file),
        "",
    ].join("\n");
}

/** The peer's inputs, which `lib/sh/peer.sh` reads. */
function peerVars(peer: PeerAddress): Record<string, ShellValue> {
    return { PEER_HOST: peer.host, PEER_PORT: peer.port, PEER_USER: peer.user };
}

/**
 * A complete step script: header, preamble, libraries (and the transfer helpers when the step has a
 * peer), then the step file. `name` is the step's stable name (also its lock name on the host).
 */
export function renderStep(a: { name: string; workDir: string; script: StepScript; peer?: PeerAddress }): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(a.name)) {
        throw new Error(`step name ${JSON.stringify(a.name)} must be lowercase letters, digits and dashes`);
    }
    checkInputs(a.script);
    const vars = { STEP: a.name, WORK: a.workDir, ...(a.peer ? peerVars(a.peer) : {}), ...a.script.vars };
    const libs = [...(a.script.libs ?? []).map(l => join(SH_DIR, `${l}.sh`)), ...(a.peer ? [join(SH_DIR, "peer.sh")] : [])];
    return [
        "set -euo pipefail",
        `# mastodon-migration step ${a.name}: ${relative(REPO_ROOT, a.script.file)}`,
        ...Object.entries(vars).map(([k, v]) => assignment(k, v)),
        source(join(SH_DIR, "preamble.sh")),
        ...libs.map(source),
        source(a.script.file),
        "",
    ].join("\n");
}

/**
 * The `update` of a frozen step (`lib/sh/keep.sh`): runs nothing again and prints the output the step kept
 * when it ran, so a changed script, connection or input of a step that already ran is recorded in state
 * without touching the server.
 */
export function renderKeep(a: { name: string; workDir: string }): string {
    return [
        "set -euo pipefail",
        `# mastodon-migration step ${a.name}: already ran; lib/sh/keep.sh`,
        assignment("STEP", a.name),
        assignment("WORK", a.workDir),
        source(join(SH_DIR, "keep.sh")),
        "",
    ].join("\n");
}

/**
 * The command string given to `command.remote.Command`: the SSH server runs it with the login user's
 * shell, so the script is passed to bash as one quoted argument, through `sudo -n` for non-root users.
 */
export function remoteCommand(script: string, sshUser: string): string {
    const bash = `bash -c ${q(script)}`;
    return sshUser === "root" ? bash : `sudo -n ${bash}`;
}

/** Marker printed as the last line of every step (by the preamble); `parseDuration` reads it back. */
export const DURATION_MARKER = "mastodon-migration step=";

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
