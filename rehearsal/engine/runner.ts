/**
 * TEST STAND-IN for the Pulumi engine: `up()` runs an UNCHANGED Pulumi program under the SDK's mock
 * runtime in a child process, where the mocks run the @pulumi/command operations for real.
 * Like the Pulumi CLI, secret config values are masked as [secret] in every log line and error.
 */
import { spawn } from "node:child_process";
import { lineSplitter } from "./ssh";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { UpOptions, UpResult } from "./types";

export type { Fault, StepEvent, UpOptions, UpResult, EngineState, StateResource } from "./types";
export { readState, stateResource, plainOutputs } from "./state";

const CHILD = path.join(__dirname, "child.ts");
/** Compiles only .ts files (see ts-register.cjs); set REHEARSAL_ENGINE_TSX=1 to use `--import tsx` instead. */
const TS_REGISTER = path.join(__dirname, "ts-register.cjs");

function loaderArgs(): string[] {
    if (process.env.REHEARSAL_ENGINE_TSX === "1") return ["--import", pathToFileURL(createRequire(__filename).resolve("tsx")).href];
    return ["--require", TS_REGISTER];
}

/** Replace secret config values (and their JSON-string forms) with [secret]. */
export function secretMasker(config: Record<string, string>, secretKeys: string[]): (s: string) => string {
    const values = secretKeys
        .map(k => config[k])
        .filter((v): v is string => typeof v === "string" && v.length >= 3)
        .sort((a, b) => b.length - a.length);
    return s => values.reduce((acc, v) => acc.split(v).join("[secret]"), s);
}

function lineWriter(opts: UpOptions, mask: (s: string) => string): { push(chunk: Buffer): void; flush(): void } {
    if (opts.logPath) fs.mkdirSync(path.dirname(path.resolve(opts.logPath)), { recursive: true });
    const lines = lineSplitter(line => {
        const masked = mask(line) + "\n";
        if (opts.logPath) fs.appendFileSync(opts.logPath, masked);
        if (opts.echo) process.stdout.write(masked);
    });
    return { push: chunk => lines.push(chunk.toString()), flush: () => lines.flush() };
}

function maskResult(result: UpResult, mask: (s: string) => string): UpResult {
    return {
        ...result,
        ...(result.error !== undefined ? { error: mask(result.error) } : {}),
        events: result.events.map(e => (e.error !== undefined ? { ...e, error: mask(e.error) } : e)),
    };
}

export async function up(opts: UpOptions): Promise<UpResult> {
    const resolved: UpOptions = { ...opts, projectDir: path.resolve(opts.projectDir), statePath: path.resolve(opts.statePath) };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-up-"));
    const optionsFile = path.join(dir, "options.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(optionsFile, JSON.stringify(resolved), { mode: 0o600 });
    const mask = secretMasker(opts.config, opts.secretKeys);
    const out = lineWriter(resolved, mask);
    try {
        const code = await new Promise<number | null>((resolve, reject) => {
            const child = spawn(process.execPath, [...loaderArgs(), CHILD, optionsFile, resultFile], {
                cwd: resolved.projectDir,
                stdio: ["ignore", "pipe", "pipe"],
            });
            child.stdout.on("data", (d: Buffer) => out.push(d));
            child.stderr.on("data", (d: Buffer) => out.push(d));
            child.on("error", reject);
            child.on("close", resolve);
        });
        out.flush();
        if (!fs.existsSync(resultFile))
            return { ok: false, error: `engine child exited with code ${code} without a result`, outputs: {}, events: [] };
        return maskResult(JSON.parse(fs.readFileSync(resultFile, "utf8")) as UpResult, mask);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `pulumi preview`: the program runs and every step is decided and printed; nothing runs, the state is kept. */
export function preview(opts: UpOptions): Promise<UpResult> {
    return up({ ...opts, preview: true });
}

/** `pulumi destroy`: every resource of the state, newest first, by the options it was registered with. */
export function destroy(opts: UpOptions): Promise<UpResult> {
    return up({ ...opts, destroy: true });
}
