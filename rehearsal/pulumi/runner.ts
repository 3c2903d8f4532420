/**
 * The rehearsal's driver of the REAL Pulumi CLI. Each operation runs in a fresh Node process (`child.ts`)
 * through the Automation API: a stack in a local file backend under `pulumiDir` (outside the project), the
 * passphrase secrets provider, the stack config set as `pulumi config set [--secret]` would (the CLI checks
 * it against Pulumi.yaml), and a PULUMI_HOME of the rehearsal's own (`tools.ts`), where the stand-in AWS,
 * Cloudflare and command plugins are installed. Secret config values are masked as [secret] in every line
 * written to the log or the terminal.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cliRoot, pluginsLine, policyShimDir, pulumiHome, TSX_LOADER } from "./tools";
import { revealedStateOf } from "./state";
import type { State, UpOptions, UpResult } from "./types";

export type { Fault, StepEvent, StepOp, UpOptions, UpResult, State, StateResource } from "./types";
export { readState, stateResource, isSecretValue, revealed } from "./state";

const CHILD = path.join(__dirname, "child.ts");

/** What `child.ts` is given (written to a mode-600 file; it holds the secret config). */
export interface ChildOptions extends UpOptions {
    cliRoot: string;
    pulumiHome: string;
    /** The stack's workspace: Pulumi.yaml (the project's, copied) and Pulumi.<stack>.yaml. */
    workDir: string;
    envVars: Record<string, string>;
}

/** Replace secret config values (and each of their lines, for multi-line keys) with [secret]. */
export function secretMasker(config: Record<string, string>, secretKeys: string[]): (s: string) => string {
    const values = secretKeys
        .map(k => config[k])
        .filter((v): v is string => typeof v === "string" && v.length >= 3)
        .flatMap(v => [v, JSON.stringify(v).slice(1, -1), ...v.split("\n").filter(l => l.length >= 16)])
        .sort((a, b) => b.length - a.length);
    return s => values.reduce((acc, v) => acc.split(v).join("[secret]"), s);
}

/** The backend, workspace and passphrase of a rehearsal's stacks, made once under `pulumiDir`. */
function prepare(opts: UpOptions): ChildOptions {
    const workDir = path.join(opts.pulumiDir, "workspace");
    const backend = path.join(opts.pulumiDir, "backend");
    fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    // The project file as the admin's checkout has it (its config declarations are what the CLI checks).
    fs.copyFileSync(path.join(opts.projectDir, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
    const passphraseFile = path.join(opts.pulumiDir, "passphrase");
    if (!fs.existsSync(passphraseFile)) fs.writeFileSync(passphraseFile, randomBytes(24).toString("hex"), { mode: 0o600 });
    const home = pulumiHome();
    return {
        ...opts,
        projectDir: path.resolve(opts.projectDir),
        statePath: path.resolve(opts.statePath),
        cliRoot: cliRoot(),
        pulumiHome: home,
        workDir,
        envVars: {
            PULUMI_BACKEND_URL: `file://${backend}`,
            PULUMI_CONFIG_PASSPHRASE: fs.readFileSync(passphraseFile, "utf8"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            ...(opts.policyPacks?.length ? { PATH: `${policyShimDir()}:${process.env.PATH ?? ""}` } : {}),
            ...(opts.awsAddress ? { REHEARSAL_AWS_ADDRESS: opts.awsAddress } : {}),
            ...opts.env,
        },
    };
}

const announced = new Set<string>();

function lineWriter(opts: UpOptions, mask: (s: string) => string): { push(chunk: Buffer): void; flush(): void } {
    if (opts.logPath) fs.mkdirSync(path.dirname(path.resolve(opts.logPath)), { recursive: true });
    let pending = "";
    const emit = (line: string) => {
        const masked = mask(line) + "\n";
        if (opts.logPath) fs.appendFileSync(opts.logPath, masked);
        if (opts.echo) process.stdout.write(masked);
    };
    return {
        push: chunk => {
            pending += chunk.toString();
            const lines = pending.split("\n");
            pending = lines.pop()!;
            lines.forEach(emit);
        },
        flush: () => {
            if (pending) emit(pending);
            pending = "";
        },
    };
}

/** The command an admin would type for this operation (for the log). */
function commandLine(opts: UpOptions): string {
    const policy = (opts.policyPacks ?? []).map(p => ` --policy-pack ${path.relative(opts.projectDir, p) || "."}`).join("");
    if (opts.destroy) return `pulumi destroy --yes${opts.excludeProtected ? " --exclude-protected" : ""}`;
    if (opts.refresh) return "pulumi refresh --yes";
    if (opts.preview) return `pulumi preview${policy}${opts.plan ? ` --save-plan ${path.basename(opts.plan)}` : ""}`;
    return `pulumi up --yes${policy}${opts.plan ? ` --plan ${path.basename(opts.plan)}` : ""}`;
}

/** `pulumi up` (or the operation `opts` says) of the stack, through the real CLI. */
export async function up(opts: UpOptions): Promise<UpResult> {
    const child = prepare(opts);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-op-"));
    const optionsFile = path.join(dir, "options.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(optionsFile, JSON.stringify(child), { mode: 0o600 });
    const mask = secretMasker(opts.config, opts.secretKeys);
    const out = lineWriter(opts, mask);
    const backend = child.envVars.PULUMI_BACKEND_URL!;
    if (!announced.has(backend)) {
        announced.add(backend);
        out.push(Buffer.from(`== engine: ${engineLine(child.cliRoot)}, backend ${backend}\n== plugins: ${pluginsLine()}\n`));
    }
    const phase = opts.config[`${opts.project}:phase`];
    const keys = Object.keys(opts.config).length;
    out.push(Buffer.from(`$ pulumi config set ... (${keys} keys, ${opts.secretKeys.length} --secret)${phase ? `, phase ${phase}` : ""}\n`));
    out.push(Buffer.from(`$ ${commandLine(opts)}\n`));
    try {
        const code = await new Promise<number | null>((resolve, reject) => {
            const p = spawn(process.execPath, ["--import", TSX_LOADER, CHILD, optionsFile, resultFile], {
                cwd: child.projectDir,
                stdio: ["ignore", "pipe", "pipe"],
            });
            p.stdout.on("data", (d: Buffer) => out.push(d));
            p.stderr.on("data", (d: Buffer) => out.push(d));
            p.on("error", reject);
            p.on("close", resolve);
        });
        out.flush();
        if (!fs.existsSync(resultFile))
            return { ok: false, error: `rehearsal driver exited with code ${code} without a result`, outputs: {}, events: [] };
        const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as UpResult;
        return JSON.parse(mask(JSON.stringify(result))) as UpResult;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `pulumi preview` (with `plan`: `--save-plan`). */
export function preview(opts: UpOptions): Promise<UpResult> {
    return up({ ...opts, preview: true });
}

/** `pulumi destroy` (with `excludeProtected`: `--exclude-protected`). */
export function destroy(opts: UpOptions): Promise<UpResult> {
    return up({ ...opts, destroy: true });
}

/** `pulumi refresh`. */
export function refresh(opts: UpOptions): Promise<UpResult> {
    return up({ ...opts, refresh: true });
}

/**
 * The CLI itself on the stack of `opts` (`pulumi <args> --stack <stack> --non-interactive`, in the stack's
 * workspace, with its backend and passphrase), e.g. `state unprotect --all --yes`; returns its stdout, throws
 * when it fails. With `log`, the command and its output go to the log as an admin would see them.
 */
export function cli(opts: UpOptions, args: string[], { log = false } = {}): string {
    const child = prepare(opts);
    const out = execFileSync(path.join(child.cliRoot, "bin", "pulumi"), [...args, "--stack", opts.stack, "--non-interactive"], {
        cwd: child.workDir,
        env: { ...process.env, ...child.envVars, PULUMI_HOME: child.pulumiHome },
        maxBuffer: 1 << 28,
        stdio: ["ignore", "pipe", "pipe"],
    }).toString();
    if (log && opts.logPath) {
        const mask = secretMasker(opts.config, opts.secretKeys);
        fs.appendFileSync(opts.logPath, mask(`$ pulumi ${args.join(" ")}\n${out}${out.endsWith("\n") || !out ? "" : "\n"}`));
    }
    return out;
}

/**
 * `pulumi stack export --show-secrets` of the stack of `opts`: its checkpoint with the secrets decrypted, for
 * checks that need a secret's value (a connection's user, a secret output). Kept in memory only.
 */
export function revealedState(opts: UpOptions): State {
    return revealedStateOf(JSON.parse(cli(opts, ["stack", "export", "--show-secrets"])));
}

/** "pulumi v3.x.y (real)", from the CLI itself. */
export function engineLine(root: string): string {
    const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
    const version = execFileSync(path.join(root, "bin", "pulumi"), ["version"], {
        env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    })
        .toString()
        .trim();
    return `pulumi ${version} (real)`;
}
