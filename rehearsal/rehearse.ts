/**
 * The main job: a complete local rehearsal of a Mastodon move.
 *
 *   npm run rehearse                       # default instance: prepare -> cutover -> complete
 *   npm run rehearse -- --size large       # tiny | default | large | xl
 *   npm run rehearse -- --target existing  # aws (default; EC2 recorded, resolves to the sandbox) | existing
 *   npm run rehearse -- --close            # closing an instance instead (rehearsal/close/)
 *   npm run rehearse -- --strategy replication  # dbStrategy: dump (default) | replication
 *
 * Builds two sandbox hosts (real sshd, PostgreSQL, Redis, rsync, nginx; stand-ins only for what cannot run
 * here: systemd, the Mastodon Ruby app, AWS, Cloudflare), seeds a synthetic instance on *source*, runs the
 * UNCHANGED program through the real Pulumi CLI (stand-in provider plugins for AWS and Cloudflare, and for
 * @pulumi/command while its plugin cannot be built here), and prints the timeline, the downtime window, the
 * parity report and where DNS points. Exits non-zero when any phase or check fails.
 */
import { join } from "node:path";
import { Rehearsal } from "./rehearsal";
import { readState } from "./pulumi/runner";
import { SizeName } from "./instance/generate";
import { rehearseClose } from "./close/rehearse-close";
import { pluginsLine } from "./pulumi/tools";

function arg(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<number> {
    const size = arg("size", "default") as SizeName;
    const targetKind = arg("target", "aws") as "aws" | "existing";
    const strategy = arg("strategy", "dump");
    if (!["tiny", "default", "large", "xl"].includes(size)) throw new Error(`--size must be tiny, default, large or xl, got ${size}`);
    if (!["aws", "existing"].includes(targetKind)) throw new Error(`--target must be aws or existing, got ${targetKind}`);
    if (!["dump", "replication"].includes(strategy)) throw new Error(`--strategy must be dump or replication, got ${strategy}`);
    if (process.getuid?.() !== 0) throw new Error("the rehearsal builds network namespaces: run it as root");
    if (process.argv.includes("--close")) return rehearseClose(arg("size", "tiny") as SizeName);

    // Parity compares with the source as its services stopped (fingerprinted after the cutover): no baseline at setup.
    const r = new Rehearsal({ size, targetKind, echo: true, noBaseline: true, config: { dbStrategy: strategy } });
    console.log(
        `== rehearsal: ${size} instance, target ${targetKind}, dbStrategy ${strategy} (real Pulumi CLI; TEST STAND-INS: systemd, Mastodon app, provider plugins ${pluginsLine()})`,
    );
    r.setup();
    const s = r.bundle!.summary;
    console.log(
        `== source server seeded: ${s.accounts} accounts, ${s.statuses} statuses, ${s.mediaFiles} media files ` +
            `(${(s.mediaBytes / 1e6).toFixed(1)} MB), ${s.redisKeys} Redis keys; setup ${JSON.stringify(r.setupSeconds)}`,
    );

    for (const phase of ["prepare", "cutover", "complete"]) {
        console.log(`\n== phase ${phase}`);
        // The cutover as the CI example runs it: the reviewed plan saved, then exactly that plan applied.
        const plan = join(r.dir, "cutover.plan.json");
        if (phase === "cutover") {
            const reviewed = await r.preview(phase, { plan });
            if (!reviewed.ok) {
                console.log(`\npreview of phase ${phase} FAILED:\n${reviewed.error}`);
                return 1;
            }
        }
        const run = phase === "cutover" ? await r.applyPlan(phase, plan) : await r.phase(phase);
        if (!run.ok) {
            console.log(`\n${r.timeline()}\n\nphase ${phase} FAILED:\n${run.error}`);
            return 1;
        }
        if (phase === "prepare") {
            console.log("\n== the source server lives on between prepare and cutover:");
            for (const change of r.changeBetweenPhases()) console.log(`  ${change}`);
        }
    }

    const parity = r.parity();
    const dns = r.dnsRecord();
    const health = r.fetch("target", "/health");
    const leaks = r.leakedSecrets();
    console.log(`\n== timeline\n${r.timeline()}`);
    console.log(`\n== parity\n${parity.report}`);
    const reasons = new Map<string, number>();
    for (const d of parity.expected) {
        const reason = d.slice(d.lastIndexOf("(") + 1, -1);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    for (const [reason, n] of reasons) console.log(`  expected by design: ${n} x ${reason}`);
    console.log(`  unexpected differences: ${parity.differences.length}`);
    console.log(`\n== DNS record: ${dns?.content} TTL ${dns?.ttl}; target server /health through nginx: ${health}`);
    console.log(`== secrets in plaintext in the checkpoint, stack files, log or outputs: ${leaks.length === 0 ? "none" : leaks.length}`);
    const commands = readState(r.statePath).resources.filter(x => x.type === "command:remote:Command").length;
    console.log(`== checkpoint (pulumi stack export): ${r.statePath}, ${commands} command:remote:Command resources`);
    console.log(`== summary: ${r.saveSummary({ parity: { identical: parity.identical, differences: parity.differences }, dns })}`);
    const ok = parity.identical && health === "OK" && leaks.length === 0;
    console.log(ok ? "== rehearsal passed" : "== rehearsal FAILED");
    return ok ? 0 : 1;
}

main().then(
    code => process.exit(code),
    err => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    },
);
