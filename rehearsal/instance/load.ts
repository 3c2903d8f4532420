/**
 * Seeds a host with a generated instance through an injected `run` (bash inside the host, as root).
 * Secrets travel only on standard input, never in a command line or in anything printed.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { InstanceBundle } from "./generate";
import { HostTarget, ResolvedTarget, Run, psqlAsPostgres, redisCli, resolveTarget, runChecked, shQuote, sqlIdent } from "./host";

export interface LoadOptions extends HostTarget {
    /** Drop an existing database of the same name first (default false: fail if it exists). */
    replaceDatabase?: boolean;
}

export interface LoadReport {
    /** Milliseconds per step. */
    timings: Record<"database" | "sql" | "media" | "redis" | "env", number>;
    redisReplies: number;
}

function timed<T>(timings: Record<string, number>, step: string, fn: () => T): T {
    const start = Date.now();
    const value = fn();
    timings[step] = Date.now() - start;
    return value;
}

function sqlLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

function createDatabase(run: Run, t: ResolvedTarget, replace: boolean): void {
    const sql = [
        `SELECT 1 / count(*) FROM pg_roles WHERE rolname = ${sqlLiteral(t.dbOwner)};`,
        replace ? `DROP DATABASE IF EXISTS ${sqlIdent(t.dbName)} WITH (FORCE);` : "",
        `CREATE DATABASE ${sqlIdent(t.dbName)} OWNER ${sqlIdent(t.dbOwner)} TEMPLATE template0 ENCODING 'UTF8';`,
    ].join("\n");
    runChecked(run, `create database ${t.dbName} (role ${t.dbOwner} must exist)`, psqlAsPostgres(t, "postgres", "-f -"), sql);
}

/** Schema, COPY data and constraints in one transaction, as the owner role so it owns every object. */
function loadSql(run: Run, t: ResolvedTarget, bundle: InstanceBundle): void {
    const input = Buffer.concat([
        Buffer.from(`SET ROLE ${sqlIdent(t.dbOwner)};\n`),
        readFileSync(bundle.paths.schemaSql),
        readFileSync(bundle.paths.dataSql),
        readFileSync(bundle.paths.constraintsSql),
        Buffer.from(
            "\nREFRESH MATERIALIZED VIEW public.instances;\nREFRESH MATERIALIZED VIEW public.account_summaries;\nREFRESH MATERIALIZED VIEW public.global_follow_recommendations;\nANALYZE;\n",
        ),
    ]);
    runChecked(run, "load schema and data", psqlAsPostgres(t, t.dbName, "--single-transaction -f -"), input);
}

/** Streams the local `public/system` tree as a tar archive into `<liveDir>/public/system`. */
function loadMedia(run: Run, t: ResolvedTarget, bundle: InstanceBundle): void {
    const tar = spawnSync("tar", ["-C", bundle.paths.publicDir, "--format=gnu", "-cf", "-", "system"], { maxBuffer: 4 << 30 });
    if (tar.status !== 0) throw new Error(`tar of ${bundle.paths.publicDir} failed: ${tar.stderr.toString()}`);
    const pub = `${t.liveDir}/public`;
    const cmd = [
        "set -euo pipefail",
        `mkdir -p ${shQuote(pub)}`,
        `tar --no-same-owner -x -C ${shQuote(pub)}`,
        `chown ${shQuote(`${t.osUser}:`)} ${shQuote(t.liveDir)} ${shQuote(pub)}`,
        `chown -R ${shQuote(`${t.osUser}:`)} ${shQuote(`${pub}/system`)}`,
    ].join("\n");
    runChecked(run, "copy media tree", cmd, tar.stdout);
}

/** Pipes the RESP file through `redis-cli --pipe`; returns the number of replies. */
function loadRedis(run: Run, t: ResolvedTarget, bundle: InstanceBundle): number {
    const result = runChecked(run, "load redis", `${redisCli(t)} --pipe`, readFileSync(bundle.paths.redisResp));
    const match = /errors:\s*(\d+),\s*replies:\s*(\d+)/.exec(result.stdout);
    if (!match || match[1] !== "0") throw new Error(`redis-cli --pipe reported errors: ${result.stdout.trim()}`);
    return Number(match[2]);
}

/** Installs `.env.production` mode 600, owned by the Mastodon user; contents go through stdin only. */
function installEnv(run: Run, t: ResolvedTarget, bundle: InstanceBundle): void {
    const file = `${t.liveDir}/.env.production`;
    const cmd = [
        "set -euo pipefail",
        "umask 077",
        `mkdir -p ${shQuote(t.liveDir)}`,
        `cat > ${shQuote(`${file}.tmp`)}`,
        `chown ${shQuote(`${t.osUser}:`)} ${shQuote(`${file}.tmp`)}`,
        `chmod 600 ${shQuote(`${file}.tmp`)}`,
        `mv -f ${shQuote(`${file}.tmp`)} ${shQuote(file)}`,
    ].join("\n");
    const result = run(cmd, readFileSync(bundle.paths.envFile));
    // Deliberately no stdout/stderr in the message: nothing about the file's contents may reach a log.
    if (result.code !== 0) throw new Error(`install .env.production failed (exit ${result.code})`);
}

/** Seeds PostgreSQL, the media tree, Redis and `.env.production` on one host. */
export function loadInstance(bundle: InstanceBundle, run: Run, opts: LoadOptions = {}): LoadReport {
    const t = resolveTarget(opts);
    const timings: Record<string, number> = {};
    timed(timings, "database", () => createDatabase(run, t, opts.replaceDatabase ?? false));
    timed(timings, "sql", () => loadSql(run, t, bundle));
    timed(timings, "media", () => loadMedia(run, t, bundle));
    const redisReplies = timed(timings, "redis", () => loadRedis(run, t, bundle));
    timed(timings, "env", () => installEnv(run, t, bundle));
    return { timings: timings as LoadReport["timings"], redisReplies };
}

/** `SELECT count(*) FROM backups WHERE NOT processed` — the pending user archives (seed 002). */
export function countPendingBackups(run: Run, opts: HostTarget = {}): number {
    const t = resolveTarget(opts);
    const result = runChecked(
        run,
        "count pending backups",
        psqlAsPostgres(t, t.dbName, "-At -c 'SELECT count(*) FROM public.backups WHERE NOT processed'"),
    );
    const n = Number(result.stdout.trim());
    if (!Number.isInteger(n)) throw new Error(`unexpected pending backups output: ${result.stdout.trim()}`);
    return n;
}
