/**
 * Closing an instance (operation close), run for real against the sandbox's source host through the real
 * Pulumi CLI, with the remote servers and an S3-compatible server standing in for the outside world: the whole
 * closure with its faults (the connection dropped while the deletion notices are followed, the upload
 * interrupted) and the refused rollback after self-destruct; then the rollback before self-destruct with the
 * backups gate timing out. Runs as root (network namespaces); one scenario at a time.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { readState, stateResource } from "../../rehearsal/pulumi/runner";
import { Closure, PathStatus } from "../../rehearsal/close/closure";
import { changes } from "../../rehearsal/rehearsal";
import { sandboxDown } from "../../rehearsal/sandbox/sandbox";

const asRoot = process.getuid?.() === 0;
const closures: Closure[] = [];
const stopAll = () => Promise.all(closures.map(c => c.stop()));
beforeEach(stopAll);
afterAll(async () => {
    await stopAll();
    if (asRoot) sandboxDown();
});

const sleep = (s: number) => new Promise(r => setTimeout(r, s * 1000));

async function ok(c: Closure, phase: string): Promise<void> {
    const run = await c.phase(phase);
    expect(run.ok, `closePhase ${phase}: ${run.error}`).toBe(true);
}

const status = (rows: PathStatus[], what: string) => rows.find(r => r.what === what)?.status;

describe.runIf(asRoot)("closing an instance", () => {
    it("1. announce -> closing -> self-destruct (connection dropped while following) -> tombstone (upload interrupted) -> parked; no way back after self-destruct", async () => {
        const c = new Closure({ size: "tiny", periodSeconds: 2 });
        closures.push(c);
        await c.setup();
        const before = c.statusTable();
        expect(status(before, "health")).toBe(200);

        // announce: published, registrations closed; the notice period refuses the next phase, with its date.
        await ok(c, "announce");
        expect(c.psql("SELECT count(*) FROM announcements WHERE published AND text LIKE '%2026-12-31%successor.example%'")).toBe("1");
        expect(c.psql("SELECT value FROM settings WHERE var = 'registrations_mode'")).toBe("--- none");
        // (A period of 10 minutes for this one up, so that it is surely refused; 2 s for the rest.)
        c.opts.config = { closeTestPeriodSeconds: "600" };
        const early = await c.phase("closing");
        c.opts.config = {};
        expect(early.ok).toBe(false);
        expect(early.error).toMatch(/the notice period runs until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(announced .*, 600 s\)/);
        expect(changes(c.r.runs[c.r.runs.length - 1])).toEqual([]);

        // closing: 410 for all but media and archives, every archive built, then the download period.
        await ok(c, "closing");
        expect(c.psql("SELECT count(*) FROM backups WHERE NOT processed")).toBe("0");
        c.pickArchive();
        const closing = c.statusTable();
        for (const row of closing) expect(row.status, row.what).toBe(["media", "export archive"].includes(row.what) ? 200 : 410);
        await sleep(2); // the download period

        // self-destruct, with the SSH connection dropped while the notices are followed: the next up follows
        // again, and the instance is never self-destructed twice.
        const dropped = await c.phase("self-destruct", [{ resource: "self-destruct-follow", when: { afterSeconds: 3 } }]);
        expect(dropped.ok).toBe(false);
        expect(dropped.error).toContain("self-destruct-follow");
        await ok(c, "self-destruct");
        const second = c.r.runs[c.r.runs.length - 1];
        expect(second.events.find(e => e.name === "self-destruct-enable")?.op).toBe("same");
        expect(c.r.onSource("grep -c 'tootctl self-destruct: value printed' /home/mastodon/live/log/standin.log").trim()).toBe("1");
        expect(c.r.onSource("grep -c '^SELF_DESTRUCT=' /home/mastodon/live/.env.production").trim()).toBe("1");
        await c.deliveriesSettled();
        const deletion = c.deletionCheck();
        expect(deletion.problems).toEqual([]);
        expect(deletion.deliveries).toBe(deletion.locals * deletion.hosts);
        // The SELF_DESTRUCT value never passed through Pulumi.
        const value = c.r.onSource("sed -n 's/^SELF_DESTRUCT=//p' /home/mastodon/live/.env.production").trim();
        expect(value.length).toBeGreaterThan(40);
        expect(readFileSync(c.r.statePath, "utf8")).not.toContain(value);
        expect(readFileSync(c.r.logPath, "utf8")).not.toContain(value);

        // No way back.
        for (const back of ["closing", "announce", "open"]) {
            const refused = await c.phase(back);
            expect(refused.ok).toBe(false);
            expect(refused.error).toContain("this instance was self-destructed");
        }

        // tombstone, with the upload cut after 8 KiB: the dump is kept, the next up uploads it whole.
        const expected = c.countInstance();
        c.cutNextUpload();
        const cut = await c.phase("tombstone");
        expect(cut.ok).toBe(false);
        expect(cut.error).toContain("tombstone-upload");
        expect(c.s3Requests().some(r => r.cut)).toBe(true);
        await ok(c, "tombstone");
        const last = c.r.runs[c.r.runs.length - 1];
        expect(last.events.find(e => e.name === "tombstone-dump")?.op).toBe("same");
        const archive = last.outputs.archive as { key: string; sha256: string };
        const restored = c.restoreArchive(archive.key);
        expect(restored.mismatches).toEqual([]);
        expect(restored.tables).toBe(Object.keys(expected).length);
        expect(restored.accounts).toBe(deletion.locals);
        // The upload used the access key the program created for it, and nothing else wrote to the bucket.
        const accessKey = stateResource(readState(c.r.statePath), "aws:iam/accessKey:AccessKey", "archive-upload");
        const writers = new Set(
            c
                .s3Requests()
                .filter(r => r.method === "PUT")
                .map(r => r.accessKeyId),
        );
        expect([...writers]).toEqual([accessKey!.id]);
        // Its secret reached the server only as the upload step's secret stdin: nowhere in the log or in plain state.
        // (The checkpoint keeps the key's secret output encrypted: its value comes from the decrypted export.)
        expect(accessKey!.secretPaths).toContain("secret");
        const secret = c.uploadSecret();
        expect(secret).toMatch(/^[A-Za-z0-9+/]{40}$/);
        expect(readFileSync(c.r.statePath, "utf8")).not.toContain(secret);
        const uploadStep = stateResource(readState(c.r.statePath), "command:remote:Command", "tombstone-upload")!;
        expect(uploadStep.secretPaths).toContain("stdin");
        expect(readFileSync(c.r.logPath, "utf8")).not.toContain(secret);
        expect(String(uploadStep.inputs.create)).not.toContain(secret);
        expect(JSON.stringify(uploadStep.outputs)).not.toContain(secret);
        // The step's stdin, decrypted, is where it went.
        const revealedStep = stateResource(c.r.revealedState(Closure.STACK), "command:remote:Command", "tombstone-upload")!;
        expect(String(revealedStep.inputs.stdin)).toContain(secret);
        expect(c.uploadSecretLeaks()).toEqual([]);
        const tombstone = c.statusTable();
        for (const row of tombstone) expect(row.status, row.what).toBe(410);
        expect(c.services()).toMatchObject({
            nginx: "active, enabled",
            postgresql: "inactive, disabled",
            "mastodon-sidekiq": "inactive, disabled",
        });

        // parked, after the tombstone period: the upload credentials are gone, the bucket and DNS stay.
        await sleep(2);
        await ok(c, "parked");
        const state = readState(c.r.statePath);
        expect(stateResource(state, "aws:iam/accessKey:AccessKey", "archive-upload")).toBeUndefined();
        expect(stateResource(state, "aws:s3/bucket:Bucket", "archive")).toBeDefined();
        expect(c.dnsState().sort()).toEqual(
            [
                "dns-a: A mastodon.rehearsal.test " + c.r.stackConfig("prepare").config["mastodon-migration:sourceHost"],
                'dns-parked-dmarc: TXT _dmarc.mastodon.rehearsal.test "v=DMARC1; p=reject"',
                "dns-parked-mx: MX mastodon.rehearsal.test .",
                'dns-parked-spf: TXT mastodon.rehearsal.test "v=spf1 -all"',
            ].sort(),
        );
        expect(c.r.leakedSecrets()).toEqual([]);
    });

    it("2. the backups gate times out with an archive pending, then passes; rollback to announce, then to open, undoes the closure", async () => {
        const c = new Closure({ size: "tiny", periodSeconds: 2, pendingJobs: false, config: { closeBackupTimeoutSeconds: "10" } });
        closures.push(c);
        await c.setup();
        await ok(c, "announce");
        await sleep(2);
        // One archive was requested before, and its Sidekiq job is lost: the gate waits, then fails.
        const orphan = Number(c.psql("SELECT min(id) FROM backups WHERE NOT processed"));
        const timedOut = await c.phase("closing");
        expect(timedOut.ok).toBe(false);
        expect(timedOut.error).toMatch(/backups gate: 1 archives still pending after 10s/);
        expect(c.stepLog("archives-ready").some(l => /backups gate: \d+ pending, \d+ processed/.test(l))).toBe(true);
        // Nothing else changed meanwhile: 410 still in place, and no second request for anyone.
        expect(status(c.statusTable(), "web: home page")).toBe(410);
        const requested = c.psql("SELECT count(*) FROM backups");
        // The admin queues the lost job again; the next up waits and passes, requesting nothing twice.
        c.pushBackupJob(orphan);
        await ok(c, "closing");
        expect(c.psql("SELECT count(*) FROM backups")).toBe(requested);
        expect(c.psql("SELECT count(*) FROM backups WHERE NOT processed")).toBe("0");

        // Back to announce: the normal site returns; the announcement and closed registrations stay.
        await ok(c, "announce");
        const site = c.statusTable();
        expect(status(site, "web: home page")).toBe(200);
        expect(status(site, "health")).toBe(200);
        expect(c.r.onSource("ls /etc/nginx/sites-available")).not.toContain("pre-close");
        expect(c.psql("SELECT count(*) FROM announcements WHERE published")).toBe("1");
        // Back to open: the announcement is withdrawn, registrations are open again, as they were.
        await ok(c, "open");
        expect(c.psql("SELECT count(*) FROM announcements WHERE published")).toBe("0");
        expect(c.psql("SELECT value FROM settings WHERE var = 'registrations_mode'")).toBe("--- open");
        expect(c.r.onSource("systemctl is-active mastodon-web mastodon-sidekiq").trim().split("\n")).toEqual(["active", "active"]);
        // The users' archives stay (they are theirs).
        expect(Number(c.psql("SELECT count(*) FROM backups WHERE processed"))).toBeGreaterThan(0);
    });
});
