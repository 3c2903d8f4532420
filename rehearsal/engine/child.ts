/**
 * TEST STAND-IN for the Pulumi engine: one `up` in a fresh Node process.
 * Usage (by runner.ts): node --import tsx child.ts <options.json> <result.json>
 * Log lines go to stdout; the result goes to <result.json>.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumiType from "@pulumi/pulumi";
import { Engine } from "./engine";
import { readState, writeState } from "./state";
import type { UpOptions, UpResult } from "./types";

type Pulumi = typeof pulumiType;
type Obj = Record<string, unknown>;

const QUIET_MS = 1000;
const OUTPUTS_GRACE_MS = 2000;

function log(line: string): void {
    process.stdout.write(line + "\n");
}

function loadPulumi(projectDir: string): Pulumi {
    return require(require.resolve("@pulumi/pulumi", { paths: [projectDir] })) as Pulumi;
}

function loadProgram(projectDir: string): () => Promise<Obj | undefined> {
    const mod = require(path.join(projectDir, "index.ts")) as unknown;
    const fn = typeof mod === "function" ? mod : (mod as { default?: unknown }).default;
    if (typeof fn !== "function") throw new Error(`${projectDir}/index.ts must \`export = async () => outputs\``);
    return fn as () => Promise<Obj | undefined>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${what} did not resolve`)), ms);
        p.then(
            v => (clearTimeout(t), resolve(v)),
            e => (clearTimeout(t), reject(e)),
        );
    });
}

/** Resolve the program's returned outputs; secret ones are stored marked {secret: true, value}. */
async function resolveOutputs(pulumi: Pulumi, returned: Obj | undefined): Promise<{ plain: Obj; marked: Obj }> {
    const plain: Obj = {};
    const marked: Obj = {};
    for (const [key, value] of Object.entries(returned ?? {})) {
        const out = pulumi.output(value);
        const resolved = await withTimeout(
            Promise.all([pulumi.isSecret(out), (out as unknown as { promise(): Promise<unknown> }).promise()]),
            OUTPUTS_GRACE_MS,
            `stack output '${key}'`,
        );
        plain[key] = resolved[1];
        marked[key] = resolved[0] ? { secret: true, value: resolved[1] } : resolved[1];
    }
    return { plain, marked };
}

/** Wait for registrations: waitForRPCs when everything succeeded, quiescence when a branch failed. */
async function settle(pulumi: Pulumi, engine: Engine): Promise<void> {
    // waitForRPCs is exported by the SDK at runtime but marked @internal in its typings.
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    await Promise.race([runtime.waitForRPCs().catch(() => undefined), engine.quiet(QUIET_MS)]);
}

/**
 * Failed branches leave SDK promises pending, and the SDK prints a long "promises were still active"
 * warning at exit. The real engine shows nothing like it, so drain the SDK's leak list into one line.
 */
function drainLeakWarning(projectDir: string): void {
    try {
        const debuggable = require(require.resolve("@pulumi/pulumi/runtime/debuggable", { paths: [projectDir] })) as {
            leakedPromises(): [Set<unknown>, string];
        };
        const [leaked] = debuggable.leakedPromises();
        if (leaked.size > 0) log(`(${leaked.size} SDK promises of failed branches left pending, as expected after a failure)`);
    } catch {
        // Internal SDK module moved: the SDK prints its own warning instead.
    }
}

async function up(opts: UpOptions): Promise<UpResult> {
    const prev = readState(opts.statePath);
    const engine = new Engine(opts, prev, log);
    const programErrors: string[] = [];
    process.on("unhandledRejection", err => programErrors.push(err instanceof Error ? err.message : String(err)));

    const verb = opts.destroy ? "destroy" : opts.preview ? "preview" : "up";
    log(`TEST STAND-IN engine (not Pulumi): ${verb} ${opts.project}/${opts.stack}`);
    if (opts.destroy) {
        const ok = await engine.destroyAll();
        writeState(opts.statePath, engine.nextState(ok ? {} : undefined));
        const error = ok ? undefined : engine.failures.join("\n");
        log(ok ? "destroy: ok" : `destroy: failed\n${error}`);
        return { ok, ...(error ? { error } : {}), outputs: {}, events: engine.events };
    }
    if (!opts.preview) await engine.runPendingDeletes();
    const pulumi = loadPulumi(opts.projectDir);
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
    // "organization" is what the CLI reports for self-managed backends; the program names its own stack with it.
    await pulumi.runtime.setMocks(engine.mocks(), opts.project, opts.stack, opts.preview === true, "organization");
    process.chdir(opts.projectDir);

    let returned: Obj | undefined;
    // The program runs inside a root stack, as under the CLI, so that a stack transformation sees every
    // resource's options (the mocks never receive them): protect, retainOnDelete, ignoreChanges, ...
    await pulumi.runtime
        .runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation(args => {
                engine.noteOptions(args.type, args.name, args.opts as pulumiType.CustomResourceOptions);
                return undefined;
            });
            try {
                returned = await loadProgram(opts.projectDir)();
            } catch (err) {
                programErrors.push(err instanceof Error ? err.message : String(err));
            }
            return undefined;
        })
        .catch((err: unknown) => programErrors.push(err instanceof Error ? err.message : String(err)));
    await settle(pulumi, engine);

    let outputs: { plain: Obj; marked: Obj } | undefined;
    try {
        // After a failed resource, outputs that depend on it never resolve and would not be saved anyway.
        if (engine.failures.length === 0) outputs = await resolveOutputs(pulumi, returned);
    } catch (err) {
        programErrors.push(err instanceof Error ? err.message : String(err));
    }
    const programOk = engine.failures.length === 0 && programErrors.length === 0;
    if (programOk) await (opts.preview ? engine.planDeletes() : engine.deletePhase());
    const ok = programOk && engine.failures.length === 0;
    if (!opts.preview) writeState(opts.statePath, engine.nextState(ok ? outputs?.marked : undefined));

    const error = ok ? undefined : [...engine.failures, ...(engine.failures.length ? [] : programErrors.slice(0, 3))].join("\n");
    if (!ok) drainLeakWarning(opts.projectDir);
    log(ok ? `${verb}: ok` : `${verb}: failed\n${error}`);
    return { ok, ...(error ? { error } : {}), outputs: outputs?.plain ?? {}, events: engine.events };
}

async function main(): Promise<void> {
    const [optionsFile, resultFile] = process.argv.slice(2);
    if (!optionsFile || !resultFile) throw new Error("usage: child.ts <options.json> <result.json>");
    const opts = JSON.parse(fs.readFileSync(optionsFile, "utf8")) as UpOptions;
    const result = await up(opts).catch(
        (err: unknown): UpResult => ({ ok: false, error: String(err instanceof Error ? err.stack : err), outputs: {}, events: [] }),
    );
    fs.writeFileSync(resultFile, JSON.stringify(result, null, 2));
    // Failed branches leave SDK promises pending forever; the run is over, so leave now.
    process.exit(0);
}

void main();
