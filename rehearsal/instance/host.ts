import { spawnSync } from "node:child_process";

/**
 * How the instance tools reach a host: an injected `run` that executes one bash command inside the
 * host (in the rehearsal `rehearsal/sandbox/host.sh <host> bash -c <cmd>`, in tests a local bash), and
 * a target description whose defaults are the real Mastodon locations.
 */

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs one bash command inside a host as root, with optional standard input. */
export type Run = (cmd: string, input?: Buffer | string) => RunResult;

export interface HostTarget {
    /** Database to create / inspect. Default `mastodon_production`. */
    dbName?: string;
    /** PostgreSQL role that owns the database and its objects. Default `mastodon`. */
    dbOwner?: string;
    /** Unix user that owns `liveDir` files. Default `mastodon`. */
    osUser?: string;
    /** Mastodon checkout. Default `/home/mastodon/live`. */
    liveDir?: string;
    /** psql -h (socket directory or host); unset = libpq default. */
    pgHost?: string;
    /** psql -p; unset = libpq default (5432). */
    pgPort?: number;
    /** Default `127.0.0.1`. */
    redisHost?: string;
    /** Default 6379. */
    redisPort?: number;
}

export type ResolvedTarget = Required<Omit<HostTarget, "pgHost" | "pgPort">> & Pick<HostTarget, "pgHost" | "pgPort">;

export function resolveTarget(t: HostTarget = {}): ResolvedTarget {
    return {
        dbName: t.dbName ?? "mastodon_production",
        dbOwner: t.dbOwner ?? "mastodon",
        osUser: t.osUser ?? "mastodon",
        liveDir: t.liveDir ?? "/home/mastodon/live",
        pgHost: t.pgHost,
        pgPort: t.pgPort,
        redisHost: t.redisHost ?? "127.0.0.1",
        redisPort: t.redisPort ?? 6379,
    };
}

/** Single-quotes a value for bash. */
export function shQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an SQL identifier. */
export function sqlIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** `psql` run as the postgres superuser against `db`, stopping on the first error. */
export function psqlAsPostgres(t: ResolvedTarget, db: string, extra = ""): string {
    const conn = [t.pgHost !== undefined ? `-h ${shQuote(t.pgHost)}` : "", t.pgPort !== undefined ? `-p ${t.pgPort}` : ""]
        .filter(Boolean)
        .join(" ");
    return `runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 ${conn} -d ${shQuote(db)} ${extra}`.replace(/ +/g, " ").trim();
}

export function redisCli(t: ResolvedTarget): string {
    return `redis-cli -h ${shQuote(t.redisHost)} -p ${t.redisPort}`;
}

/**
 * A `Run` that executes `prefix... bash -c <cmd>` locally, e.g. `execRun(["rehearsal/sandbox/host.sh", "source"])`
 * for a sandbox host or `execRun([])` for this machine. Input goes to the command's stdin.
 */
export function execRun(prefix: readonly string[]): Run {
    return (cmd, input) => {
        const argv = [...prefix, "bash", "-c", cmd];
        const r = spawnSync(argv[0] as string, argv.slice(1), { input, maxBuffer: 1 << 30 });
        const stderr = (r.stderr?.toString() ?? "") + (r.error ? String(r.error) : "");
        return { code: r.status ?? -1, stdout: r.stdout?.toString() ?? "", stderr };
    };
}

export class HostCommandError extends Error {
    constructor(step: string, result: RunResult) {
        const tail = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n");
        super(`${step} failed (exit ${result.code}): ${tail}`);
        this.name = "HostCommandError";
    }
}

/** Runs `cmd` and throws `HostCommandError` unless it exits 0. */
export function runChecked(run: Run, step: string, cmd: string, input?: Buffer | string): RunResult {
    const result = run(cmd, input);
    if (result.code !== 0) throw new HostCommandError(step, result);
    return result;
}
