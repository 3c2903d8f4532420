/**
 * Smoke run of the downtime benchmark (`npm run bench -- --sizes tiny`): it runs the seed procedure and the
 * program on fresh sandbox hosts and leaves its table, BENCH lines, report and SVG timelines. A benchmark is
 * not a test: this only checks that it runs and writes what it promises, not any figure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, sandboxDown } from "../../rehearsal/sandbox/sandbox";
import { RUNS_DIR } from "../../rehearsal/rehearsal";
import type { BenchReport } from "../../rehearsal/bench/run";

const asRoot = process.getuid?.() === 0;
afterAll(() => {
    if (asRoot) sandboxDown();
});

describe.runIf(asRoot)("bench", () => {
    it("smoke: --sizes tiny prints the table and BENCH lines, writes report.json and an SVG per cutover", () => {
        const dir = join(RUNS_DIR, "bench-smoke");
        const r = spawnSync(
            process.execPath,
            ["--import", "tsx", join(REPO_ROOT, "rehearsal", "bench.ts"), "--sizes", "tiny", "--dir", dir],
            {
                cwd: REPO_ROOT,
                encoding: "utf8",
                // Three cutovers (seed, dump, replication) on fresh hosts: ~90 s alone, two to three times that on a
                // machine shared with other rehearsals; well inside the project's 900 s test timeout.
                timeout: 600_000,
                env: process.env,
            },
        );
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/^size +db +media \| +seed \| +dump \| +replication$/m);
        expect(r.stdout).toMatch(/^BENCH seed tiny window=\d+\.\d ratio=1\.00$/m);
        expect(r.stdout).toMatch(/^BENCH dump tiny window=\d+\.\d ratio=\d+\.\d\d$/m);
        expect(r.stdout).toMatch(/^BENCH replication tiny window=(n\/a|\d+\.\d) ratio=(n\/a|\d+\.\d\d)$/m);
        expect(r.stdout).toMatch(/^ {2}dump tiny: .*source-services-stop [\d.]+.*app-health [\d.]+/m);
        const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as BenchReport;
        const results = report.sizes.tiny.results;
        expect(results.map(x => x.strategy)).toEqual(["seed", "dump", "replication"]);
        for (const res of results.filter(x => x.window !== undefined)) {
            expect(res.steps.length).toBeGreaterThan(3);
            const svg = readFileSync(join(dir, `tiny-${res.strategy}.svg`), "utf8");
            expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
            expect(svg).toContain("downtime window");
            for (const step of res.steps) expect(svg).toContain(`>${step.name}`);
            // Only what ran on a server, and the DNS switch: no component of the program, no stack reference.
            for (const step of res.steps) expect(step.host ?? step.name, step.name).toMatch(/^(source|target|dns-\S+)$/);
        }
        expect(results.find(x => x.strategy === "seed")!.steps.map(s => s.name)).toEqual([
            "stop",
            "dump",
            "scp",
            "createdb",
            "restore",
            "rsync",
            "env",
            "precompile",
            "start",
            "health",
        ]);
        expect(existsSync(join(dir, "tiny-dump.svg"))).toBe(true);
    });
});
