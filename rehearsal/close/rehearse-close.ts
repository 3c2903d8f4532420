/**
 * `npm run rehearse -- --close`: a complete local rehearsal of closing an instance, every closing phase
 * against the sandbox's source host (periods shortened by the test-only key closeTestPeriodSeconds), with per
 * phase the HTTP status of every path class through nginx, the backups gate, the deletion progress, the
 * archive restored and checked, and the final state of the services and DNS.
 */
import { Closure, formatStatusTable } from "./closure";
import { SizeName } from "../instance/generate";
import { sandboxDown } from "../sandbox/sandbox";
import { pluginsLine } from "../pulumi/tools";

const sleep = (s: number) => new Promise(r => setTimeout(r, s * 1000));

export async function rehearseClose(size: SizeName): Promise<number> {
    const c = new Closure({ size, extraLocalAccounts: 60, periodSeconds: 5, echo: false });
    const failures: string[] = [];
    const check = (ok: boolean, what: string) => {
        console.log(`  ${ok ? "✓" : "✗"} ${what}`);
        if (!ok) failures.push(what);
    };
    const phase = async (name: string) => {
        console.log(`\n== pulumi config set closePhase ${name} && pulumi up`);
        let run = await c.phase(name);
        const wait = run.error?.match(/until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/);
        if (!run.ok && wait) {
            console.log(`  refused, as it must be: ${run.error!.split("\n")[0]}`);
            await sleep((c.opts.periodSeconds ?? 5) + 1);
            run = await c.phase(name);
        }
        if (!run.ok) throw new Error(`closePhase ${name} failed: ${run.error}`);
        const steps = run.events.filter(e => e.type.startsWith("command:") && e.op !== "same");
        for (const e of steps)
            console.log(`  ${e.ok ? "✓" : "✗"} ${e.op.padEnd(8)} ${e.name.padEnd(28)} ${e.seconds.toFixed(1).padStart(6)} s`);
        return run;
    };
    try {
        console.log(
            `== closing rehearsal: tiny instance on the sandbox's source host (real Pulumi CLI; TEST STAND-INS: systemd, Mastodon app, remote servers, S3, provider plugins ${pluginsLine()})`,
        );
        await c.setup();
        const locals = c.psql("SELECT count(*) FROM accounts WHERE domain IS NULL");
        console.log(
            `== source server seeded: ${locals} local accounts, ${c.psql("SELECT count(*) FROM accounts WHERE domain IS NOT NULL")} remote accounts on ${c.psql("SELECT count(DISTINCT domain) FROM accounts WHERE domain IS NOT NULL")} servers`,
        );
        console.log("\n== before: HTTP status per path class through nginx");
        console.log(formatStatusTable(c.statusTable()));

        const announce = await phase("announce");
        console.log(
            `  announced at ${announce.outputs.announcedAt}; registrations: ${c.psql("SELECT value FROM settings WHERE var = 'registrations_mode'").replace(/\n/g, " ")}`,
        );
        check(c.psql("SELECT count(*) FROM announcements WHERE published") === "1", "the announcement is published");

        await phase("closing");
        console.log("  backups gate:");
        for (const l of c.stepLog("archives-ready")) console.log(`    ${l.trim()}`);
        c.pickArchive();
        console.log("  HTTP status per path class through nginx (410 for all but media and archives):");
        const closing = c.statusTable();
        console.log(formatStatusTable(closing));
        check(
            closing.filter(r => !["media", "export archive"].includes(r.what)).every(r => r.status === 410),
            "every path but media answers 410",
        );
        check(
            closing.filter(r => ["media", "export archive"].includes(r.what)).every(r => r.status === 200),
            "media and export archives are served (200)",
        );

        await phase("self-destruct");
        console.log("  deletion progress:");
        for (const l of c.stepLog("self-destruct-follow")) console.log(`    ${l.trim()}`);
        await c.deliveriesSettled();
        const deletion = c.deletionCheck();
        console.log(
            `  ${deletion.deliveries} Delete activities received by ${deletion.hosts} remote servers for ${deletion.locals} local accounts`,
        );
        check(
            deletion.problems.length === 0,
            `every local account deleted exactly once on every remote server, no remote account touched${deletion.problems.length ? `: ${deletion.problems.slice(0, 3).join("; ")}` : ""}`,
        );
        const refused = await c.phase("closing");
        check(
            !refused.ok && /self-destructed/.test(refused.error ?? ""),
            `going back after self-destruct is refused: ${(refused.error ?? "").split("\n")[0]}`,
        );

        const expected = c.countInstance();
        const tomb = await phase("tombstone");
        const archive = tomb.outputs.archive as { bucket: string; key: string; sha256: string; bytes: number };
        const restored = c.restoreArchive(archive.key);
        const uploadLeaks = c.uploadSecretLeaks();
        check(
            uploadLeaks.length === 0,
            `the upload credentials' secret went only through the step's secret stdin${uploadLeaks.length ? `: found in ${uploadLeaks.join(", ")}` : ""}`,
        );
        console.log(
            `  archive s3://${archive.bucket}/${archive.key}: ${restored.bytes} bytes, downloaded, decrypted (age), restored into a scratch database: ${restored.tables} tables, ${restored.rows} rows, ${restored.accounts} local accounts marked deleted`,
        );
        check(
            restored.mismatches.length === 0 && restored.tables === Object.keys(expected).length,
            `the archive holds every table with the instance's row counts${restored.mismatches.length ? `: ${restored.mismatches.join("; ")}` : ""}`,
        );
        console.log("  HTTP status per path class through nginx (410 for every path):");
        const tombstone = c.statusTable();
        console.log(formatStatusTable(tombstone));
        check(
            tombstone.every(r => r.status === 410),
            "every path answers 410, media included",
        );

        await phase("parked");
        console.log("\n== final state");
        for (const [unit, state] of Object.entries(c.services())) console.log(`  ${unit.padEnd(20)} ${state}`);
        for (const d of c.dnsState()) console.log(`  DNS ${d}`);
        const leaks = c.r.leakedSecrets();
        check(
            leaks.length === 0,
            "no secret of .env.production or the SSH key in plaintext in the checkpoint, stack files, log or outputs",
        );
        console.log(failures.length === 0 ? "\n== closing rehearsal passed" : `\n== closing rehearsal FAILED: ${failures.join("; ")}`);
        return failures.length === 0 ? 0 : 1;
    } finally {
        await c.stop();
        if (process.env.REHEARSAL_KEEP !== "1") sandboxDown();
    }
}
