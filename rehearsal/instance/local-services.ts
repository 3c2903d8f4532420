/**
 * Throwaway PostgreSQL 15 cluster and redis-server on this machine (run as root), so the loader and
 * the fingerprint can be exercised without the sandbox. Used by the tests and by `measure.ts`.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostTarget, Run, execRun } from "./host";

export interface LocalServices {
    dir: string;
    target: HostTarget;
    /** Runs bash locally (as root) — the stand-in for `host.sh <host> bash -c`. */
    run: Run;
    stop(): Promise<void>;
}

export const localRun: Run = execRun([]);

function pgBin(name: string): string {
    for (const v of ["17", "16", "15"]) {
        const candidate = `/usr/lib/postgresql/${v}/bin/${name}`;
        if (spawnSync("test", ["-x", candidate]).status === 0) return candidate;
    }
    return name;
}

function must(step: string, cmd: string): void {
    const r = localRun(cmd);
    if (r.code !== 0) throw new Error(`${step} failed: ${r.stderr || r.stdout}`);
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

function postgresUid(): { uid: number; gid: number } {
    const out = spawnSync("id", ["-u", "postgres"]).stdout.toString().trim();
    const gid = spawnSync("id", ["-g", "postgres"]).stdout.toString().trim();
    if (!out) throw new Error("the postgres user does not exist (install the postgresql package)");
    return { uid: Number(out), gid: Number(gid) };
}

function startPostgres(dir: string, port: number, roles: string[]): void {
    const { uid, gid } = postgresUid();
    const data = join(dir, "pgdata");
    const sock = join(dir, "pgsock");
    mkdirSync(sock);
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
    must("initdb", `runuser -u postgres -- ${pgBin("initdb")} -D '${data}' --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null`);
    const opts = `-p ${port} -k ${sock} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    must("pg_ctl start", `runuser -u postgres -- ${pgBin("pg_ctl")} -D '${data}' -l '${dir}/pg.log' -o '${opts}' -w start >/dev/null`);
    for (const role of roles)
        must(
            `create role ${role}`,
            `runuser -u postgres -- psql -X -q -h '${sock}' -p ${port} -d postgres -c 'CREATE ROLE "${role}" LOGIN'`,
        );
}

async function startRedis(dir: string, port: number): Promise<ChildProcess> {
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
        stdio: "ignore",
    });
    for (let i = 0; i < 100; i++) {
        if (localRun(`redis-cli -h 127.0.0.1 -p ${port} PING`).stdout.trim() === "PONG") return child;
        await new Promise(r => setTimeout(r, 50));
    }
    child.kill();
    throw new Error("redis-server did not answer PING");
}

/** Starts both services in a fresh temp dir; `target` points the instance tools at them. */
export async function startLocalServices(opts: { pgPort?: number; osUser?: string } = {}): Promise<LocalServices> {
    const dir = mkdtempSync(join(tmpdir(), "instance-services-"));
    chmodSync(dir, 0o755);
    const pgPort = opts.pgPort ?? 55432;
    const redisPort = await freePort();
    let redis: ChildProcess;
    try {
        startPostgres(dir, pgPort, ["mastodon"]);
        redis = await startRedis(dir, redisPort);
    } catch (err) {
        localRun(`runuser -u postgres -- ${pgBin("pg_ctl")} -D '${join(dir, "pgdata")}' -m immediate -w stop`);
        rmSync(dir, { recursive: true, force: true });
        throw err;
    }
    const liveDir = join(dir, "live");
    const target: HostTarget = {
        pgHost: join(dir, "pgsock"),
        pgPort,
        redisHost: "127.0.0.1",
        redisPort,
        liveDir,
        osUser: opts.osUser ?? "postgres",
    };
    const stop = async (): Promise<void> => {
        localRun(`runuser -u postgres -- ${pgBin("pg_ctl")} -D '${join(dir, "pgdata")}' -m immediate -w stop`);
        if (redis.exitCode === null) {
            const exited = new Promise(r => redis.once("exit", r));
            redis.kill("SIGTERM");
            await exited;
        }
        rmSync(dir, { recursive: true, force: true });
    };
    return { dir, target, run: localRun, stop };
}
