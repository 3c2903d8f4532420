/**
 * The program's steps, run for real against the two sandbox hosts through the real Pulumi CLI: a whole move,
 * a rollback, faults in the middle of the restore and of the media transfer, another database role on the
 * target server, and media in object storage. Runs as root (network namespaces); one scenario at a time.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readState } from "../../rehearsal/pulumi/runner";
import { Rehearsal } from "../../rehearsal/rehearsal";
import { HostName, onHost, sandboxDown, setLink, SOURCE_ADDR, TARGET_ADDR } from "../../rehearsal/sandbox/sandbox";
import { changes, hostRun, PhaseRun } from "../../rehearsal/rehearsal";
import { fingerprint } from "../../rehearsal/instance/parity";
import { PROJECT } from "../../lib/config-keys";

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

/** Regular media files under public/system on a host (rsync's hidden temporary files left out). */
function mediaFiles(host: HostName): number {
    const r = onHost(host, "find /home/mastodon/live/public/system -type f ! -name '.*' 2>/dev/null | wc -l");
    return Number(r.stdout.trim());
}

interface Partition {
    /** When the link went down (ms since the epoch). */
    at: number;
    /** Media files on the target and on the source at that moment. */
    filesOnTarget: number;
    filesOnSource: number;
    /** rsync processes on the target while its link was down (the receiving side keeps running). */
    rsyncOnTarget: number;
}

/**
 * A network partition in the middle of the media transfer of `run`: once the first files have arrived on the
 * target, the target's link goes down for `seconds` (packets vanish; both hosts, their processes and their
 * connections keep running: no socket is closed), then comes back.
 */
async function partitionMidTransfer(seconds: number, run: Promise<PhaseRun>): Promise<{ run: PhaseRun; partition?: Partition }> {
    let done = false;
    let partition: Partition | undefined;
    const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
    const watcher = (async () => {
        while (!done) {
            if (mediaFiles("target") > 0) {
                setLink("target", false);
                try {
                    const at = Date.now();
                    const rsync = onHost("target", "pgrep -c -x rsync || true").stdout.trim();
                    partition = {
                        at,
                        filesOnTarget: mediaFiles("target"),
                        filesOnSource: mediaFiles("source"),
                        rsyncOnTarget: Number(rsync),
                    };
                    await sleep(seconds * 1000);
                } finally {
                    setLink("target", true);
                }
                return;
            }
            await sleep(100);
        }
    })();
    const result = await run;
    done = true;
    await watcher;
    return { run: result, partition };
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
        // The DNS record is imported by the first deployment only: in state its id is the record id, so an
        // `import` option left on would make the real engine re-import it as a replacement on every later up.
        const dns = r.events().filter(e => e.name === "dns-a" && !e.planned);
        expect(dns.filter(e => e.op === "import").map(e => e.phase)).toEqual(["prepare"]);
        expect(dns.filter(e => e.op.startsWith("replace"))).toEqual([]);
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
        // The rollback removed the forwarding: the instance's own site is enabled again.
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
        // (The connection is a secret: encrypted in the checkpoint, read from its decrypted export.)
        const steps = r.revealedState().resources.filter(x => x.type === "command:remote:Command");
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

    it("5. media on S3 (no media transfer runs), Elasticsearch (the target's engine down is refused before any downtime; the index is rebuilt) and pgbouncer (the target's app connects through it)", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing", mediaOnS3: true, elasticsearch: true, pgbouncer: true });
        r.setup();
        // The target's pgbouncer already runs, as Debian's package leaves it: no database configured yet.
        r.onTarget(
            "printf '[databases]\\n[pgbouncer]\\nlisten_addr = 127.0.0.1\\nlisten_port = 6432\\nauth_type = md5\\nauth_file = /etc/pgbouncer/userlist.txt\\n" +
                "logfile = /var/log/postgresql/pgbouncer.log\\npidfile = /var/run/postgresql/pgbouncer.pid\\nunix_socket_dir = /var/run/postgresql\\n' " +
                ">/etc/pgbouncer/pgbouncer.ini && : >/etc/pgbouncer/userlist.txt && systemctl enable --now pgbouncer",
        );
        await phases(r, "prepare");
        expect(r.events().some(e => e.name === "search-check" && e.ok)).toBe(true);
        // The target's search engine goes down after prepare: the cutover stops before the maintenance page.
        r.onTarget("systemctl stop elasticsearch");
        const refused = await r.phase("cutover");
        expect(refused.ok).toBe(false);
        expect(refused.error).toContain("no search engine answers at http://localhost:9200");
        expect(r.events().filter(e => e.phase === "cutover" && e.name.startsWith("maintenance-"))).toEqual([]);
        expect(r.onSource("systemctl is-active mastodon-web").trim()).toBe("active");
        r.startSearchEngine("target");
        await phases(r, "cutover", "complete");
        expect(r.events().filter(e => e.name.startsWith("media-"))).toEqual([]);
        expect(r.events().some(e => e.name === "app-search" && e.ok)).toBe(true);
        expect(r.onTarget("grep -c 'tootctl search deploy' /home/mastodon/live/log/standin.log").trim()).not.toBe("0");
        // The target's index holds every account and status of the source as it was when its services stopped
        // (its database is that state now; rows the target wrote since carry larger ids).
        const [maxStatus, statuses] = r.psql("source", "mastodon_production", "SELECT max(id), count(*) FROM statuses").split("|");
        const [maxAccount, accounts] = r.psql("source", "mastodon_production", "SELECT max(id), count(*) FROM accounts").split("|");
        expect(Number(statuses)).toBeGreaterThan(0);
        expect(r.searchCount("target", "statuses", maxStatus)).toBe(Number(statuses));
        expect(r.searchCount("target", "accounts", maxAccount)).toBe(Number(accounts));
        // The stand-in tootctl search deploy fails without its engine.
        r.onTarget("systemctl stop elasticsearch");
        expect(() => r.tootctl("target", "search deploy")).toThrow(/the search engine at http:\/\/localhost:9200 is not reachable/);
        // pgbouncer: its configuration was copied, the role has DB_PASS, and the target's app logs in through it
        // (DB_HOST=localhost DB_PORT=6432); without pgbouncer the app cannot reach its database.
        expect(r.onTarget("grep -c '^DB_PORT=6432$' /home/mastodon/live/.env.production").trim()).toBe("1");
        expect(r.onTarget("systemctl is-active pgbouncer").trim()).toBe("active");
        expect(r.onTarget("cat /var/log/postgresql/pgbouncer.log")).toMatch(/login attempt: db=mastodon_production user=mastodon/);
        r.onTarget("systemctl stop pgbouncer");
        expect(() => r.tootctl("target", "version")).toThrow(/DB_HOST=localhost DB_PORT=6432 DB_USER=mastodon\) is not reachable/);
        r.onTarget("systemctl start pgbouncer");
        expect(r.tootctl("target", "version").trim()).toBe("4.5.2");
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
        const restore = r.revealedState().resources.find(x => x.name === "database-restore")!;
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

    it("8. a live instance through every fault: a network partition mid-transfer, the config copy and the Redis copy cut half-way, a rollback after the half-done Redis copy, a second cutover with no row changed", async () => {
        const r = new Rehearsal({ size: "tiny", targetKind: "existing", config: { mediaBwLimitKBps: "100" } });
        r.setup();
        // A partition of the target while the media pre-sync transfers, and the config copy cut once it has
        // started copying: the prepare fails on the config copy only; the transfer waits out the partition.
        const { run: cut, partition } = await partitionMidTransfer(
            8,
            r.phase("prepare", [{ resource: "config-env", when: { stdoutMatches: "first copy to the target server" } }]),
        );
        expect(cut.ok).toBe(false);
        expect(cut.error).toContain("config-env");
        expect(cut.error).not.toContain("media-presync");
        expect(partition, "the link went down during the media transfer").toBeDefined();
        console.log(`partition: ${JSON.stringify(partition)}`);
        expect(partition!.filesOnTarget).toBeGreaterThan(0);
        expect(partition!.filesOnTarget).toBeLessThan(partition!.filesOnSource);
        expect(partition!.rsyncOnTarget).toBeGreaterThan(0);
        const presync = cut.events.find(e => e.name === "media-presync")!;
        expect(presync.ok).toBe(true);
        expect(Date.parse(presync.endedAt)).toBeGreaterThan(partition!.at + 8000);
        expect(readState(r.statePath).resources.some(x => x.name === "config-env")).toBe(false);
        await phases(r, "prepare");
        const envHash = (host: HostName) => onHost(host, "sha256sum </home/mastodon/live/.env.production").stdout;
        expect(envHash("target")).toBe(envHash("source"));

        // The Redis copy cut after the source saved and stopped Redis: the cutover fails with the source stopped,
        // the step is not in state (its undo cannot run), and DNS never moved.
        const cutRedis = await r.phase("cutover", [{ resource: "redis-copy", when: { stdoutMatches: "SAVE done" } }]);
        expect(cutRedis.ok).toBe(false);
        expect(cutRedis.error).toContain("redis-copy");
        expect(readState(r.statePath).resources.some(x => x.name === "redis-copy")).toBe(false);
        expect(r.onSource("systemctl is-active redis-server || true").trim()).toBe("inactive");
        expect(r.onSource("systemctl is-enabled redis-server || true").trim()).toBe("disabled");
        expect(r.onSource("systemctl is-active mastodon-web || true").trim()).toBe("inactive");
        expect(r.dnsRecord()?.content).toBe(SOURCE_ADDR);
        // The source's tables as the first cutover stopped them. From here on its app writes nothing (test hook).
        const firstStop = fingerprint(hostRun("source"), { redis: false }).db!.tables;
        r.onSource("runuser -u mastodon -- touch /home/mastodon/live/tmp/standin-writes-paused");
        // The rollback puts the source back in service, Redis included (started and enabled at boot again).
        await phases(r, "prepare");
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming", "redis-server"]) {
            expect(r.onSource(`systemctl is-active ${unit}`).trim(), unit).toBe("active");
            expect(r.onSource(`systemctl is-enabled ${unit}`).trim(), unit).toBe("enabled");
        }
        expect(r.onSource("redis-cli PING").trim()).toBe("PONG");
        expect(r.fetch("source", "/health")).toBe("OK");
        expect(r.onSource("ls /var/lib/mastodon-migration/rehearsal")).not.toContain("redis-saved");

        // A second cutover with no row changed since the first one stopped the source: the new dump must still
        // reach the target and be restored (a stale one of the first attempt lies there).
        const logFrom = statSync(r.logPath).size;
        await phases(r, "cutover");
        expect(r.atStop!.fingerprint.db!.tables).toEqual(firstStop);
        const second = readFileSync(r.logPath).subarray(logFrom).toString();
        expect(second).toMatch(/database-transfer \| .*dump on the target server, identity verified/);
        expect(second).toMatch(/redis-copy \| .*SAVE done on the source server/);
        await phases(r, "complete");
        expectMoved(r);
        console.log(r.timeline());
    });

    it("9. destroy after complete undoes nothing: the target keeps serving and the source stays stopped; the EC2 instance, its address and the DNS record are refused and kept; preview after complete runs nothing", async () => {
        // aws target: the EC2 instance, Elastic IP, association, key pair and firewall are recorded by the engine.
        const r = new Rehearsal({ size: "tiny" });
        r.setup();
        await phases(r, "prepare", "cutover", "complete");
        const statuses = Number(r.psql("target", "mastodon_production", "SELECT count(*) FROM statuses"));
        /** Lines a command printed on a server since `from` (the engine streams every one as `    name | line`). */
        const printedSince = (from: number) =>
            readFileSync(r.logPath)
                .subarray(from)
                .toString()
                .split("\n")
                .filter(l => /^ {4}\S+ \| /.test(l));

        // A rotated targetSshPublicKey after the move replaces and updates nothing: the key pair ignores its
        // publicKey, the instance its keyName (on AWS a new key pair would replace the instance).
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rotated", "-f", join(r.dir, "rotated")]);
        r.opts.config = { targetSshPublicKey: readFileSync(join(r.dir, "rotated.pub"), "utf8").trim() };
        const rotated = await r.phase("complete");
        expect(rotated.ok, rotated.error).toBe(true);
        expect(changes(rotated)).toEqual([]);
        expect(readState(r.statePath).resources.find(x => x.name === "target-key")?.inputs.publicKey).not.toContain("rotated");

        // preview after complete: every step decided, none would run, nothing ran, the state untouched.
        const stateBefore = readFileSync(r.statePath, "utf8");
        let from = statSync(r.logPath).size;
        const planned = await r.preview("complete");
        expect(planned.ok, planned.error).toBe(true);
        expect(planned.events.filter(e => e.type.startsWith("command:")).length).toBeGreaterThan(30);
        expect(planned.events.every(e => e.planned)).toBe(true);
        expect(changes(planned)).toEqual([]);
        expect(printedSince(from)).toEqual([]);
        expect(readFileSync(r.statePath, "utf8")).toBe(stateBefore);

        // pulumi destroy: the real engine walks the graph backwards and fails at the first protected resource it
        // reaches (the DNS record, which comes last); what it removed from the stack before and beside it (the
        // resources no protected one depends on) was only retained: no delete command ran on a server, nothing
        // was deleted at AWS or Cloudflare.
        const before = readState(r.statePath).resources;
        const steps = before
            .filter(x => x.type.startsWith("command:"))
            .map(x => x.name)
            .sort();
        expect(steps.length).toBeGreaterThan(30);
        const cloud = () => Object.keys((JSON.parse(readFileSync(r.awsStatePath, "utf8")) as { resources: object }).resources).sort();
        const account = cloud();
        expect(account.filter(k => k.startsWith("aws:ec2/instance:Instance "))).toHaveLength(1);
        from = statSync(r.logPath).size;
        const refused = await r.destroy("complete");
        expect(refused.ok).toBe(false);
        expect(refused.error).toMatch(/dnsRecord:DnsRecord::dns-a" cannot be deleted/);
        expect(refused.events.find(e => e.name === "dns-a")?.error).toContain("because it is protected");
        // (A component of the program has no provider: its delete is only its removal from the stack.)
        const component = (type: string) => type.startsWith(`${PROJECT}:`);
        expect(
            refused.events.filter(e => !["retain", "discard"].includes(e.op) && !component(e.type)).map(e => `${e.op} ${e.name}`),
        ).toEqual([]);
        expect(printedSince(from)).toEqual([]);

        // pulumi destroy --exclude-protected: the real CLI keeps the protected resources AND every resource one of
        // them depends on (the DNS record depends on the whole chain of cutover steps, the instance on its key
        // pair and firewall): here that is all that is left, so it removes nothing and says so.
        from = statSync(r.logPath).size;
        const destroyed = await r.destroy("complete", { excludeProtected: true });
        expect(destroyed.ok, destroyed.error).toBe(true);
        expect(destroyed.events).toEqual([]);
        expect(readFileSync(r.logPath).subarray(from).toString()).toMatch(/There were no unprotected resources to destroy/);
        const kept = readState(r.statePath).resources;
        expect(
            kept
                .filter(x => x.protect)
                .map(x => `${x.type} ${x.name}`)
                .sort(),
        ).toEqual([
            "aws:ec2/eip:Eip target-eip",
            "aws:ec2/eipAssociation:EipAssociation target-eip-association",
            "aws:ec2/instance:Instance target-instance",
            "cloudflare:index/dnsRecord:DnsRecord dns-a",
        ]);
        // Every resource left is protected, or a protected one depends on it (directly, through others, or as
        // its parent); every step that left the stack was retained by the first destroy.
        const byUrn = new Map(kept.map(x => [x.urn, x]));
        const needed = new Set<string>();
        const need = (urn: string) => {
            const x = byUrn.get(urn);
            if (!x || needed.has(urn)) return;
            needed.add(urn);
            [...x.dependencies, ...(x.parent ? [x.parent] : [])].forEach(need);
        };
        kept.filter(x => x.protect).forEach(x => need(x.urn));
        expect(kept.filter(x => !needed.has(x.urn)).map(x => x.name)).toEqual([]);
        const retained = refused.events.filter(e => e.type.startsWith("command:") && e.op === "retain" && e.ok).map(e => e.name);
        const keptSteps = kept.filter(x => x.type.startsWith("command:")).map(x => x.name);
        expect([...retained, ...keptSteps].sort()).toEqual(steps);
        expect(printedSince(from)).toEqual([]);

        // To let go of the stack, the admin unprotects (README: "destroy refuses them until pulumi state
        // unprotect"): a destroy then retains every resource, and the EC2 instance, its address and the DNS
        // record stay where they are, at AWS and Cloudflare.
        r.unprotectAll();
        from = statSync(r.logPath).size;
        const released = await r.destroy("complete");
        expect(released.ok, released.error).toBe(true);
        expect(
            released.events
                .filter(e => !e.ok || (!["retain", "discard"].includes(e.op) && !component(e.type)))
                .map(e => `${e.op} ${e.name}`),
        ).toEqual([]);
        expect(
            released.events
                .filter(e => e.type.startsWith("command:"))
                .map(e => e.name)
                .sort(),
        ).toEqual(keptSteps.sort());
        expect(printedSince(from)).toEqual([]);
        expect(readState(r.statePath).resources).toEqual([]);
        expect(cloud()).toEqual(account);

        // The target still serves: nginx, Mastodon's units, its database and Redis.
        expect(r.fetch("target", "/health")).toBe("OK");
        expect(r.fetch("target", "/api/v1/streaming/health")).toBe("OK");
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming", "redis-server", "nginx", "postgresql"]) {
            expect(r.onTarget(`systemctl is-active ${unit} || true`).trim(), unit).toBe("active");
        }
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"]) {
            expect(r.onTarget(`systemctl is-enabled ${unit} || true`).trim(), unit).toBe("enabled");
        }
        expect(r.psql("target", "postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'mastodon_production%'")).toBe(
            "mastodon_production",
        );
        expect(Number(r.psql("target", "mastodon_production", "SELECT count(*) FROM statuses"))).toBeGreaterThanOrEqual(statuses);
        expect(r.onTarget("redis-cli PING").trim()).toBe("PONG");
        // The source stays stopped, and nothing of Mastodon comes back there at boot; its nginx keeps forwarding.
        for (const unit of ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming", "redis-server"]) {
            expect(r.onSource(`systemctl is-active ${unit} || true`).trim(), unit).toBe("inactive");
            expect(r.onSource(`systemctl is-enabled ${unit} || true`).trim(), unit).toBe("disabled");
        }
        expect(r.onSource("ls /etc/nginx/sites-enabled").trim()).toBe("mastodon-migration-forwarding");
        // And the move is intact: parity against the source at stop, DNS on the target.
        expectMoved(r);
        console.log(r.timeline());
    });
});
