/**
 * How long the Node.js language host takes to load the program before the first resource registers, with its
 * TypeScript type-checked (ts-node's default) and transpiled only (tsconfig.pulumi.json's noCheck, which
 * Pulumi.yaml names): `npx tsx rehearsal/bench/program-start.ts [runs]`. Each load is a fresh Node process
 * with the ts-node @pulumi/pulumi vendors (the project has none of its own) and the project's typescript, as
 * @pulumi/pulumi/cmd/run does it, without ts-node's cache. A benchmark, not a test: it prints the figures and
 * their ratio, measured in one run.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const REPO = resolve(__dirname, "..", "..");
const LOAD = `
const path = require("path");
const t0 = Date.now();
const tsn = require(path.join(${JSON.stringify(REPO)}, "node_modules/@pulumi/pulumi/vendor/ts-node@7.0.1"));
tsn.register({ compiler: require.resolve("typescript", { paths: [${JSON.stringify(REPO)}] }), transpileOnly: process.argv[1] === "transpile",
  project: path.join(${JSON.stringify(REPO)}, "tsconfig.json"), compilerOptions: {}, cache: false });
require(path.join(${JSON.stringify(REPO)}, "index.ts"));
console.log((Date.now() - t0) / 1000);
`;

function load(mode: "check" | "transpile"): number {
    return Number(execFileSync(process.execPath, ["-e", LOAD, mode], { cwd: REPO }).toString().trim());
}

const runs = Number(process.argv[2] ?? 3);
const times: Record<string, number[]> = { check: [], transpile: [] };
for (let i = 0; i < runs; i++) for (const mode of ["check", "transpile"] as const) times[mode]!.push(load(mode));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const check = median(times.check!);
const transpile = median(times.transpile!);
console.log(`program load, type-checked:   ${times.check!.map(t => t.toFixed(1)).join(" ")} s (median ${check.toFixed(1)} s)`);
console.log(`program load, transpile only: ${times.transpile!.map(t => t.toFixed(1)).join(" ")} s (median ${transpile.toFixed(1)} s)`);
console.log(`BENCH program-start check=${check.toFixed(2)} transpile=${transpile.toFixed(2)} ratio=${(transpile / check).toFixed(2)}`);
