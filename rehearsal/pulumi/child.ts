/**
 * One Pulumi operation through the REAL CLI, in a fresh Node process (as the CLI starts a fresh language
 * host for every run): the Automation API (`@pulumi/pulumi/automation`) runs `pulumi up | preview | refresh |
 * destroy` on a stack in a local file backend, with the program (`index.ts`) as an inline program.
 * Usage (by runner.ts): node --import tsx child.ts <options.json> <result.json>
 * The CLI's display goes to stdout; the result (steps, outputs, error) to <result.json>; the checkpoint
 * (`pulumi stack export`) to options.statePath.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, LocalWorkspace, OpType, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import type { ChildOptions } from "./runner";
import type { StepEvent, StepOp, UpResult } from "./types";

const [optionsFile, resultFile] = process.argv.slice(2);
const opts = JSON.parse(fs.readFileSync(optionsFile!, "utf8")) as ChildOptions;
const FAULT_SH = path.join(__dirname, "..", "sandbox", "fault.sh");
// The program sees the environment the CLI runs with, as under a language host (which the CLI starts with its own).
Object.assign(process.env, opts.envVars);

function say(line: string): void {
    process.stdout.write(line + "\n");
}

/** The program, loaded fresh in this process: `index.ts` exports `async () => outputs`. */
async function program(): Promise<Record<string, unknown> | void> {
    const mod = require(path.join(opts.projectDir, "index.ts")) as unknown;
    const fn = typeof mod === "function" ? mod : (mod as { default?: unknown }).default;
    if (typeof fn !== "function") throw new Error(`${opts.projectDir}/index.ts must \`export = async () => outputs\``);
    return (fn as () => Promise<Record<string, unknown> | void>)();
}

const nameOf = (urn: string): string => urn.split("::").slice(3).join("::");

/** How an engine step op reads in the rehearsal's reports (a `replace` is only a marker between its halves). */
function stepOp(op: OpType, retained: boolean): StepOp | undefined {
    switch (op) {
        case "create":
        case "update":
        case "same":
        case "import":
        case "read":
        case "refresh":
            return op;
        case "delete":
            return retained ? "retain" : "delete";
        case "import-replacement":
            // An `import` of a resource already in the stack under another id: imported again, as a replacement.
            return "import";
        case "create-replacement":
            return "replace-create";
        case "delete-replaced":
            return retained ? "retain" : "replace-delete";
        case "discard":
        case "discard-replaced":
            return "discard";
        default:
            return undefined;
    }
}

/** Steps from the engine's events, timed by their arrival. */
class Steps {
    readonly done: StepEvent[] = [];
    private readonly open = new Map<string, { op: StepOp; type: string; startedAt: number; planned: boolean }>();
    private readonly errors = new Map<string, string[]>();
    /** The CLI started the engine (first event) at. */
    firstEventAt?: number;

    onEvent(e: EngineEvent, faults: Faults): void {
        this.firstEventAt ??= Date.now();
        const pre = e.resourcePreEvent;
        const outs = e.resOutputsEvent;
        const failed = e.resOpFailedEvent;
        const diag = e.diagnosticEvent;
        if (pre) {
            const m = pre.metadata;
            if (!this.counts(m.type)) return;
            const op = stepOp(m.op, !!(m.old?.retainOnDelete ?? m.new?.retainOnDelete));
            if (!op) return;
            const key = `${m.urn}|${m.op}`;
            this.open.set(key, { op, type: m.type, startedAt: Date.now(), planned: !!pre.planning });
            // A step with nothing to do ends as it begins.
            if (op === "same") this.close(key, m.urn, true);
            else if (!pre.planning) faults.started(nameOf(m.urn));
        } else if (outs) {
            const m = outs.metadata;
            if (this.counts(m.type)) this.close(`${m.urn}|${m.op}`, m.urn, true);
        } else if (failed) {
            const m = failed.metadata;
            if (this.counts(m.type)) this.close(`${m.urn}|${m.op}`, m.urn, false);
        } else if (diag?.urn) {
            if (diag.severity === "error") {
                const list = this.errors.get(diag.urn) ?? [];
                list.push(diag.message.trim());
                this.errors.set(diag.urn, list);
            }
            if (diag.ephemeral) {
                // A step's output line: a status line in the CLI's display, kept here in the log too.
                const line = diag.message.replace(/\n$/, "");
                say(`    ${nameOf(diag.urn)} | ${line}`);
                faults.output(nameOf(diag.urn), line);
            }
        }
    }

    /** Resources of the program (not the stack or its providers). */
    private counts(type: string): boolean {
        return type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:");
    }

    private close(key: string, urn: string, ok: boolean): void {
        const step = this.open.get(key);
        if (!step) return;
        this.open.delete(key);
        const ended = Date.now();
        const error = ok ? undefined : (this.errors.get(urn) ?? []).join("\n") || "failed";
        this.done.push({
            name: nameOf(urn),
            type: step.type,
            urn,
            op: step.op,
            startedAt: new Date(step.startedAt).toISOString(),
            endedAt: new Date(ended).toISOString(),
            seconds: (ended - step.startedAt) / 1000,
            ok,
            ...(error !== undefined ? { error } : {}),
            ...(step.planned ? { planned: true } : {}),
        });
    }

    /** Steps that began and never ended (the operation stopped): failed. */
    closeOpen(): void {
        for (const [key] of this.open) this.close(key, key.split("|")[0]!, false);
    }

    /**
     * Command steps timed by the provider itself (its call log has when each command began and ended, to the
     * millisecond; the engine's events reach us by polling, up to 200 ms late), and the host each ran on.
     */
    refine(callsPath: string | undefined, since: number): void {
        if (!callsPath || !fs.existsSync(callsPath)) return;
        const calls = fs
            .readFileSync(callsPath, "utf8")
            .split("\n")
            .filter(Boolean)
            .map(l => JSON.parse(l) as Record<string, unknown>)
            .filter(c => c.urn && c.startedAt && c.endedAt && Date.parse(String(c.startedAt)) >= since);
        for (const step of this.done) {
            const call = calls.filter(c => c.urn === step.urn).pop();
            if (!call || step.planned || step.op === "same") continue;
            const startedAt = Date.parse(String(call.startedAt));
            const endedAt = Date.parse(String(call.endedAt));
            step.startedAt = new Date(startedAt).toISOString();
            step.endedAt = new Date(endedAt).toISOString();
            step.seconds = (endedAt - startedAt) / 1000;
            if (typeof call.host === "string") step.host = call.host;
        }
    }
}

/** Faults: drop a step's SSH connection (the sandbox's `fault.sh kill-ssh-of`) after a delay or on an output line. */
class Faults {
    private readonly fired = new Set<string>();
    constructor(private readonly list: ChildOptions["faults"] = []) {}

    started(name: string): void {
        for (const f of this.list ?? [])
            if (f.resource === name && "afterSeconds" in f.when) setTimeout(() => this.fire(name), f.when.afterSeconds * 1000);
    }

    output(name: string, line: string): void {
        for (const f of this.list ?? [])
            if (f.resource === name && "stdoutMatches" in f.when && new RegExp(f.when.stdoutMatches).test(line)) this.fire(name);
    }

    private fire(name: string): void {
        if (this.fired.has(name)) return;
        this.fired.add(name);
        for (const host of ["source", "target"]) {
            execFile("bash", [FAULT_SH, host, "kill-ssh-of", name], (err, stdout) => {
                const text = (stdout || (err ? String(err) : "")).trim();
                if (!text.includes(" 0 ssh")) say(`== fault: ${host}: ${text}`);
            });
        }
    }
}

/**
 * The CLI's errors worth reading: each `error:` line with the indented lines that continue it (a config error
 * lists its problems below it), once each; else the message's end.
 */
function conciseError(e: unknown): string {
    const text = e instanceof Error ? e.message : String(e);
    const errors: string[] = [];
    let current: string[] | undefined;
    for (const line of text.split("\n")) {
        if (/^\s*error: /.test(line)) {
            current = [line.trim()];
            errors.push("");
        } else if (current && /^\s+(\S|$)/.test(line) && !/^\s+at /.test(line)) current.push(line.trimEnd());
        else current = undefined;
        // (An indented blank line is a blank line of the message: a step's output has them; an empty one ends it.)
        if (current) errors[errors.length - 1] = current.join("\n").trimEnd();
    }
    const unique = [...new Set(errors.filter(Boolean))];
    return (unique.length > 0 ? unique : text.split("\n").slice(-20)).join("\n");
}

function exportCheckpoint(): Promise<unknown> {
    return new Promise((resolve, reject) =>
        execFile(
            path.join(opts.cliRoot, "bin", "pulumi"),
            ["stack", "export", "--stack", opts.stack, "--non-interactive"],
            { cwd: opts.workDir, env: { ...process.env, ...opts.envVars, PULUMI_HOME: opts.pulumiHome }, maxBuffer: 1 << 28 },
            (err, stdout, stderr) =>
                err ? reject(new Error(`pulumi stack export: ${stderr || err.message}`)) : resolve(JSON.parse(stdout)),
        ),
    );
}

async function setConfig(stack: Stack): Promise<void> {
    // `pulumi config set` (--secret for the secret keys) of exactly the stack's config: keys no longer given go
    // (read after the set: the CLI refuses to list the config of a stack that lacks a required key).
    // Lists and maps are set structured (`pulumi config set --path 'key[0]' …`, as Pulumi.<stack>.yaml holds a YAML
    // list): the CLI checks a key declared `type: array` to be one.
    const structured = (v: string): unknown => {
        try {
            const parsed = JSON.parse(v) as unknown;
            return parsed !== null && typeof parsed === "object" ? parsed : undefined;
        } catch {
            return undefined;
        }
    };
    await stack.setAllConfigJson(
        JSON.stringify(
            Object.fromEntries(
                Object.entries(opts.config).map(([k, value]) => {
                    const objectValue = structured(value);
                    return [k, { value, secret: opts.secretKeys.includes(k), ...(objectValue !== undefined ? { objectValue } : {}) }];
                }),
            ),
        ),
    );
    // A stack that lacks a required key cannot even list its config: the operation itself reports that.
    const current = await stack.getAllConfig().catch(() => ({}));
    const stale = Object.keys(current).filter(k => !(k in opts.config));
    if (stale.length > 0) await stack.removeAllConfig(stale);
}

async function main(): Promise<UpResult> {
    const t0 = Date.now();
    const pulumiCommand = await PulumiCommand.get({ root: opts.cliRoot });
    const stack: Stack = await LocalWorkspace.createOrSelectStack(
        { stackName: opts.stack, projectName: opts.project, program },
        {
            workDir: opts.workDir,
            pulumiHome: opts.pulumiHome,
            pulumiCommand,
            secretsProvider: "passphrase",
            envVars: opts.envVars,
        },
    );
    const steps = new Steps();
    const faults = new Faults(opts.faults);
    const started = Date.now();
    const common = {
        color: "never" as const,
        onOutput: (s: string) => process.stdout.write(s),
        onEvent: (e: EngineEvent) => steps.onEvent(e, faults),
        ...(opts.policyPacks?.length ? { policyPacks: opts.policyPacks } : {}),
    };
    let ok = true;
    let error: string | undefined;
    let outputs: Record<string, unknown> = {};
    try {
        await setConfig(stack);
        if (opts.destroy) await stack.destroy({ ...common, excludeProtected: opts.excludeProtected });
        else if (opts.refresh) await stack.refresh(common);
        else if (opts.preview) await stack.preview({ ...common, ...(opts.plan ? { plan: opts.plan } : {}) });
        else {
            const r = await stack.up({ ...common, ...(opts.plan ? { plan: opts.plan } : {}) });
            outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
        }
    } catch (e) {
        ok = false;
        error = conciseError(e);
    }
    steps.closeOpen();
    steps.refine(opts.envVars.REHEARSAL_PROVIDER_CALLS, started - 1000);
    // `pulumi stack export`, secrets encrypted as the checkpoint keeps them (the Automation API's exportStack
    // passes --show-secrets).
    const checkpoint = await exportCheckpoint();
    const tmp = `${opts.statePath}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(checkpoint, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, opts.statePath);
    if (ok && !(opts.preview || opts.destroy || opts.refresh)) {
        // outputs came with the up
    } else if (!opts.preview) {
        outputs = Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value]));
    }
    return {
        ok,
        ...(error !== undefined ? { error } : {}),
        outputs,
        events: steps.done,
        engine: { version: String(pulumiCommand.version ?? ""), backend: opts.envVars.PULUMI_BACKEND_URL ?? "" },
        seconds: (Date.now() - t0) / 1000,
        ...(steps.firstEventAt ? { startSeconds: (steps.firstEventAt - started) / 1000 } : {}),
    };
}

main().then(
    result => {
        fs.writeFileSync(resultFile!, JSON.stringify(result), { mode: 0o600 });
        process.exit(0);
    },
    e => {
        say(`rehearsal driver: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        process.exit(1);
    },
);
