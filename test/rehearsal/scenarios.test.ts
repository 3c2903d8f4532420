/**
 * The program's steps, run for real against the two sandbox hosts by the engine stand-in: a whole move,
 * a rollback, faults in the middle of the restore and of the media transfer, another database role on the
 * target server, and media in object storage. Runs as root (network namespaces); one scenario at a time.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { readState } from "../../rehearsal/engine/runner";
import { Rehearsal } from "../../rehearsal/rehearsal";
import { sandboxDown, setLink, SOURCE_ADDR, TARGET_ADDR } from "../../rehearsal/sandbox/sandbox";
import { PhaseRun } from "../../rehearsal/rehearsal";

const asRoot = process.getuid?.() === 0;
afterAll(() => {
    if (asRoot) sandboxDown();
});

/** Every phase given runs to completion. */
async function phases(r: Rehearsal, ...names: string[]): Promise<void> {
    for (const name of names) {
        const run = await r.phase(name);
        expect(run.ok, `phase ${name}: ${run.error}`).toBe(true);
    }
}

/**
 * A network partition while `step` runs: once the step has printed its first line (in this run's part of the
 * engine log), the target's link goes down for `seconds` while both hosts keep running, then comes back.
 */
async function partitionDuring(
    r: Rehearsal,
    step: string,
    seconds: number,
    run: Promise<PhaseRun>,
): Promise<{ run: PhaseRun; at?: number }> {
    const from = existsSync(r.logPath) ? statSync(r.logPath).size : 0;
    let done = false;
    let at: number | undefined;
    const watcher = (async () => {
        while (!done) {
            const log = existsSync(r.logPath) ? readFileSync(r.logPath).subarray(from).toString() : "";
            if (log.includes(`${step} | `)) {
                await new Promise(resolve => setTimeout(resolve, 1000));
                at = Date.now();
                setLink("target", false);
                try {
                    await new Promise(resolve => setTimeout(resolve, seconds * 1000));
                } finally {
                    setLink("target", true);
                }
                return;
            }
            await new Promise(resolve => setTimeout(resolve, 200));
        }
    })();
    const result = await run;
    done = true;
    await watcher;
    return { run: result, at };
}

/** The checks of a complete move: parity, health through nginx, DNS, no secret in the engine's records. */
function expectMoved(r: Rehearsal): void {
    const parity = r.parity();
    expect(parity.differences, parity.report).toEqual([]);
    // The source's app kept writing until it stopped: more statuses than were seeded, all of them moved.
    expect(r.atStop!.fingerprint.db?.tables.statuses.rows).toBeGreaterThan(r.bundle!.summary.statuses);
    expect(parity.after.db?.tables.statuses.rows).toBe(r.atStop!.fingerprint.db?.tables.statuses.rows);
    expect(r.fetch("target", "/health")).toBe("OK");
    expect(r.fetch("target", "/api/v1/streaming/health")).toBe("OK");
    expect(r.dnsRecord()).toEqual({ content: TARGET_ADDR, ttl: 3600 });
    expect(r.leakedSecrets()).toEqual([]);
}

/**
 * Requests through the source server's nginx (a client on stale DNS) are answered by the target server: the
 * target's nginx logs them, /api/v2/instance names the domain, and a media file arrives intact.
 */
function expectForwarded(r: Rehearsal): void {
    const log = "/var/log/nginx/access.log";
    const before = Number(r.onTarget(`touch ${log} && wc -l <${log}`).trim());
    expect(r.fetch("source", "/api/v2/instance")).toContain('"domain":"mastodon.rehearsal.test"');
    const file = r.onSource("cd /home/mastodon/live/public && find system -type f -regex '[A-Za-z0-9_./-]*' | sort | head -n 1").trim();
    expect(file).toMatch(/^system\//);
    const url = `https://mastodon.rehearsal.test/${file}`;
    const viaSource = r.onSource(`curl -fsSk --max-time 5 --resolve mastodon.rehearsal.test:443:127.0.0.1 '${url}' | sha256sum`);
    expect(viaSource).toBe(r.onTarget(`sha256sum <'/home/mastodon/live/public/${file}'`));
    const served = r.onTarget(`tail -n +${before + 1} ${log}`);
    expect(served).toContain("GET /api/v2/instance");
    expect(served).toContain(`GET /${file}`);
    expect(r.onSource("ls /etc/nginx/sites-enabled").split("\n")).toEqual(["mastodon-migration-forwarding", ""]);
}

describe.runIf(asRoot)("rehearsal scenarios", () => {
    it("1. prepare -> cutover -> complete moves everything and nothing is lost", async () => {
        const r = new Rehearsal({ size: "default" });
        r.setup();
        await phases(r, "prepare");
        expect(r.dnsRecord()).toEqual({ content: SOURCE_ADDR, ttl: 120 });
        expect(r.fetch("source", "/health")).toBe("OK");
        await phases(r, "cutover");
        expect(r.dnsRecord()).toEqual({ content: TARGET_ADDR, ttl: 120 });
        // A client on stale DNS still reaches the source server: its nginx forwards to the target server now.
        expectForwarded(r);
        const verification = r.runs[1].outputs.verification as { identical: boolean; rows: number };
        expect(verification.identical).toBe(true);
        expect(verification.rows).toBeGreaterThan(100_000);
        await phases(r, "complete");
        expectMoved(r);
        // Feeds were rebuilt by tootctl on the target server, as Mastodon would (evidence in Redis and its log).
        expect(r.onTarget("grep -c 'feeds build' /home/mastodon/live/log/standin.log").trim()).not.toBe("0");
        // The migration key is gone from both servers.
        expect(r.onSource("ls /var/lib/mastodon-migration/rehearsal")).not.toContain("migration_ed25519");
        expect(r.onTarget("cat /root/.ssh/authorized_keys")).not.toContain("mastodon-migration@");
        // A second `up` of the same phase runs nothing again.
        const again = await r.phase("complete");
        expect(again.ok).toBe(true);
        expect(again.events.filter(e => e.op !== "same" && e.type.startsWith("command:"))).toEqual([]);
        const window = r.downtime()!;
        expect(window.seconds).toBeGreaterThan(0);
        console.log(`${r.timeline()}\nsetup: ${JSON.stringify(r.setupSeconds)}`);
    });

    it("2. rollback cutover -> prepare puts the source server back in service, and a new cutover still works", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing" });
        r.setup();
        await phases(r, "prepare", "cutover");
        expect(r.onSource("systemctl is-active mastodon-web || true").trim()).toBe("inactive");
        expectForwarded(r);
        // Nothing of Mastodon comes back on the source server by itself (a reboot): units and Redis disabled.
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming", "redis-server"]) {
            expect(r.onSource(`systemctl is-enabled ${unit} || true`).trim(), unit).toBe("disabled");
        }
        // Sidekiq was quieted before it was stopped.
        const standin = r.onSource("cat /home/mastodon/live/log/standin.log");
        expect(standin.indexOf("quiet on SIGTSTP")).toBeGreaterThan(-1);
        expect(standin.indexOf("quiet on SIGTSTP")).toBeLessThan(standin.lastIndexOf("stopping on SIGTERM"));
        // DNS has moved: the rollback is refused unless allowed, saying what it would set aside.
        const refused = await r.phase("prepare");
        expect(refused.ok).toBe(false);
        expect(refused.error).toContain("rollback refused: DNS has pointed at the target server");
        expect(r.dnsRecord()?.content).toBe(TARGET_ADDR);
        r.opts.config = { rollbackAfterDnsMoved: "true" };
        await phases(r, "prepare");
        // The rollback removed the forwarding first: the instance's site (with its maintenance page) is back.
        expect(r.onSource("ls /etc/nginx/sites-enabled").trim()).toBe("mastodon");
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming", "redis-server"]) {
            expect(r.onSource(`systemctl is-enabled ${unit}`).trim(), unit).toBe("enabled");
        }
        expect(r.dnsRecord()).toEqual({ content: SOURCE_ADDR, ttl: 120 });
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"]) {
            expect(r.onSource(`systemctl is-active ${unit}`).trim()).toBe("active");
        }
        expect(r.onSource("redis-cli PING").trim()).toBe("PONG");
        expect(r.fetch("source", "/health")).toBe("OK");
        expect(r.onSource("cat /home/mastodon/live/public/500.html")).not.toContain("mastodon-migration maintenance page");
        expect(r.onSource("ls /home/mastodon/live/public")).not.toContain("500.html.pre-migration");
        // The target server stopped serving; its restored database was kept aside, not dropped.
        expect(r.onTarget("systemctl is-active mastodon-web || true").trim()).toBe("inactive");
        const dbs = r.psql("target", "postgres", "SELECT datname FROM pg_database");
        expect(dbs).toMatch(/mastodon_production_rolled_back_\d{14}/);
        expect(dbs.split("\n")).not.toContain("mastodon_production");
        // The source server lives on; a later cutover moves its current state.
        r.psql(
            "source",
            "mastodon_production",
            "INSERT INTO accounts (username, domain, created_at, updated_at) VALUES ('after_rollback', NULL, now(), now())",
        );
        await phases(r, "cutover", "complete");
        expectMoved(r);
        console.log(r.timeline());
    });

    it("3a. a connection killed in the middle of the database restore: the next up completes", async () => {
        const r = new Rehearsal({ size: "default", targetKind: "existing" });
        r.setup();
        await phases(r, "prepare");
        const cut = await r.phase("cutover", [{ resource: "database-restore", when: { stdoutMatches: "pg_restore -j" } }]);
        expect(cut.ok).toBe(false);
        expect(cut.error).toContain("database-restore");
        await phases(r, "cutover", "complete");
        expectMoved(r);
        // What the restore did after the drop: the orphaned first run keeps the step's lock until it ends,
        // then the second run finds the database restored from this dump, or redoes it from the start.
        const restoreLog = readFileSync(r.logPath, "utf8")
            .split("\n")
            .filter(l => l.includes("database-restore |"));
        console.log(restoreLog.join("\n"));
        expect(restoreLog.some(l => /already restored from this dump|restored mastodon_production:/.test(l))).toBe(true);
        console.log(r.timeline());
    });

    it("3b. a connection killed in the middle of the media transfer: the next up resumes it", async () => {
        const r = new Rehearsal({ size: "default", targetKind: "existing", config: { mediaBwLimitKBps: "4000" } });
        r.setup();
        const cut = await r.phase("prepare", [{ resource: "media-presync", when: { afterSeconds: 3 } }]);
        expect(cut.ok).toBe(false);
        expect(cut.error).toContain("media-presync");
        await phases(r, "prepare", "cutover", "complete");
        expectMoved(r);
        console.log(r.timeline());
    });

    it("4. the target server's database role has another name, and SSH logs in as a sudo user on both servers", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing", targetDbRole: "mastodon_app", sshUser: "admin" });
        r.setup();
        await phases(r, "prepare", "cutover", "complete");
        expectMoved(r);
        // Every step logged in as admin and became root through sudo -n (root-only work like systemctl succeeded).
        const steps = readState(r.statePath).resources.filter(x => x.type === "command:remote:Command");
        expect(steps.length).toBeGreaterThan(15);
        for (const step of steps) {
            expect((step.inputs.connection as { user: string }).user, step.name).toBe("admin");
            expect(String(step.inputs.create), step.name).toMatch(/^sudo -n bash -c /);
        }
        expect(r.onTarget("cat /home/admin/.ssh/authorized_keys")).not.toContain("mastodon-migration@"); // revoked in complete
        expect(r.onTarget("grep '^DB_USER=' /home/mastodon/live/.env.production").trim()).toBe("DB_USER=mastodon_app");
        const owners = r.psql("target", "mastodon_production", "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'");
        expect(owners).toBe("mastodon_app");
    });

    it("5. media on S3 (no media transfer runs) and Elasticsearch (the index is rebuilt)", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing", mediaOnS3: true, elasticsearch: true });
        r.setup();
        await phases(r, "prepare", "cutover", "complete");
        expect(r.events().filter(e => e.name.startsWith("media-"))).toEqual([]);
        expect(r.events().some(e => e.name === "app-search" && e.ok)).toBe(true);
        expect(r.onTarget("grep -c 'tootctl search deploy' /home/mastodon/live/log/standin.log").trim()).not.toBe("0");
        expect(r.onTarget("find /home/mastodon/live/public/system -type f 2>/dev/null | wc -l").trim()).toBe("0");
        const parity = r.parity();
        const nonMedia = parity.differences.filter(d => !d.startsWith("media"));
        expect(nonMedia, parity.report).toEqual([]);
        expect(r.fetch("target", "/health")).toBe("OK");
        expect(r.dnsRecord()).toEqual({ content: TARGET_ADDR, ttl: 3600 });
    });

    it("7. after the cutover every step's script and connection change (another SSH user, new settings): complete touches nothing the users wrote on the target", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing" });
        r.setup();
        await phases(r, "prepare", "cutover");
        // Users write on the target server once DNS points there: a row, an upload, a Redis key.
        r.psql(
            "target",
            "mastodon_production",
            "INSERT INTO accounts (username, domain, created_at, updated_at) VALUES ('written_after_cutover', NULL, now(), now())",
        );
        const upload = "/home/mastodon/live/public/system/after-cutover.png";
        r.onTarget(`echo uploaded > ${upload} && chown mastodon:mastodon ${upload}`);
        r.onTarget("redis-cli SET written:after:cutover yes >/dev/null");
        // A program upgrade and rotated access: every step's rendered script and its connection change.
        r.opts.sshUser = "admin";
        r.opts.config = { maintenanceMessage: "Back soon.", dbRestoreJobs: "1", feedsBuildConcurrency: "2", healthTimeoutSeconds: "90" };
        const complete = await r.phase("complete");
        expect(complete.ok, complete.error).toBe(true);
        const commands = complete.events.filter(e => e.type === "command:remote:Command");
        // Steps that ran only their keep-update (nothing on the servers) ...
        expect(commands.filter(e => e.op === "update").length).toBeGreaterThan(15);
        // ... and nothing else but the key's removal and the dumps' cleanup.
        const others = commands.filter(e => e.op !== "update" && e.op !== "same").map(e => `${e.op} ${e.name}`);
        expect(others.sort()).toEqual([
            "create database-cleanup-source",
            "create database-cleanup-target",
            "delete migration-key-authorize",
            "delete migration-key-generate",
        ]);
        expect(r.psql("target", "mastodon_production", "SELECT count(*) FROM accounts WHERE username = 'written_after_cutover'")).toBe("1");
        expect(r.onTarget(`cat ${upload}`).trim()).toBe("uploaded");
        expect(r.onTarget("redis-cli GET written:after:cutover").trim()).toBe("yes");
        expect(r.onTarget("ls /var/lib/mastodon-migration/rehearsal/db")).not.toContain(".dump");
        expect(r.onSource("ls /var/lib/mastodon-migration/rehearsal/db")).not.toContain(".dump");
        expect(r.fetch("target", "/health")).toBe("OK");
        // The state now holds the new connection and scripts (a later destroy or rollback uses them).
        const restore = readState(r.statePath).resources.find(x => x.name === "database-restore")!;
        expect((restore.inputs.connection as { user: string }).user).toBe("admin");
    });

    it("6. a database that already holds tables on the target server is refused (in prepare and at the restore), then renamed aside when allowed", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing" });
        r.setup();
        const precious = (db: string) => {
            r.psql("target", "postgres", `CREATE DATABASE ${db} OWNER mastodon`);
            r.psql("target", db, "CREATE TABLE precious (note text); INSERT INTO precious VALUES ('keep me')");
        };
        // Someone's data on the target server: found by the readiness check, before any downtime.
        precious("mastodon_production");
        const early = await r.phase("prepare");
        expect(early.ok).toBe(false);
        expect(early.error).toContain("database mastodon_production on the target server already holds 1 tables");
        expect(r.fetch("source", "/health")).toBe("OK");
        // The admin moves it out of the way; a pgbouncer configuration on the source server is copied too.
        r.psql("target", "postgres", "ALTER DATABASE mastodon_production RENAME TO kept_by_admin");
        r.onSource('mkdir -p /etc/pgbouncer && echo \'"mastodon" ""\' > /etc/pgbouncer/userlist.txt');
        await phases(r, "prepare");
        expect(r.onTarget("cat /etc/pgbouncer/userlist.txt")).toContain("mastodon");
        // Data appears again before the cutover: the cutover's readiness check refuses it before any downtime
        // (the restore would refuse it too), and DNS never moves.
        precious("mastodon_production");
        const refused = await r.phase("cutover");
        expect(refused.ok).toBe(false);
        expect(refused.error).toContain("database mastodon_production on the target server already holds 1 tables");
        expect(r.fetch("source", "/health")).toBe("OK");
        expect(r.psql("target", "mastodon_production", "SELECT note FROM precious")).toBe("keep me");
        expect(r.dnsRecord()?.content).toBe(SOURCE_ADDR);
        // Explicitly allowed: the database is renamed aside, not dropped.
        r.opts.config = { dbAllowNonEmptyTarget: "true" };
        await phases(r, "cutover", "complete");
        expectMoved(r);
        const aside = r.psql(
            "target",
            "postgres",
            "SELECT datname FROM pg_database WHERE datname LIKE 'mastodon_production_before_migration_%'",
        );
        expect(aside).toMatch(/^mastodon_production_before_migration_\d{14}$/);
        expect(r.psql("target", aside, "SELECT note FROM precious")).toBe("keep me");
        expect(r.psql("target", "kept_by_admin", "SELECT note FROM precious")).toBe("keep me");
    });

    it("8. a live instance through every fault: the config copy and the Redis copy cut, a network partition mid-transfer, a rollback after a half-done step, a second cutover with no row changed", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing", config: { mediaBwLimitKBps: "100" } });
        r.setup();
        // The config copy cut mid-step, and a partition of the target while the media pre-sync runs (packets
        // vanish, both hosts keep running): the prepare fails on the config copy only; the next one completes.
        const { run: cut, at } = await partitionDuring(
            r,
            "media-presync",
            8,
            r.phase("prepare", [{ resource: "config-env", when: { afterSeconds: 0.5 } }]),
        );
        expect(cut.ok).toBe(false);
        expect(cut.error).toContain("config-env");
        expect(cut.error).not.toContain("media-presync");
        expect(at, "the partition happened during media-presync").toBeDefined();
        const presync = cut.events.find(e => e.name === "media-presync")!;
        expect(presync.ok).toBe(true);
        expect(Date.parse(presync.endedAt)).toBeGreaterThan(at! + 8000);
        await phases(r, "prepare");
        // The Redis copy cut after the source saved and stopped Redis: the cutover fails, the step is not in
        // state, and the rollback (prepare) puts the source back in service.
        const cutRedis = await r.phase("cutover", [{ resource: "redis-copy", when: { stdoutMatches: "SAVE done" } }]);
        expect(cutRedis.ok).toBe(false);
        expect(cutRedis.error).toContain("redis-copy");
        expect(readState(r.statePath).resources.some(x => x.name === "redis-copy")).toBe(false);
        expect(r.dnsRecord()?.content).toBe(SOURCE_ADDR);
        // From here on the source's app writes nothing (test hook), so the next dump holds the same rows.
        r.onSource("runuser -u mastodon -- touch /home/mastodon/live/tmp/standin-writes-paused");
        await phases(r, "prepare");
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"]) {
            expect(r.onSource(`systemctl is-active ${unit}`).trim()).toBe("active");
        }
        expect(r.onSource("redis-cli PING").trim()).toBe("PONG");
        expect(r.fetch("source", "/health")).toBe("OK");
        // A second cutover with no row changed since the first one's dump.
        await phases(r, "cutover", "complete");
        expectMoved(r);
        console.log(r.timeline());
    });
});
