/**
 * Step helpers and step scripts run for real on this machine (no sandbox): bash functions of `lib/sh/` and
 * parts of the step files, against temporary directories and, where a service is needed, a throwaway
 * PostgreSQL cluster or redis-server (`rehearsal/instance/local-services.ts`).
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, LocalServices, startLocalServices } from "../../rehearsal/instance/local-services";

const root = join(__dirname, "..", "..");
const lib = (name: string) => join(root, "lib", "sh", `${name}.sh`);

/** Run bash with the given helper libraries sourced (and a `die` that prints and exits 1). */
export function bashWith(libs: string[], script: string, env: Record<string, string> = {}) {
    const prologue = ['die() { echo "ERROR: $*" >&2; exit 1; }', 'log() { echo "$*"; }', ...libs.map(l => `source '${lib(l)}'`)].join("\n");
    return spawnSync("bash", ["-c", `set -euo pipefail\n${prologue}\n${script}`], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("media_stats (verify and preflight)", () => {
    it("counts the files behind a symlinked public/system (a block volume), not 0", () => {
        const dir = mkdtempSync(join(tmpdir(), "mm-media-"));
        const volume = join(dir, "volume", "system");
        mkdirSync(join(volume, "media_attachments", "files"), { recursive: true });
        writeFileSync(join(volume, "media_attachments", "files", "a.png"), "12345");
        writeFileSync(join(volume, "media_attachments", "files", "b c.jpg"), "123");
        writeFileSync(join(volume, "x"), "1");
        mkdirSync(join(dir, "live", "public"), { recursive: true });
        symlinkSync(volume, join(dir, "live", "public", "system"));
        const r = bashWith(["mastodon"], `media_stats '${join(dir, "live")}'`);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("3 9\n");
        // No media directory at all: zero, not an error.
        expect(bashWith(["mastodon"], `media_stats '${dir}/none'`).stdout).toBe("0 0\n");
    });
});

/** A redis-server of our own on a free port (with a password when given); stopped by the returned function. */
async function redisServer(password?: string): Promise<{ port: number; stop: () => Promise<void> }> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "mm-redis-"));
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
    const child = spawn("redis-server", password ? [...args, "--requirepass", password] : args, { stdio: "ignore" });
    const ping = ["-p", String(port), "--no-auth-warning", ...(password ? ["-a", password] : []), "PING"];
    return throwawayServer(child, port, dir, () => spawnSync("redis-cli", ping, { encoding: "utf8" }).stdout.trim() === "PONG");
}

/** A server process of a test on `port`: waited for until `ready()` (up to 5 s); `stop` ends it and removes `dir`. */
async function throwawayServer(
    child: ChildProcess,
    port: number,
    dir: string,
    ready: () => boolean,
): Promise<{ port: number; stop: () => Promise<void> }> {
    for (let i = 0; i < 100 && !ready(); i++) await new Promise(res => setTimeout(res, 50));
    return {
        port,
        stop: async () => {
            const exited = new Promise(res => child.once("exit", res));
            child.kill("SIGTERM");
            await exited;
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** A live directory whose .env.production names the Redis port and password. */
function liveWith(env: Record<string, string>): string {
    const live = mkdtempSync(join(tmpdir(), "mm-live-"));
    writeFileSync(
        join(live, ".env.production"),
        Object.entries(env)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(""),
    );
    return live;
}

describe("redis helpers (redis-copy) against a real redis-server", () => {
    it("redis_cli: no 'AUTH failed' warning without a password, and the password of .env.production when set", async () => {
        const open = await redisServer();
        const locked = await redisServer("s3cr3t-pw");
        try {
            const plain = bashWith(["mastodon"], `redis_cli '${liveWith({ REDIS_PORT: String(open.port), REDIS_PASSWORD: "" })}' PING`);
            expect(plain.stdout.trim()).toBe("PONG");
            expect(plain.stderr).toBe("");
            const auth = bashWith(
                ["mastodon"],
                `redis_cli '${liveWith({ REDIS_PORT: String(locked.port), REDIS_PASSWORD: "s3cr3t-pw" })}' PING`,
            );
            expect(auth.stdout.trim()).toBe("PONG");
            expect(auth.stderr).toBe("");
        } finally {
            await open.stop();
            await locked.stop();
        }
    });

    it("redis_persistent counts keys without expiry per database, which expiring keys do not change", async () => {
        const redis = await redisServer();
        try {
            const live = liveWith({ REDIS_PORT: String(redis.port) });
            const r = bashWith(
                ["mastodon"],
                [
                    `redis_cli '${live}' MSET a 1 b 2 c 3 >/dev/null`,
                    `redis_cli '${live}' SET short 1 PX 300 >/dev/null`,
                    `redis_cli '${live}' -n 2 SET x 1 >/dev/null`,
                    `before=$(redis_persistent '${live}')`,
                    `sleep 0.6`,
                    `after=$(redis_persistent '${live}')`,
                    `echo "$before|$after|$(redis_cli '${live}' DBSIZE)"`,
                ].join("\n"),
            );
            expect(r.stderr).toBe("");
            // 4 keys in db0 before, 3 after the expiry: the persistent count is 3 both times.
            expect(r.stdout.trim()).toBe("db0=3 db2=1|db0=3 db2=1|3");
        } finally {
            await redis.stop();
        }
    });

    it("redis_config (readiness: appendonly): the running Redis's value, else redis.conf's when Redis is stopped, never skipped", async () => {
        const dir = mkdtempSync(join(tmpdir(), "mm-redisconf-"));
        const conf = join(dir, "redis.conf");
        // Case and spacing as Redis accepts them; the last line wins.
        writeFileSync(conf, "# appendonly yes\nappendonly no\nAPPENDONLY   yes # turned on later\nport 6379\n");
        const redis = await redisServer();
        try {
            // Running (started with --appendonly no): its own value, not the file's.
            const running = bashWith(["mastodon"], `redis_config ${redis.port} '${conf}' appendonly no`);
            expect(running.stderr).toBe("");
            expect(running.stdout).toBe("no\n");
        } finally {
            await redis.stop();
        }
        // Stopped (a new server's Redis): the value it will start with.
        const port = await freePort();
        const stopped = bashWith(["mastodon"], `redis_config ${port} '${conf}' appendonly no`);
        expect(stopped.stderr).toBe("");
        expect(stopped.stdout).toBe("yes\n");
        writeFileSync(conf, "port 6379\n");
        expect(bashWith(["mastodon"], `redis_config ${port} '${conf}' appendonly no`).stdout).toBe("no\n");
        const unreadable = bashWith(["mastodon"], `redis_config ${port} '${dir}/none.conf' appendonly no`);
        expect(unreadable.status).toBe(1);
        expect(unreadable.stderr).toContain(`does not answer CONFIG GET on port ${port} and ${dir}/none.conf cannot be read`);
        // The readiness check goes through it, with Debian's redis.conf.
        const ready = readFileSync(join(root, "components", "target-readiness", "ready.sh"), "utf8");
        expect(ready).toContain('aof=$(redis_config "$REDIS_PORT" /etc/redis/redis.conf appendonly no)');
        expect(ready).not.toMatch(/CONFIG GET appendonly/);
    });

    it("redis_wait_loaded waits while Redis answers LOADING, then returns", () => {
        const bin = mkdtempSync(join(tmpdir(), "mm-fake-redis-"));
        const calls = join(bin, "calls");
        // A strict stand-in: PING and INFO only; LOADING for the first 3 calls, as Redis does while loading.
        writeFileSync(
            join(bin, "redis-cli"),
            [
                "#!/bin/bash",
                `n=$(($(cat '${calls}' 2>/dev/null || echo 0) + 1)); echo "$n" >'${calls}'`,
                'case "${*: -1}" in PING) ;; INFO) ;; *) echo "unexpected redis-cli $*" >&2; exit 2 ;; esac',
                'if [ "$n" -le 3 ]; then',
                '  if [ "${*: -1}" = INFO ]; then printf "loading:1\\r\\n"; else echo "LOADING Redis is loading the dataset in memory"; fi',
                "else",
                '  if [ "${*: -1}" = INFO ]; then printf "loading:0\\r\\n"; else echo PONG; fi',
                "fi",
            ].join("\n"),
            { mode: 0o755 },
        );
        const live = liveWith({ REDIS_PORT: "6379" });
        const r = bashWith(["mastodon"], `redis_wait_loaded '${live}' 20 && echo loaded`, { PATH: `${bin}:${process.env.PATH}` });
        expect(r.stderr).toBe("");
        expect(r.stdout.trim()).toBe("loaded");
        expect(Number(readFileSync(calls, "utf8"))).toBeGreaterThan(3);
        rmSync(calls);
        const never = bashWith(["mastodon"], `echo 0 >'${calls}'; redis_wait_loaded '${live}' 0`, { PATH: `${bin}:${process.env.PATH}` });
        expect(never.status).toBe(1);
        expect(never.stderr).toContain("is not ready (loading its data)");
    });
});

/**
 * Run a step file on this machine as both servers, after the real preamble (lock, log, die, psql_admin...):
 * `on_peer` runs the function here, and rsync's ssh is a stand-in that runs the remote rsync here too.
 * `env` reaches every command (PGHOST/PGPORT point psql at a throwaway cluster).
 */
function runStepLocally(
    file: string,
    vars: Record<string, string>,
    libs: string[] = [],
    env: Record<string, string> = {},
    sourced: string[] = [],
) {
    const work = vars.WORK ?? mkdtempSync(join(tmpdir(), "mm-work-"));
    const bin = mkdtempSync(join(tmpdir(), "mm-fakessh-"));
    writeFileSync(join(bin, "fakessh"), '#!/bin/bash\n# rsync -e stand-in: drop the host, run the command here.\nshift\neval "$@"\n', {
        mode: 0o755,
    });
    const header = Object.entries({ STEP: "unit-step", WORK: work, ...vars })
        .map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`)
        .join("\n");
    const peer = [
        `RSYNC_SSH='${join(bin, "fakessh")}'`,
        "RSYNC_PEER=rsync",
        "PEER=peer",
        // ON_PEER tells stand-ins which server they serve (both run here).
        'on_peer() { local fn=$1; shift; ( export ON_PEER=1; "$fn" ); }',
    ].join("\n");
    const preamble = readFileSync(lib("preamble"), "utf8");
    const extra = sourced.map(f => `source '${f}'`).join("\n");
    return bashWith(libs, `${header}\n${preamble}\n${extra}\n${peer}\n${readFileSync(join(root, file), "utf8")}`, env);
}

/** The identity of a `pg_dump -Fd` directory, as database/dump.sh computes it (toc.dat's sha256, the file list). */
function dumpId(dump: string): string {
    const script = `{ sha256sum '${dump}/toc.dat' | cut -d' ' -f1 && (cd '${dump}' && find . -type f -printf '%P %s\\n' | LC_ALL=C sort); } | sha256sum`;
    return spawnSync("bash", ["-c", script], { encoding: "utf8" }).stdout.split(" ")[0]!;
}

describe("database transfer (database/transfer.sh, run here as both servers)", () => {
    it("a second cutover sends the new dump over a stale one of the same length (rsync --append-verify skipped it)", () => {
        const dir = mkdtempSync(join(tmpdir(), "mm-transfer-"));
        const dump = join(dir, "source.dump.d");
        const targetWork = join(dir, "target");
        const targetDump = join(targetWork, "db", "mastodon_production.dump.d");
        mkdirSync(dump, { recursive: true });
        mkdirSync(targetDump, { recursive: true });
        // The dump of the first, rolled-back cutover: the same files, the same lengths, other contents.
        for (const [name, size] of [
            ["toc.dat", 2048],
            ["3001.dat", 4096],
        ] as const) {
            writeFileSync(join(dump, name), "B".repeat(size));
            writeFileSync(join(targetDump, name), "A".repeat(size));
            utimesSync(join(targetDump, name), new Date("2026-01-01"), new Date("2026-01-01"));
        }
        writeFileSync(join(targetDump, "2999.dat"), "a table the new dump does not have");
        const id = dumpId(dump);
        const vars = { DUMP: dump, TARGET_WORK: targetWork, TARGET_DUMP: targetDump, SHA: id };
        const r = runStepLocally("components/database/transfer.sh", vars);
        expect(r.stderr).not.toContain("ERROR");
        expect(r.status).toBe(0);
        expect(readFileSync(join(targetDump, "3001.dat"), "utf8")).toBe("B".repeat(4096));
        expect(readdirSync(targetDump).sort()).toEqual(["3001.dat", "toc.dat"]);
        expect(r.stdout).toContain("identity verified");
    });
});

describe("database restore (database/restore.sh) into a throwaway PostgreSQL", () => {
    let services: LocalServices | undefined;
    afterAll(async () => services?.stop());

    /** The throwaway cluster (started once): PG* for the scripts, psql as postgres, pg_dump -Fd of a database. */
    async function cluster() {
        services ??= await startLocalServices({ pgPort: await freePort() });
        const env = { PGHOST: services.target.pgHost ?? "", PGPORT: String(services.target.pgPort) };
        // From /, which postgres can enter (a checkout under a private directory it cannot).
        const asPostgres = { cwd: "/", encoding: "utf8" as const, env: { ...process.env, ...env } };
        const psql = (sql: string, db = "postgres") =>
            spawnSync("runuser", ["-u", "postgres", "--", "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], asPostgres);
        const pgDump = (db: string): { dump: string; sha: string } => {
            const dir = mkdtempSync(join(tmpdir(), "mm-restore-"));
            chmodSync(dir, 0o755);
            const dump = join(dir, "src.dump.d");
            const d = spawnSync(
                "bash",
                ["-c", `chown postgres '${dir}' && runuser -u postgres -- pg_dump -Fd -d ${db} -f '${dump}' && chmod -R a+rX '${dump}'`],
                asPostgres,
            );
            expect(d.status, d.stderr).toBe(0);
            return { dump, sha: dumpId(dump) };
        };
        /** database/restore.sh of a dump into DB as role mastodon, from a fresh work directory; it must succeed. */
        const restore = (vars: { DB: string; DUMP: string; SHA: string; ALLOW_NON_EMPTY: string }) => {
            const work = mkdtempSync(join(tmpdir(), "mm-work-"));
            mkdirSync(join(work, "db"));
            const r = runStepLocally(
                "components/database/restore.sh",
                { WORK: work, ROLE: "mastodon", JOBS: "2", ...vars },
                ["database"],
                env,
            );
            expect(r.stderr).not.toContain("ERROR");
            expect(r.status).toBe(0);
            return r;
        };
        return { env, psql, pgDump, restore, asPostgres };
    }

    it("restores a dump that GRANTs to a role the target lacks", async () => {
        const { psql, pgDump, restore } = await cluster();
        // The source: a table owned by mastodon, readable by a role that exists only there.
        for (const sql of ["CREATE ROLE reader", "CREATE DATABASE src OWNER mastodon"]) expect(psql(sql).stderr).toBe("");
        for (const sql of [
            "CREATE TABLE statuses (id bigint PRIMARY KEY, text text)",
            "INSERT INTO statuses SELECT g, 'toot ' || g FROM generate_series(1, 500) g",
            "ALTER TABLE statuses OWNER TO mastodon",
            "GRANT SELECT ON statuses TO reader",
        ])
            expect(psql(sql, "src").stderr).toBe("");
        const { dump, sha } = pgDump("src");
        // The target lacks the role.
        for (const sql of ["DROP DATABASE src", "DROP ROLE reader"]) expect(psql(sql).stderr).toBe("");
        restore({ DB: "restored", DUMP: dump, SHA: sha, ALLOW_NON_EMPTY: "false" });
        expect(psql("SELECT count(*) FROM statuses", "restored").stdout.trim()).toBe("500");
        expect(psql("SELECT tableowner FROM pg_tables WHERE tablename = 'statuses'", "restored").stdout.trim()).toBe("mastodon");
    }, 60_000);

    it("renames an existing database aside with dbAllowNonEmptyTarget even while a session holds it open (db_set_aside)", async () => {
        const { psql, pgDump, restore, asPostgres } = await cluster();
        for (const sql of ["CREATE DATABASE aside_src OWNER mastodon", "CREATE DATABASE busy OWNER mastodon"])
            expect(psql(sql).stderr).toBe("");
        expect(psql("CREATE TABLE statuses (id bigint PRIMARY KEY); INSERT INTO statuses VALUES (1), (2)", "aside_src").stderr).toBe("");
        expect(psql("CREATE TABLE earlier (id bigint PRIMARY KEY)", "busy").stderr).toBe("");
        const { dump, sha } = pgDump("aside_src");
        // Someone is still connected to the database in the way (a console, a stray worker).
        const session = spawn("runuser", ["-u", "postgres", "--", "psql", "-X", "-qAt", "-d", "busy", "-c", "SELECT pg_sleep(60)"], {
            ...asPostgres,
            stdio: "ignore",
        });
        try {
            for (let i = 0; i < 100 && psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'busy'").stdout.trim() === "0"; i++) {
                await new Promise(res => setTimeout(res, 50));
            }
            expect(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'busy'").stdout.trim()).toBe("1");
            const r = restore({ DB: "busy", DUMP: dump, SHA: sha, ALLOW_NON_EMPTY: "true" });
            expect(r.stdout).toMatch(/database busy already held 1 tables: renamed it to busy_before_migration_\d{14} /);
            expect(psql("SELECT count(*) FROM statuses", "busy").stdout.trim()).toBe("2");
            const aside = psql("SELECT datname FROM pg_database WHERE datname LIKE 'busy_before_migration_%'").stdout.trim();
            expect(aside).toMatch(/^busy_before_migration_\d{14}$/);
            expect(psql("SELECT count(*) FROM pg_tables WHERE tablename = 'earlier'", aside).stdout.trim()).toBe("1");
        } finally {
            session.kill("SIGTERM");
        }
    }, 60_000);

    it("config env: reports what changed since the last copy by key name only, and gives the role DB_PASS", async () => {
        const { env, psql } = await cluster();
        const source = liveWith({
            LOCAL_DOMAIN: "social.example.org",
            SECRET_KEY_BASE: "new-secret-value",
            DB_PASS: "pa'ss",
            NEW_KEY: "x",
        });
        const target = liveWith({ LOCAL_DOMAIN: "social.example.org", SECRET_KEY_BASE: "old-secret-value", DB_PASS: "pa'ss", GONE: "y" });
        const vars = { SOURCE_LIVE: source, TARGET_LIVE: target, TARGET_USER: "root", SOURCE_ROLE: "mastodon", TARGET_ROLE: "mastodon" };
        const r = runStepLocally("components/config-files/env.sh", vars, [], env);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("changed since the last copy (by key): GONE NEW_KEY SECRET_KEY_BASE");
        expect(r.stdout).not.toMatch(/secret-value|pa'ss/);
        expect(readFileSync(join(target, ".env.production"), "utf8")).toContain("NEW_KEY=x");
        expect(r.stdout).toContain("role mastodon on the target server has the password of DB_PASS");
        // The throwaway cluster trusts local logins: the password is read back from pg_authid.
        expect(psql("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'mastodon'").stdout.trim()).toBe("t");
        // The next copy finds nothing changed.
        const again = runStepLocally("components/config-files/env.sh", vars, [], env);
        expect(again.stdout).toContain(".env.production: unchanged since the last copy");
    }, 60_000);
});

/**
 * Strict stand-ins on PATH for a step that drives services: `systemctl` (the commands the step may use, each
 * recorded; anything else fails), `crontab` (one user's table in a file) and `redis-cli` (no Sidekiq process
 * busy). Returns the PATH directory and the record.
 */
function serviceStandins(units: { running: string[]; enabled: string[] }) {
    const bin = mkdtempSync(join(tmpdir(), "mm-standins-"));
    const calls = join(bin, "calls");
    const state = join(bin, "state");
    mkdirSync(state);
    for (const u of units.running) writeFileSync(join(state, `${u}.running`), "");
    for (const u of units.enabled) writeFileSync(join(state, `${u}.enabled`), "");
    writeFileSync(
        join(bin, "systemctl"),
        [
            "#!/bin/bash",
            `S='${state}'`,
            `echo "systemctl $*" >>'${calls}'`,
            'case "$1" in',
            '  list-units) for f in "$S"/*.running; do [ -e "$f" ] && echo "$(basename "$f" .running).service loaded active running x"; done; exit 0 ;;',
            '  kill) [ "$2" = --signal=TSTP ] && [ "$3" = --kill-whom=main ] || exit 2; shift 3; for u in "$@"; do [ -e "$S/${u%.service}.running" ] || exit 1; done ;;',
            '  stop) shift; for u in "$@"; do rm -f "$S/${u%.service}.running"; done ;;',
            '  start) shift; for u in "$@"; do touch "$S/${u%.service}.running"; done ;;',
            '  is-active) [ "$2" = --quiet ] || exit 2; [ -e "$S/${3%.service}.running" ] ;;',
            '  is-enabled) [ "$2" = --quiet ] || exit 2; [ -e "$S/$3.enabled" ] ;;',
            '  disable) shift; for u in "$@"; do rm -f "$S/$u.enabled"; done ;;',
            '  enable) shift; for u in "$@"; do touch "$S/$u.enabled"; done ;;',
            '  *) echo "unexpected systemctl $*" >&2; exit 2 ;;',
            "esac",
        ].join("\n"),
        { mode: 0o755 },
    );
    writeFileSync(
        join(bin, "crontab"),
        [
            "#!/bin/bash",
            `echo "crontab $*" >>'${calls}'`,
            `T='${state}/crontab'`,
            'if [ "$1" = -l ]; then [ -e "$T" ] && cat "$T"; exit $?; fi',
            'if [ "$1" = -r ]; then rm "$T"; exit $?; fi',
            'if [ "$1" = -u ] && [ -f "$3" ]; then cp "$3" "$T"; exit 0; fi',
            'echo "unexpected crontab $*" >&2; exit 2',
        ].join("\n"),
        { mode: 0o755 },
    );
    writeFileSync(
        join(bin, "redis-cli"),
        '#!/bin/bash\ncase "${*: -1}" in processes) exit 0 ;; esac\necho "unexpected redis-cli $*" >&2; exit 2\n',
        {
            mode: 0o755,
        },
    );
    writeFileSync(join(state, "crontab"), "# m h dom mon dow command\n0 4 * * * cd live && bin/tootctl media remove\n");
    return { bin, calls: () => readFileSync(calls, "utf8").trim().split("\n"), state };
}

describe("source services (source-services/stop.sh and start.sh) with stand-in systemctl and crontab", () => {
    it("quiets Sidekiq before stopping it, disables the units at boot and sets the crontab aside; the rollback undoes all of it", () => {
        const units = ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"];
        const s = serviceStandins({ running: units, enabled: units });
        const unitDir = mkdtempSync(join(tmpdir(), "mm-units-"));
        const live = liveWith({ REDIS_PORT: "6379" });
        const env = { PATH: `${s.bin}:${process.env.PATH}` };
        const work = mkdtempSync(join(tmpdir(), "mm-work-"));
        // mastodon_units reads /etc/systemd/system: point it at our unit files.
        const lib = readFileSync(join(root, "lib", "sh", "mastodon.sh"), "utf8").replace(/\/etc\/systemd\/system/g, unitDir);
        const libFile = join(unitDir, "mastodon.sh");
        writeFileSync(libFile, lib);
        for (const u of units) writeFileSync(join(unitDir, `${u}.service`), "[Service]\n");
        const run = (file: string, vars: Record<string, string>) =>
            runStepLocally(`components/source-services/${file}`, { WORK: work, ...vars }, [], env, [libFile]);

        const stop = run("stop.sh", { LIVE: live, MASTODON_USER: "mastodon", QUIET_SECONDS: "5" });
        expect(stop.stderr).toBe("");
        expect(stop.status, stop.stdout).toBe(0);
        const calls = s.calls();
        const quiet = calls.findIndex(c => c.startsWith("systemctl kill --signal=TSTP --kill-whom=main mastodon-sidekiq"));
        const stopCall = calls.findIndex(c => c.startsWith("systemctl stop"));
        expect(quiet).toBeGreaterThanOrEqual(0);
        expect(stopCall).toBeGreaterThan(quiet);
        expect(calls).toContain("systemctl disable mastodon-sidekiq mastodon-streaming mastodon-web");
        expect(calls).toContain("crontab -r -u mastodon");
        expect(readFileSync(join(work, "crontab"), "utf8")).toContain("tootctl media remove");

        const start = run("start.sh", { DEFAULT_UNITS: "mastodon-web", MASTODON_USER: "mastodon" });
        expect(start.stderr).toBe("");
        expect(start.status).toBe(0);
        for (const u of units) {
            expect(spawnSync("test", ["-e", join(s.state, `${u}.enabled`)]).status, u).toBe(0);
            expect(spawnSync("test", ["-e", join(s.state, `${u}.running`)]).status, u).toBe(0);
        }
        expect(readFileSync(join(s.state, "crontab"), "utf8")).toContain("tootctl media remove");
    });

    it("after a Redis copy cut half-way (not in state, so its undo never runs) the rollback enables Redis at boot again, starts it first and drops the stale saved dump", () => {
        const units = ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"];
        // What redis/copy.sh left on the source before the cut: Redis saved, stopped and disabled at boot.
        const s = serviceStandins({ running: [], enabled: [] });
        const work = mkdtempSync(join(tmpdir(), "mm-work-"));
        writeFileSync(join(work, "redis-disabled"), "");
        writeFileSync(join(work, "redis-saved"), "/var/lib/redis/dump.rdb\ndb0=22\n");
        writeFileSync(join(work, "stopped-units"), units.join("\n") + "\n");
        const start = runStepLocally(
            "components/source-services/start.sh",
            { WORK: work, DEFAULT_UNITS: "mastodon-web", MASTODON_USER: "mastodon" },
            ["mastodon"],
            { PATH: `${s.bin}:${process.env.PATH}` },
        );
        expect(start.stderr).toBe("");
        expect(start.status, start.stdout).toBe(0);
        const calls = s.calls();
        expect(calls).toContain("systemctl enable redis-server");
        expect(calls.indexOf("systemctl start redis-server")).toBeGreaterThanOrEqual(0);
        expect(calls.indexOf("systemctl start redis-server")).toBeLessThan(calls.findIndex(c => c.startsWith("systemctl start mastodon-")));
        for (const f of ["redis-server.enabled", "redis-server.running"])
            expect(spawnSync("test", ["-e", join(s.state, f)]).status, f).toBe(0);
        for (const f of ["redis-disabled", "redis-saved"]) expect(spawnSync("test", ["-e", join(work, f)]).status, f).toBe(1);
        expect(start.stdout).toContain("Redis enabled at boot again on the source server");
    });
});

/**
 * Two Redis "servers" on this machine for redis/copy.sh: each a daemonized redis-server with its own config
 * file, port, directory and password, behind a strict stand-in `systemctl` (stop, start, is-enabled and
 * disable of redis-server only; it acts on the target's Redis inside `on_peer`, on the source's otherwise)
 * and, when `targetVersion` is given, a stand-in `redis-server --version` for the target.
 */
async function redisPair(o: { sourcePassword?: string; targetVersion?: string; targetEnvPassword?: string; sourceSave?: string }) {
    const dir = mkdtempSync(join(tmpdir(), "mm-redis-pair-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const calls = join(dir, "calls");
    const side = async (name: "source" | "target", password?: string) => {
        const port = await freePort();
        const data = join(dir, name);
        mkdirSync(data);
        const conf = join(dir, `${name}.conf`);
        const pidfile = join(dir, `${name}.pid`);
        // The target saves on exit, like Debian's default config: why the copy stops it before the file lands.
        const save = name === "target" ? "save 3600 1" : `save ${o.sourceSave ?? '""'}`;
        writeFileSync(
            conf,
            [`port ${port}`, "bind 127.0.0.1", `dir ${data}`, "dbfilename dump.rdb", save, "appendonly no", "daemonize yes"]
                .concat([`pidfile ${pidfile}`, `logfile ${join(dir, `${name}.log`)}`])
                .concat(password ? [`requirepass "${password}"`] : [])
                .join("\n") + "\n",
        );
        const envPassword = name === "target" && o.targetEnvPassword !== undefined ? o.targetEnvPassword : (o.sourcePassword ?? "");
        const live = liveWith({ REDIS_PORT: String(port), REDIS_PASSWORD: envPassword });
        return { port, conf, pidfile, live, data };
    };
    const source = await side("source", o.sourcePassword);
    const target = await side("target");
    writeFileSync(join(dir, "source.enabled"), "");
    writeFileSync(
        join(bin, "systemctl"),
        [
            "#!/bin/bash",
            'side=source; [ -z "${ON_PEER:-}" ] || side=target',
            `echo "$side systemctl $*" >>'${calls}'`,
            `D='${dir}'`,
            '[ "${*: -1}" = redis-server ] || { echo "unexpected systemctl $*" >&2; exit 2; }',
            'case "$1" in',
            '  start) [ -e "$D/$side.pid" ] && kill -0 "$(cat "$D/$side.pid")" 2>/dev/null && exit 0; /usr/bin/redis-server "$D/$side.conf" ;;',
            '  stop) [ -e "$D/$side.pid" ] || exit 0; pid=$(cat "$D/$side.pid"); kill "$pid" 2>/dev/null || exit 0',
            '    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done ;;',
            '  is-enabled) [ "$2" = --quiet ] && [ -e "$D/$side.enabled" ] ;;',
            '  disable) rm -f "$D/$side.enabled" ;;',
            '  *) echo "unexpected systemctl $*" >&2; exit 2 ;;',
            "esac",
        ].join("\n"),
        { mode: 0o755 },
    );
    if (o.targetVersion) {
        writeFileSync(
            join(bin, "redis-server"),
            [
                "#!/bin/bash",
                "# The target's redis-server is an older release: its --version says so.",
                `if [ -n "\${ON_PEER:-}" ] && [ "$*" = --version ]; then echo "Redis server v=${o.targetVersion} sha=00000000:0 malloc=libc bits=64"; exit 0; fi`,
                'exec /usr/bin/redis-server "$@"',
            ].join("\n"),
            { mode: 0o755 },
        );
    }
    const env = { PATH: `${bin}:${process.env.PATH}` };
    for (const s of ["source", "target"] as const) {
        const r = spawnSync(join(bin, "systemctl"), ["start", "redis-server"], {
            env: { ...process.env, ...env, ON_PEER: s === "target" ? "1" : "" },
        });
        expect(r.status).toBe(0);
    }
    const cli = (s: { live: string }, cmd: string) => bashWith(["mastodon"], `redis_cli '${s.live}' ${cmd}`, env);
    for (const s of [source, target]) {
        for (let i = 0; i < 100 && cli(s, "PING").stdout.trim() !== "PONG"; i++) await new Promise(res => setTimeout(res, 50));
    }
    rmSync(calls, { force: true });
    return {
        dir,
        source,
        target,
        env,
        cli,
        calls: () => (spawnSync("cat", [calls], { encoding: "utf8" }).stdout || "").trim(),
        /** redis/prepare.sh (before the window), then redis/copy.sh (once Mastodon is stopped), on the source's WORK. */
        run: () => {
            const vars = {
                WORK: join(dir, "source-work"),
                SOURCE_LIVE: source.live,
                TARGET_LIVE: target.live,
                TARGET_WORK: join(dir, "target-work"),
            };
            const prepare = runStepLocally("components/redis/prepare.sh", vars, ["mastodon", "redis-target"], env);
            if (prepare.status !== 0) return prepare;
            const copy = runStepLocally("components/redis/copy.sh", vars, ["mastodon", "redis-target"], env);
            return { ...copy, stdout: prepare.stdout + copy.stdout, stderr: prepare.stderr + copy.stderr };
        },
        stop: () => {
            for (const s of ["source", "target"]) {
                spawnSync(join(bin, "systemctl"), ["stop", "redis-server"], {
                    env: { ...process.env, ON_PEER: s === "target" ? "1" : "" },
                });
            }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

describe("redis copy (redis/copy.sh, run here as both servers against two redis-servers)", () => {
    it.each([
        ["without save points (SAVE, then stop)", '""'],
        ["with save points (saved as it stops)", "3600 1"],
    ])(
        "carries the source's requirepass to the target's Redis, which loads the dump and verifies with the password: %s",
        async (_, sourceSave) => {
            // The target's .env.production is still prepare's copy, with an older password: the copy, which starts
            // beside the refreshed copy of .env.production, takes the source's password as it is now.
            const pair = await redisPair({ sourcePassword: "pw-0f5e+x9", targetEnvPassword: "stale-pw", sourceSave });
            try {
                const { source, target, cli } = pair;
                expect(cli(source, "MSET a 1 b 2 c 3").stdout.trim()).toBe("OK");
                expect(cli(source, "-n 1 RPUSH queue:default job1 job2").stdout.trim()).toBe("2");
                expect(cli(source, "SET short 1 EX 600").stdout.trim()).toBe("OK");
                // The fresh target answers without a password.
                expect(spawnSync("redis-cli", ["-p", String(target.port), "PING"], { encoding: "utf8" }).stdout.trim()).toBe("PONG");
                const r = pair.run();
                expect(r.stderr).toBe("");
                expect(r.status, r.stdout).toBe(0);
                expect(r.stdout).toContain("keys without expiry db0=3 db1=1 on both servers");
                expect(r.stdout).toMatch(/RDB format \d+ from the source server/);
                expect(r.stdout).not.toContain("pw-0f5e");
                expect(readdirSync(join(pair.dir, "target-work"))).not.toContain("redis-env");
                // The target's Redis now wants the source's password, and holds the source's data.
                const anon = spawnSync("redis-cli", ["-p", String(target.port), "GET", "a"], { encoding: "utf8" });
                expect(anon.stdout + anon.stderr).toContain("NOAUTH");
                const targetNow = { live: liveWith({ REDIS_PORT: String(target.port), REDIS_PASSWORD: "pw-0f5e+x9" }) };
                expect(cli(targetNow, "GET a").stdout.trim()).toBe("1");
                expect(cli(targetNow, "-n 1 LRANGE queue:default 0 -1").stdout.trim()).toBe("job1\njob2");
                expect(readFileSync(target.conf, "utf8")).toContain(`requirepass "pw-0f5e+x9"`);
                // The source's Redis is stopped and disabled at boot.
                expect(pair.calls()).toBe(
                    [
                        "target systemctl stop redis-server",
                        "source systemctl stop redis-server",
                        "source systemctl is-enabled --quiet redis-server",
                    ]
                        .concat(["source systemctl disable redis-server", "target systemctl start redis-server"])
                        .join("\n"),
                );
                expect(cli(source, "PING").status).not.toBe(0);
            } finally {
                pair.stop();
            }
        },
    );

    it("refuses a target Redis older than the source's (it cannot read the newer RDB format) before either Redis is touched", async () => {
        const pair = await redisPair({ sourcePassword: "pw", targetVersion: "6.2.6" });
        try {
            const { source, target, cli } = pair;
            cli(source, "MSET a 1 b 2");
            const sourceVersion = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.match(/v=([0-9.]+)/)![1];
            const r = pair.run();
            expect(r.status).toBe(1);
            expect(r.stderr).toContain(
                `Redis 6.2.6 on the target server is older than the source server's ${sourceVersion}: it cannot load the source's RDB format`,
            );
            // Nothing was stopped, saved or copied: both still serve their own data.
            expect(pair.calls()).toBe("");
            expect(cli(source, "DBSIZE").stdout.trim()).toBe("2");
            expect(spawnSync("test", ["-e", join(source.data, "dump.rdb")]).status).toBe(1);
            expect(spawnSync("redis-cli", ["-p", String(target.port), "DBSIZE"], { encoding: "utf8" }).stdout.trim()).toBe("0");
        } finally {
            pair.stop();
        }
    });
});

describe("systemd units (config-files/systemd.sh), run here as both servers", () => {
    it("a refresh reports only the units that really changed when the target's user and directory differ", () => {
        const dir = mkdtempSync(join(tmpdir(), "mm-systemd-"));
        const sourceUnits = join(dir, "source");
        const targetUnits = join(dir, "target");
        mkdirSync(sourceUnits);
        mkdirSync(targetUnits);
        const unit = (name: string, extra = "") =>
            writeFileSync(
                join(sourceUnits, `mastodon-${name}.service`),
                `[Service]\nUser=mastodon\nWorkingDirectory=/home/mastodon/live\nExecStart=/usr/bin/${name}${extra}\n`,
            );
        unit("web");
        unit("sidekiq");
        // The step file with this test's unit directories for the two servers' /etc/systemd/system.
        const text = readFileSync(join(root, "components", "config-files", "systemd.sh"), "utf8");
        expect(text.split("/etc/systemd/system/mastodon-*.service").length).toBe(3); // the glob and its message
        expect(text).toContain('"$PEER:/etc/systemd/system/"');
        const file = join(dir, "systemd.sh");
        writeFileSync(
            file,
            text
                .replace("units=(/etc/systemd/system/mastodon-*.service)", `units=('${sourceUnits}'/mastodon-*.service)`)
                .replace('"$PEER:/etc/systemd/system/"', `"$PEER:${targetUnits}/"`),
        );
        const bin = mkdtempSync(join(tmpdir(), "mm-systemctl-"));
        const calls = join(bin, "calls");
        writeFileSync(
            join(bin, "systemctl"),
            `#!/bin/bash\necho "$*" >>'${calls}'\n[ "$*" = daemon-reload ] || { echo "unexpected systemctl $*" >&2; exit 2; }\n`,
            { mode: 0o755 },
        );
        const work = mkdtempSync(join(tmpdir(), "mm-work-"));
        const vars = {
            WORK: work,
            SOURCE_USER: "mastodon",
            TARGET_USER: "social",
            SOURCE_LIVE: "/home/mastodon/live",
            TARGET_LIVE: "/srv/social/live",
        };
        const run = () => {
            const r = runStepLocally(relative(root, file), vars, [], { PATH: `${bin}:${process.env.PATH}` });
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            return r.stdout.split("\n").find(l => l.includes("systemd units written")) ?? "";
        };
        // prepare: both are new on the target, rewritten for its user and directory.
        expect(run()).toMatch(/written \(new or changed\): mastodon-sidekiq.service mastodon-web.service $/);
        expect(readFileSync(join(targetUnits, "mastodon-web.service"), "utf8")).toBe(
            "[Service]\nUser=social\nWorkingDirectory=/srv/social/live\nExecStart=/usr/bin/web\n",
        );
        // cutover's refresh with nothing changed on the source: nothing written.
        expect(run()).toMatch(/written \(new or changed\): none$/);
        // A real change to one unit: that one only.
        unit("sidekiq", " -c 25");
        expect(run()).toMatch(/written \(new or changed\): mastodon-sidekiq.service $/);
        expect(readFileSync(join(targetUnits, "mastodon-sidekiq.service"), "utf8")).toBe(
            "[Service]\nUser=social\nWorkingDirectory=/srv/social/live\nExecStart=/usr/bin/sidekiq -c 25\n",
        );
        expect(readFileSync(calls, "utf8")).toBe("daemon-reload\n".repeat(3));
    });
});

/** The sandbox's stand-in search engine on a free port (with HTTP basic auth when given); stopped by the returned function. */
async function searchEngine(auth?: { user: string; pass: string }): Promise<{ port: number; stop: () => Promise<void> }> {
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), "mm-search-"));
    const env = {
        ...process.env,
        ES_STANDIN_PORT: String(port),
        ES_STANDIN_DATA: data,
        ES_STANDIN_USER: auth?.user ?? "",
        ES_STANDIN_PASS: auth?.pass ?? "",
    };
    const child = spawn("node", [join(root, "rehearsal", "sandbox", "files", "search-engine.js")], { env, stdio: "ignore" });
    return throwawayServer(child, port, data, () => spawnSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/`]).status === 0);
}

describe("search readiness (search-readiness/check.sh) against the sandbox's stand-in search engine", () => {
    const check = (env: Record<string, string>) =>
        runStepLocally("components/search-readiness/check.sh", { LIVE: liveWith(env), WAIT_SECONDS: "1" }, ["mastodon"]);

    it("refuses when no engine answers at ES_HOST:ES_PORT, or ES_ENABLED is not true on the target", async () => {
        const port = await freePort();
        const down = check({ ES_ENABLED: "true", ES_HOST: "127.0.0.1", ES_PORT: String(port) });
        expect(down.status).toBe(1);
        expect(down.stderr).toContain(`no search engine answers at http://127.0.0.1:${port} (ES_HOST/ES_PORT of .env.production)`);
        const disabled = check({ ES_ENABLED: "false", ES_HOST: "127.0.0.1", ES_PORT: String(port) });
        expect(disabled.status).toBe(1);
        expect(disabled.stderr).toContain("ES_ENABLED=false in");
    });

    it("passes on a healthy engine; with ES_USER/ES_PASS it authenticates without printing the password, and a wrong one is refused", async () => {
        const open = await searchEngine();
        const locked = await searchEngine({ user: "mastodon", pass: "p4 ss\\w0rd" });
        try {
            const ok = check({ ES_ENABLED: "true", ES_HOST: "127.0.0.1", ES_PORT: String(open.port), ES_PRESET: "single_node_cluster" });
            expect(ok.stderr).toBe("");
            expect(ok.status).toBe(0);
            expect(ok.stdout).toContain(
                `search engine at http://127.0.0.1:${open.port}: version 7.17.0, cluster health green, ES_PRESET single_node_cluster`,
            );
            const env = { ES_ENABLED: "true", ES_HOST: "http://127.0.0.1", ES_PORT: String(locked.port), ES_USER: "mastodon" };
            const authed = check({ ...env, ES_PASS: "p4 ss\\w0rd" });
            expect(authed.stderr).toBe("");
            expect(authed.status).toBe(0);
            expect(authed.stdout).not.toContain("w0rd");
            const wrong = check({ ...env, ES_PASS: "other" });
            expect(wrong.status).toBe(1);
            expect(wrong.stderr).toContain("refuses the credentials of .env.production (HTTP 401, ES_USER=mastodon)");
            expect(wrong.stderr + wrong.stdout).not.toContain("other");
        } finally {
            await open.stop();
            await locked.stop();
        }
    });
});

describe("database cleanup (database/cleanup.sh) in complete", () => {
    it("removes the full dump and leaves a note of where it was; a second run keeps the note", () => {
        const work = mkdtempSync(join(tmpdir(), "mm-work-"));
        mkdirSync(join(work, "db"));
        const dump = join(work, "db", "mastodon_production.dump");
        writeFileSync(dump, "PGDMP secret rows");
        const r = runStepLocally("components/database/cleanup.sh", { WORK: work, DUMP: dump });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(spawnSync("test", ["-e", dump]).status).toBe(1);
        const note = readFileSync(join(work, "db", "last-dump.txt"), "utf8");
        expect(note).toContain(`the dump ${dump} (17 bytes, written `);
        const again = runStepLocally("components/database/cleanup.sh", { WORK: work, DUMP: dump });
        expect(again.status).toBe(0);
        expect(again.stdout).toContain("was removed on");
    });
});

describe("no step hides an rsync failure", () => {
    /** Commands (continuation lines joined) where rsync's status is lost: a pipeline or list ending in `|| true`. */
    function hiddenRsync(text: string): string[] {
        return text
            .replace(/\\\n\s*/g, " ")
            .split("\n")
            .filter(l => /\brsync\b/.test(l) && !l.trim().startsWith("#") && /\|\|\s*(true|:)\b/.test(l));
    }

    it("every rsync's own status decides (the scripts run under pipefail; nothing ends in || true)", () => {
        const files = readdirSync(join(root, "components"), { recursive: true, encoding: "utf8" }).filter(f => f.endsWith(".sh"));
        expect(files.length).toBeGreaterThan(20);
        const found = files.flatMap(f => hiddenRsync(readFileSync(join(root, "components", f), "utf8")).map(l => `${f}: ${l.trim()}`));
        expect(found).toEqual([]);
        // The check finds the old pattern.
        expect(hiddenRsync('rsync -a "$SRC" "$PEER:$DEST" \\\n  | grep -E "^Number" || true\n')).toHaveLength(1);
    });
});

describe("setting a database aside is written once (db_set_aside in lib/sh/preamble.sh)", () => {
    /** `ALTER DATABASE ... RENAME TO` lines of a script that rename to anything but the step's own DB (a staging copy becoming DB). */
    function renamesAside(text: string): string[] {
        return text.split("\n").filter(l => /ALTER DATABASE .* RENAME TO/.test(l) && !/RENAME TO \\"\$DB\\"/.test(l));
    }

    it("no step script renames a database aside on its own", () => {
        const files = readdirSync(join(root, "components"), { recursive: true, encoding: "utf8" }).filter(f => f.endsWith(".sh"));
        const found = files.flatMap(f => renamesAside(readFileSync(join(root, "components", f), "utf8")).map(l => `${f}: ${l.trim()}`));
        expect(found).toEqual([]);
        const users = files.filter(f => /db_set_aside "\$DB" /.test(readFileSync(join(root, "components", f), "utf8")));
        expect(users.sort()).toEqual([
            "database/set-aside.sh",
            "replication-cutover/finish-undo.sh",
            "replication/schema.sh",
            "replication/subscribe-undo.sh",
        ]);
        // Whether an existing database may make way for a copy is decided once (db_make_room in lib/sh/database.sh).
        const deciders = files.filter(f => /before_migration/.test(readFileSync(join(root, "components", f), "utf8")));
        expect(deciders).toEqual([]);
        const makers = files.filter(f => /db_make_room "\$DB" /.test(readFileSync(join(root, "components", f), "utf8")));
        expect(makers.sort()).toEqual(["database/restore.sh", "replication/schema.sh"]);
        // The check finds the old, hand-written rename.
        expect(renamesAside(`  psql_admin -c "ALTER DATABASE \\"$DB\\" RENAME TO \\"$aside\\""\n`)).toHaveLength(1);
        expect(renamesAside(`psql_admin -c "ALTER DATABASE \\"$STAGING\\" RENAME TO \\"$DB\\""\n`)).toHaveLength(0);
    });
});

/** Every entry under a directory: relative path, type, size, mode and content digest, sorted (NUL-safe). */
function treeListing(dir: string): string {
    const script = `cd '${dir}' && find . -mindepth 1 -printf '%P\\t%y\\t%s\\t%m\\0' | LC_ALL=C sort -z | while IFS= read -r -d '' e; do p=\${e%%$'\\t'*}; if [ -f "$p" ]; then printf '%s\\t%s\\n' "$e" "$(sha256sum <"$p" | cut -c1-16)"; else printf '%s\\n' "$e"; fi; done`;
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
}

describe.runIf(spawnSync("which", ["inotifywait"]).status === 0)(
    "media change journal (media/watch.sh, media/sync.sh, run here as both servers)",
    () => {
        const user = spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim();
        function servers() {
            const dir = mkdtempSync(join(tmpdir(), "mm-journal-"));
            const work = join(dir, "work");
            const source = join(dir, "source");
            const target = join(dir, "target");
            const media = join(source, "public", "system");
            for (const d of [
                "media_attachments/files/000/000/001/original",
                "media_attachments/files/000/000/002/original",
                "accounts/avatars/000/000/001/original",
                "cache/x",
            ])
                mkdirSync(join(media, d), { recursive: true });
            writeFileSync(join(media, "media_attachments/files/000/000/001/original/a b.png"), "one");
            writeFileSync(join(media, "media_attachments/files/000/000/002/original/été.jpg"), "two");
            writeFileSync(join(media, "accounts/avatars/000/000/001/original/avatar.png"), "avatar");
            writeFileSync(join(media, "cache/x/line\nbreak.png"), "newline in the name");
            mkdirSync(join(target, "public"), { recursive: true });
            const vars = { WORK: work, SOURCE_LIVE: source, TARGET_LIVE: target, TARGET_USER: user, BW_LIMIT_KBPS: "0" };
            // journal.sh after the header and the preamble, as a rendered step has it.
            const step = (pass: string) => runStepLocally("components/media/sync.sh", { ...vars, PASS: pass }, [], {}, [lib("journal")]);
            const watch = () => runStepLocally("components/media/watch.sh", { WORK: work, SOURCE_LIVE: source }, [], {}, [lib("journal")]);
            return { dir, work, media, targetMedia: join(target, "public", "system"), step, watch };
        }
        /** Changes a live instance makes: new nested directories, a deletion, a directory removed and one renamed, an edit. */
        function change(media: string) {
            mkdirSync(join(media, "media_attachments/files/000/000/003/original"), { recursive: true });
            writeFileSync(join(media, "media_attachments/files/000/000/003/original/new (1).png"), "new");
            rmSync(join(media, "media_attachments/files/000/000/002/original/été.jpg"));
            rmSync(join(media, "cache/x"), { recursive: true });
            spawnSync("mv", [join(media, "accounts/avatars/000/000/001"), join(media, "accounts/avatars/000/000/009")]);
            writeFileSync(join(media, "media_attachments/files/000/000/001/original/a b.png"), "ONE more");
            chmodSync(join(media, "media_attachments/files/000/000/001/original"), 0o750);
        }
        const ok = (r: ReturnType<typeof spawnSync>) => {
            expect(r.stderr, `${r.stdout}`).not.toContain("ERROR");
            expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        };

        it("the final pass copies only the journaled paths and leaves the target identical to the source (deletions, renames, new directories, edits)", () => {
            const s = servers();
            ok(s.step("presync"));
            const watch = s.watch();
            ok(watch);
            expect(watch.stdout).toContain("change journal running");
            // The catch-up pass mirrors deletions made before it, and hands the journal to the final pass.
            writeFileSync(join(s.targetMedia, "left over.png"), "only on the target");
            const catchup = s.step("catchup");
            ok(catchup);
            expect(catchup.stdout).toContain("covers every change since this pass began");
            expect(treeListing(s.targetMedia)).toBe(treeListing(s.media));
            change(s.media);
            // An edit of the same size in the same second: rsync's quick check alone would miss it, the journal does not.
            writeFileSync(join(s.media, "accounts/avatars/000/000/009/original/avatar.png"), "AVATAR");
            const final = s.step("final");
            ok(final);
            expect(final.stdout).toMatch(/\d+ paths changed since the catch-up pass began \(change journal\)/);
            expect(final.stdout).not.toContain("over the whole tree");
            expect(treeListing(s.targetMedia)).toBe(treeListing(s.media));
            // The watcher is gone once the final pass has used it.
            expect(spawnSync("pgrep", ["-f", join(s.work, "media-journal", "events")]).status).toBe(1);
            // What the verification reads: the pass went by the journal, and the paths it copied compare equal
            // on both servers (media_changed_stats), new directories, deletions and renames included.
            expect(readFileSync(join(s.work, "unit-step.mode"), "utf8")).toBe("journal\n");
            const stats = (root: string) =>
                bashWith(
                    ["mastodon"],
                    `media_changed_stats '${join(root, "..", "..")}' '${join(s.work, "unit-step.paths")}'`,
                ).stdout.trim();
            const onSource = stats(s.media);
            expect(onSource).toMatch(/^[1-9]\d* [1-9]\d* [0-9a-f]{64}$/);
            expect(stats(s.targetMedia)).toBe(onSource);
            // A deletion the target missed, or an edit it did not get, shows.
            writeFileSync(join(s.targetMedia, "media_attachments/files/000/000/002/original/été.jpg"), "two");
            expect(stats(s.targetMedia)).not.toBe(onSource);
            rmSync(join(s.targetMedia, "media_attachments/files/000/000/002/original/été.jpg"));
            writeFileSync(join(s.targetMedia, "media_attachments/files/000/000/003/original/new (1).png"), "new!");
            expect(stats(s.targetMedia)).not.toBe(onSource);
        });

        it("without a whole journal (the watcher stopped) the final pass walks the whole tree, and says why", () => {
            const s = servers();
            ok(s.watch());
            ok(s.step("catchup"));
            const pid = readFileSync(join(s.work, "media-journal", "pid"), "utf8").trim();
            spawnSync("kill", [pid]);
            change(s.media);
            const final = s.step("final");
            ok(final);
            expect(final.stdout).toContain("over the whole tree: no change journal is running");
            // The verification then compares the whole tree.
            expect(readFileSync(join(s.work, "unit-step.mode"), "utf8")).toBe("tree\n");
            expect(treeListing(s.targetMedia)).toBe(treeListing(s.media));
        });

        it("a journal whose queue overflowed is not used", () => {
            const s = servers();
            ok(s.watch());
            ok(s.step("catchup"));
            const events = join(s.work, "media-journal", "events");
            writeFileSync(events, Buffer.concat([readFileSync(events), Buffer.from("Q_OVERFLOW \0")]));
            change(s.media);
            const final = s.step("final");
            ok(final);
            expect(final.stdout).toContain("over the whole tree: the watcher's queue overflowed");
            expect(treeListing(s.targetMedia)).toBe(treeListing(s.media));
        });

        it("without a catch-up pass that mirrored the tree while it ran, the journal is not used", () => {
            const s = servers();
            ok(s.step("catchup"));
            ok(s.watch());
            change(s.media);
            const final = s.step("final");
            ok(final);
            expect(final.stdout).toContain("over the whole tree: no catch-up pass mirrored the tree while this journal ran");
            expect(treeListing(s.targetMedia)).toBe(treeListing(s.media));
        });
    },
);

describe("no step prints a line the command provider cannot read (lib/sh/preamble.sh)", () => {
    // pulumi-resource-command reads output with a 64 KiB bufio.Scanner: a longer line stops its logger and the
    // step hangs for good. `result` refuses such a line; `log` cuts its message at 4000 bytes.
    const step = (body: string) => {
        const work = mkdtempSync(join(tmpdir(), "mm-lines-"));
        const preamble = readFileSync(lib("preamble"), "utf8");
        return spawnSync("bash", ["-c", `STEP=unit-step\nWORK='${work}'\n${preamble}\n${body}`], { encoding: "utf8" });
    };

    it("result refuses a line over 60000 bytes, before printing it", () => {
        const r = step(`result "FACTS $(head -c 70000 /dev/zero | tr '\\0' x)"`);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("result line of 70006 bytes is over the 60000 the command provider can read");
        expect(r.stdout.split("\n").every(l => l.length < 65536)).toBe(true);
        expect(step(`result "FACTS $(head -c 50000 /dev/zero | tr '\\0' x)"`).status).toBe(0);
    });

    it("log cuts a long message at 4000 bytes", () => {
        const r = step(`log "$(head -c 100000 /dev/zero | tr '\\0' y)"`);
        expect(r.status).toBe(0);
        const line = r.stdout.split("\n").find(l => l.includes("unit-step: y"))!;
        expect(line.length).toBeLessThan(4100);
        expect(line.endsWith("y".repeat(100))).toBe(true);
    });
});

describe("a step's progress is kept on the server (lib/sh/preamble.sh)", () => {
    // `pulumi up` shows a step's output lines only as passing status lines: the progress stays in $WORK/$STEP.log.
    it("log lines, the error of die, and when the step started and ended go to $WORK/$STEP.log", () => {
        const work = mkdtempSync(join(tmpdir(), "mm-progress-"));
        const preamble = readFileSync(lib("preamble"), "utf8");
        const run = (body: string) =>
            spawnSync("bash", ["-c", `set -euo pipefail\nSTEP=unit-step\nWORK='${work}'\n${preamble}\n${body}`], { encoding: "utf8" });
        expect(run(`log "copied 3 files"`).status).toBe(0);
        expect(run(`die "disk full"`).status).toBe(1);
        const kept = readFileSync(join(work, "unit-step.log"), "utf8").split("\n");
        expect(kept.some(l => /unit-step: started$/.test(l))).toBe(true);
        expect(kept.some(l => l.endsWith("unit-step: copied 3 files"))).toBe(true);
        expect(kept.some(l => /unit-step: ended with status 0 after \d+ s$/.test(l))).toBe(true);
        expect(kept.some(l => l.endsWith("unit-step: ERROR: disk full"))).toBe(true);
        expect(kept.some(l => /unit-step: ended with status 1 after \d+ s$/.test(l))).toBe(true);
    });
});
