/**
 * The downtime benchmark (`npm run bench`): the same synthetic instance moved, on fresh sandbox hosts each
 * time, by (a) the seed procedure done by hand (`seed-procedure.sh`), (b) the program with the dump strategy
 * and (c) the program with the replication strategy (when the stack config has `dbStrategy`). Reports the
 * downtime window of each (source services stopping -> target healthy through nginx and DNS switched), its ratio to (a), the
 * window step by step, the growth from one size to the next, and the outage a client on stale DNS sees.
 * Writes `report.json` and one SVG timeline per cutover under `.rehearsal/bench/`. A benchmark, not a test.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateInstance, InstanceBundle, SizeName } from "../instance/generate";
import { loadInstance } from "../instance/load";
import { hostRun, Rehearsal, RUNS_DIR } from "../rehearsal";
import { DEFAULT_DOMAIN, onHost, onHostChecked, sandboxUp, SOURCE_ADDR, TARGET_ADDR } from "../sandbox/sandbox";
import { CONFIG_KEYS, PROJECT } from "../../lib/config-keys";
import { ganttSvg } from "./svg";

export type Strategy = "seed" | "dump" | "replication";
export const STRATEGIES: Strategy[] = ["seed", "dump", "replication"];

/** One step of a cutover on the timeline, in seconds from the start of the window. */
export interface BenchStep {
    name: string;
    host?: string;
    start: number;
    end: number;
}

export interface BenchResult {
    strategy: Strategy;
    size: string;
    /** Downtime window in seconds, or undefined when the strategy is not available (n/a) or failed. */
    window?: number;
    ratio?: number;
    /** Why there is no window. */
    note?: string;
    /** The cutover's steps, relative to the start of the window (negative: before the stop). */
    steps: BenchStep[];
    /** Seconds from the stop to the DNS switch (undefined for the seed procedure: the admin switches after health). */
    dnsSwitch?: number;
    /** The outage a client on stale DNS sees: without forwarding (window, then the source until its TTL runs out), with. */
    staleDns?: { withoutForwarding: number; withForwarding?: number };
    svg?: string;
}

export interface BenchReport {
    startedAt: string;
    sizes: Record<string, { summary: InstanceBundle["summary"]; dbBytes?: number; results: BenchResult[] }>;
    growth: Record<string, Record<string, number | undefined>>;
}

export interface BenchOptions {
    sizes: SizeName[];
    /** The strategies to run (default all three; without `seed` there is no ratio). */
    strategies?: Strategy[];
    /** Output directory (default `<repo>/.rehearsal/bench`: `bench` in RUNS_DIR, beside the sandbox's directory). */
    dir?: string;
    /** Progress lines. */
    log?: (line: string) => void;
}

/** The low TTL the bench stack uses (a client's cached address lives that long after the switch). */
const LOW_TTL = 120;
/** The steps of seed-procedure.sh, in order. */
export const SEED_STEPS = ["stop", "dump", "scp", "createdb", "restore", "rsync", "env", "precompile", "start", "health"];
const LIVE = "/home/mastodon/live";
const DB = "mastodon_production";

/** True once the stack config knows `dbStrategy` (the replication strategy is on main). */
export const replicationAvailable = (): boolean => Object.keys(CONFIG_KEYS).includes("dbStrategy");

export async function runBench(opts: BenchOptions): Promise<{ report: BenchReport; text: string; reportPath: string }> {
    const dir = opts.dir ?? join(RUNS_DIR, "bench");
    const log = opts.log ?? (() => undefined);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const strategies = opts.strategies ?? STRATEGIES;
    const report: BenchReport = { startedAt: new Date().toISOString(), sizes: {}, growth: {} };
    for (const size of opts.sizes) {
        log(`== ${size}: generating the instance`);
        const bundle = generateInstance({ size, seed: 1, domain: DEFAULT_DOMAIN, outDir: join(dir, size, "instance") });
        const results: BenchResult[] = [];
        let dbBytes: number | undefined;
        for (const strategy of strategies) {
            log(`== ${size}: ${strategy}`);
            let result: BenchResult;
            try {
                if (strategy === "seed") {
                    const r = seedRun(bundle, size);
                    dbBytes = r.dbBytes;
                    result = r.result;
                } else if (strategy === "replication" && !replicationAvailable()) {
                    result = { strategy, size, steps: [], note: "n/a (no dbStrategy in the stack config yet)" };
                } else {
                    result = await programRun(bundle, size, strategy, join(dir, size, strategy));
                }
            } catch (e) {
                result = { strategy, size, steps: [], note: `FAILED: ${(e instanceof Error ? e.message : String(e)).slice(0, 2000)}` };
            }
            const seed = results.find(r => r.strategy === "seed")?.window;
            if (result.window !== undefined && seed) result.ratio = result.window / seed;
            if (result.window !== undefined) {
                const svgPath = join(dir, `${size}-${strategy}.svg`);
                writeFileSync(svgPath, ganttSvg(`${strategy} strategy, ${size} instance`, result.steps, result.window));
                result.svg = svgPath;
            }
            log(benchLine(result));
            results.push(result);
        }
        report.sizes[size] = { summary: bundle.summary, dbBytes, results };
    }
    for (const strategy of strategies) {
        report.growth[strategy] = {};
        for (let i = 1; i < opts.sizes.length; i++) {
            const before = windowOf(report, opts.sizes[i - 1], strategy);
            const after = windowOf(report, opts.sizes[i], strategy);
            report.growth[strategy][`${opts.sizes[i - 1]}->${opts.sizes[i]}`] = before && after ? after / before - 1 : undefined;
        }
    }
    const reportPath = join(dir, "report.json");
    writeFileSync(reportPath, JSON.stringify(report, null, 2));
    return { report, text: formatReport(report, opts.sizes, strategies), reportPath };
}

const windowOf = (report: BenchReport, size: string, strategy: Strategy) =>
    report.sizes[size]?.results.find(r => r.strategy === strategy)?.window;

/** `BENCH <strategy> <size> window=<s> ratio=<x>` */
export function benchLine(r: BenchResult): string {
    const w = r.window === undefined ? "n/a" : r.window.toFixed(1);
    const ratio = r.ratio === undefined ? (r.strategy === "seed" && r.window !== undefined ? "1.00" : "n/a") : r.ratio.toFixed(2);
    return `BENCH ${r.strategy} ${r.size} window=${w} ratio=${ratio}`;
}

/** The table, the windows step by step, the growth between sizes, the stale-DNS outage, and the BENCH lines. */
export function formatReport(report: BenchReport, sizes: string[], strategies: Strategy[] = STRATEGIES): string {
    const lines: string[] = [];
    const cell = (s: string, n: number) => s.padStart(n);
    lines.push(`${"size".padEnd(8)} ${"db".padStart(8)} ${"media".padStart(7)} | ${strategies.map(s => cell(s, 18)).join(" |")}`);
    for (const size of sizes) {
        const entry = report.sizes[size];
        if (!entry) continue;
        const db = entry.dbBytes ? `${(entry.dbBytes / 1e6).toFixed(0)} MB` : "?";
        const row = strategies.map(s => {
            const r = entry.results.find(x => x.strategy === s);
            if (!r || r.window === undefined) return cell(r?.note?.startsWith("FAILED") ? "FAILED" : "n/a", 18);
            const ratio = r.ratio !== undefined ? r.ratio.toFixed(2) : s === "seed" ? "1.00" : "n/a";
            return cell(`${r.window.toFixed(1)} s (${ratio}x)`, 18);
        });
        lines.push(`${size.padEnd(8)} ${db.padStart(8)} ${String(entry.summary.mediaFiles).padStart(7)} | ${row.join(" |")}`);
    }
    if (sizes.length > 1) {
        lines.push("", "growth of the window from one size to the next:");
        for (const s of strategies) {
            const g = Object.entries(report.growth[s] ?? {}).map(
                ([k, v]) => `${k} ${v === undefined ? "n/a" : `${v >= 0 ? "+" : ""}${(v * 100).toFixed(0)}%`}`,
            );
            lines.push(`  ${s.padEnd(12)} ${g.join(", ")}`);
        }
    }
    lines.push("", "window by step (seconds; steps overlapping the window, clipped to it):");
    for (const size of sizes) {
        for (const r of report.sizes[size]?.results ?? []) {
            if (r.window === undefined) {
                lines.push(`  ${r.strategy} ${size}: ${r.note ?? "n/a"}`);
                continue;
            }
            const parts = r.steps
                .filter(st => st.end > 0 && st.start < r.window!)
                .map(st => `${st.name} ${(Math.min(st.end, r.window!) - Math.max(st.start, 0)).toFixed(1)}`);
            lines.push(`  ${r.strategy} ${size}: ${parts.join(", ")}`);
        }
    }
    lines.push("", `outage seen by a client on stale DNS (low TTL ${LOW_TTL} s):`);
    for (const size of sizes) {
        for (const r of report.sizes[size]?.results ?? []) {
            if (!r.staleDns) continue;
            const w = r.staleDns.withForwarding;
            lines.push(
                `  ${r.strategy} ${size}: without forwarding ${r.staleDns.withoutForwarding.toFixed(1)} s, with forwarding ${w === undefined ? "n/a (no forwarding)" : `${w.toFixed(1)} s`}`,
            );
        }
    }
    lines.push("");
    for (const size of sizes) for (const r of report.sizes[size]?.results ?? []) lines.push(benchLine(r));
    return lines.join("\n");
}

/** Fresh hosts with the instance on source, running. */
function freshSource(bundle: InstanceBundle): void {
    sandboxUp({ domain: DEFAULT_DOMAIN });
    loadInstance(bundle, hostRun("source"));
    onHostChecked("source", "systemctl daemon-reload && systemctl start mastodon-web mastodon-sidekiq mastodon-streaming");
}

/**
 * (a) The seed procedure. Beforehand, as the install guide sets up a new server (outside the window): the nginx
 * site with its certificate and the systemd units on the target, and an SSH key from source to target.
 */
function seedRun(bundle: InstanceBundle, size: string): { result: BenchResult; dbBytes: number } {
    freshSource(bundle);
    const site = "/etc/nginx/sites-available/mastodon";
    const files = [site, "/etc/ssl/mastodon-sandbox/fullchain.pem", "/etc/ssl/mastodon-sandbox/privkey.pem"];
    const units = onHostChecked("source", "ls /etc/systemd/system/ | grep '^mastodon-.*\\.service$'").trim().split("\n");
    for (const f of [...files, ...units.map(u => `/etc/systemd/system/${u}`)]) {
        const content = onHostChecked("source", `base64 -w0 ${f}`);
        onHostChecked("target", `install -d $(dirname ${f}) && base64 -d >${f}`, content);
    }
    onHostChecked("target", `ln -sfn ${site} /etc/nginx/sites-enabled/mastodon && nginx -t 2>/dev/null && systemctl reload nginx`);
    onHostChecked("source", "rm -f /root/.ssh/bench_ed25519* && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/bench_ed25519");
    const pub = onHostChecked("source", "cat /root/.ssh/bench_ed25519.pub");
    onHostChecked("target", "cat >>/root/.ssh/authorized_keys", pub);
    const dbBytes = Number(onHostChecked("source", `cd / && runuser -u postgres -- psql -XAtc "SELECT pg_database_size('${DB}')"`).trim());
    const script = readFileSync(join(__dirname, "seed-procedure.sh"), "utf8");
    const env = `TARGET=${TARGET_ADDR} KEY=/root/.ssh/bench_ed25519 DOMAIN=${DEFAULT_DOMAIN} DB=${DB} LIVE=${LIVE}`;
    // From a file, not stdin: the ssh commands inside would read the rest of the script.
    onHostChecked("source", "cat >/root/seed-procedure.sh", script);
    const r = onHost("source", `${env} bash /root/seed-procedure.sh </dev/null`);
    const raw = [...r.stdout.matchAll(/^SEEDSTEP (\S+) (\d+) (\d+)$/gm)].map(m => ({ name: m[1], start: Number(m[2]), end: Number(m[3]) }));
    if (r.code !== 0 || raw.length !== SEED_STEPS.length || raw.some((x, i) => x.name !== SEED_STEPS[i]))
        throw new Error(`the seed procedure failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    const t0 = raw[0].start;
    const steps = raw.map(s => ({ name: s.name, host: "source", start: (s.start - t0) / 1000, end: (s.end - t0) / 1000 }));
    const window = steps[steps.length - 1].end;
    // The admin switches DNS once healthy; a stale client keeps the source's address for the TTL after that.
    return { result: { strategy: "seed", size, window, steps, staleDns: { withoutForwarding: window + LOW_TTL } }, dbBytes };
}

/** The server a step ran on, by its role (the command provider's call log records addresses). */
const roleOf = (host?: string) => (host === SOURCE_ADDR ? "source" : host === TARGET_ADDR ? "target" : host);

/** (b)/(c) The program: prepare, then the cutover; the window from the rehearsal's events. */
async function programRun(bundle: InstanceBundle, size: string, strategy: Strategy, dir: string): Promise<BenchResult> {
    const r = new Rehearsal({
        size: size as SizeName,
        targetKind: "existing",
        bundle,
        noBaseline: true,
        dir,
        config: strategy === "replication" ? { dbStrategy: "replication" } : {},
    });
    r.setup();
    for (const phase of ["prepare", "cutover"]) {
        const run = await r.phase(phase);
        if (!run.ok) throw new Error(`phase ${phase} failed: ${run.error}\n${r.timeline()}`);
    }
    const window = r.downtime();
    if (!window) throw new Error(`no downtime window in the cutover:\n${r.timeline()}`);
    const t0 = Date.parse(window.from);
    const cutover = r.runs.find(x => x.phase === "cutover")!;
    // The resources that ran (commands, the DNS record): not the program's components, nor the stack's
    // reference to itself, which the real engine reports as steps too.
    const steps = cutover.events
        .filter(e => e.op !== "same" && e.ok && !e.type.startsWith("pulumi:") && !e.type.startsWith(`${PROJECT}:`))
        .map(e => ({
            name: e.name,
            host: roleOf(e.host),
            start: (Date.parse(e.startedAt) - t0) / 1000,
            end: (Date.parse(e.endedAt) - t0) / 1000,
        }))
        .sort((a, b) => a.start - b.start);
    const dns = steps.find(s => s.name === "dns-a");
    const forwarding = steps.find(s => s.name === "forwarding-on");
    const staleDns = dns ? { withoutForwarding: dns.end + LOW_TTL, withForwarding: forwarding ? forwarding.end : undefined } : undefined;
    return { strategy, size, window: window.seconds, steps, dnsSwitch: dns?.end, staleDns };
}
