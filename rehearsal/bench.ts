/**
 * The downtime benchmark: `npm run bench -- --sizes default,large,xl` (CI's smoke run: `--sizes tiny`;
 * `--dir D` writes elsewhere than `.rehearsal/bench`; `--strategies replication` runs only the ones named, in
 * the order seed, dump, replication).
 * On fresh sandbox hosts per size and strategy, moves the same instance by the seed procedure done by hand,
 * by the program with the dump strategy and (once the stack config has `dbStrategy`) with the replication
 * strategy; prints the table, the windows by step, the growth between sizes, the stale-DNS outage and one
 * `BENCH <strategy> <size> window=<s> ratio=<x>` line per result; writes `.rehearsal/bench/report.json` and an
 * SVG timeline per cutover. A benchmark, not a test: it exits non-zero only when a run fails.
 */
import { runBench, Strategy, STRATEGIES } from "./bench/run";
import { SIZES, SizeName } from "./instance/generate";

async function main(): Promise<number> {
    const arg = (name: string) => {
        const i = process.argv.indexOf(`--${name}`);
        return i > 0 ? process.argv[i + 1] : undefined;
    };
    const sizes = (arg("sizes") ?? "default,large,xl").split(",") as SizeName[];
    const bad = sizes.filter(s => !(s in SIZES));
    if (bad.length) throw new Error(`--sizes: unknown size ${bad.join(", ")} (${Object.keys(SIZES).join(", ")})`);
    const named = (arg("strategies") ?? STRATEGIES.join(",")).split(",");
    const unknown = named.filter(s => !(STRATEGIES as string[]).includes(s));
    if (unknown.length) throw new Error(`--strategies: unknown strategy ${unknown.join(", ")} (${STRATEGIES.join(", ")})`);
    const strategies = STRATEGIES.filter(s => named.includes(s)) as Strategy[];
    if (process.getuid?.() !== 0) throw new Error("the bench builds network namespaces: run it as root");
    const { report, text, reportPath } = await runBench({ sizes, strategies, dir: arg("dir"), log: line => console.log(line) });
    console.log(`\n== bench\n${text}\n\n== report: ${reportPath}`);
    for (const size of sizes) for (const r of report.sizes[size]?.results ?? []) if (r.svg) console.log(`== timeline: ${r.svg}`);
    const failed = Object.values(report.sizes).flatMap(s => s.results.filter(r => r.note?.startsWith("FAILED")));
    for (const f of failed) console.log(`\n${f.strategy} ${f.size} ${f.note}`);
    return failed.length ? 1 : 0;
}

main().then(
    code => process.exit(code),
    err => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    },
);
