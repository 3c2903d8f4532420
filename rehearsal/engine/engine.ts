/**
 * TEST STAND-IN for the Pulumi engine: the mocks given to `pulumi.runtime.setMocks`, which decide
 * create / same / update / replace per resource like the engine's step generator, run the
 * @pulumi/command provider's operations for real, and delete what left the program afterwards.
 *
 * Resource options, which the mocks API hides, come from a stack transformation in the child
 * (`noteOptions`): protect (no delete, no replacement), retainOnDelete (dropped from state, delete command
 * not run), ignoreChanges (old value kept), replaceOnChanges, deleteBeforeReplace. Stored with the resource,
 * so a resource that left the program is deleted (or retained, or refused) by the options it had.
 * Known gaps against the real engine:
 * - deletedWith and customTimeouts are not honoured.
 * - Dependencies are not visible either: deletes run in reverse order of completion, which is a
 *   topological order because dependents register only after their dependencies returned.
 * - Non-command providers (aws, cloudflare, ...) are recorded, never called.
 */
import * as crypto from "node:crypto";
import type * as pulumiType from "@pulumi/pulumi";
import { COMMAND_TYPES, COPY_TO_REMOTE, commandFor, hostOf, runCommandOp } from "./providers";
import { isSecretMarked, readState, resourceKey } from "./state";
import type { FaultPlan } from "./ssh";
import type { EngineState, ResourceOptionsSeen, StateResource, StepEvent, StepOp, UpOptions } from "./types";
import { deepEqual, normalize, wrapSecret } from "./values";

type Obj = Record<string, unknown>;
type MockArgs = pulumiType.runtime.MockResourceArgs;
type MockResult = pulumiType.runtime.MockResourceResult;

export type Log = (line: string) => void;

const STACK_REFERENCE = "pulumi:pulumi:StackReference";

function hex(n: number): string {
    return crypto.randomBytes(n).toString("hex");
}

const VERBS: Record<StepOp, string> = {
    create: "+ create",
    update: "~ update",
    delete: "- delete",
    "replace-create": "+ replace",
    "replace-delete": "- delete (replaced)",
    same: "  same",
    retain: "- retain (retainOnDelete: removed from the stack, delete not run)",
};

/** A property path of the options (`connection.host`, `triggers[*]`) as keys; an element path means its array. */
function inputPath(path: string): string[] {
    return path
        .replace(/\[[^\]]*\]/g, "")
        .split(".")
        .filter(Boolean);
}

/** The value at a dotted input path (`connection.host`). */
function getPath(obj: Obj | undefined, path: string): unknown {
    return inputPath(path).reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Obj)[k] : undefined), obj);
}

/** ignoreChanges: the old value of each listed path is kept (absent old value: the new one stays). */
function keepIgnored(inputs: Obj, old: Obj | undefined, paths: string[] | undefined): Obj {
    if (!old || !paths?.length) return inputs;
    const result = structuredClone(inputs);
    for (const path of paths) {
        const keys = inputPath(path);
        const value = getPath(old, path);
        if (value === undefined) continue;
        let o = result;
        for (const k of keys.slice(0, -1)) o = (o[k] && typeof o[k] === "object" ? o[k] : (o[k] = {})) as Obj;
        o[keys[keys.length - 1]!] = structuredClone(value);
    }
    return result;
}

function messageOf(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

export class Engine {
    readonly events: StepEvent[] = [];
    readonly failures: string[] = [];
    private readonly current = new Map<string, StateResource>();
    private readonly registered = new Set<string>();
    private readonly queuedDeletes: StateResource[] = [];
    private readonly options = new Map<string, ResourceOptionsSeen>();
    private inFlight = 0;
    private lastActivity = Date.now();

    constructor(
        private readonly opts: UpOptions,
        private readonly prev: EngineState,
        private readonly log: Log,
    ) {
        for (const r of prev.resources) this.current.set(resourceKey(r.type, r.name), r);
        this.queuedDeletes.push(...prev.pendingDeletes);
    }

    /** Called by the child's stack transformation, before the resource reaches the mocks. */
    noteOptions(type: string, name: string, opts: pulumiType.CustomResourceOptions): void {
        const seen: ResourceOptionsSeen = {};
        if (opts.protect !== undefined) seen.protect = opts.protect;
        if (opts.retainOnDelete !== undefined) seen.retainOnDelete = opts.retainOnDelete;
        if (opts.deleteBeforeReplace !== undefined) seen.deleteBeforeReplace = opts.deleteBeforeReplace;
        if (opts.ignoreChanges?.length) seen.ignoreChanges = [...opts.ignoreChanges];
        if (opts.replaceOnChanges?.length) seen.replaceOnChanges = [...opts.replaceOnChanges];
        this.options.set(resourceKey(type, name), seen);
    }

    mocks(): pulumiType.runtime.Mocks {
        return {
            newResource: args => this.tracked(() => this.newResource(args)),
            call: args => (args.token === "aws:ec2/getAmi:getAmi" ? { id: "ami-0rehearsal", imageId: "ami-0rehearsal" } : {}),
        };
    }

    /** The program is quiet: nothing registering, nothing finished for `ms` (failed branches never call waitForRPCs back). */
    async quiet(ms: number): Promise<void> {
        this.lastActivity = Date.now();
        while (this.inFlight > 0 || Date.now() - this.lastActivity < ms) {
            await new Promise(r => setTimeout(r, 100));
        }
    }

    private async tracked<T>(fn: () => Promise<T>): Promise<T> {
        this.inFlight++;
        this.lastActivity = Date.now();
        try {
            return await fn();
        } finally {
            this.inFlight--;
            this.lastActivity = Date.now();
        }
    }

    private async newResource(args: MockArgs): Promise<MockResult> {
        if (args.custom === false) return { id: undefined, state: {} };
        if (args.type.startsWith("pulumi:providers:")) return { id: `${args.name}-provider`, state: args.inputs };
        if (args.type === STACK_REFERENCE) return this.stackReference(String(args.inputs.name ?? args.name));
        const key = resourceKey(args.type, args.name);
        if (this.registered.has(key)) throw new Error(`Duplicate resource URN '${key}'; try giving it a unique name`);
        this.registered.add(key);
        const secretPaths: string[] = [];
        const old = this.current.get(key);
        const options = this.options.get(key) ?? {};
        const inputs = keepIgnored((await normalize(args.inputs, "", secretPaths)) as Obj, old?.inputs, options.ignoreChanges);
        const op = this.decide(args.type, old, inputs, options);
        if (op === "replace-create" && (old?.options?.protect || options.protect))
            await this.step(args.name, args.type, op, hostOf(inputs), () =>
                Promise.reject(new Error(`unable to replace ${args.name}: it is protected (protect: true); unprotect it first`)),
            );
        if (this.opts.preview) return this.plan(args, op, old);
        if (op === "same") return this.same(key, args, old!, options);
        if (op === "replace-create" && old && options.deleteBeforeReplace && !(await this.deleteOne(old, "replace-delete")))
            throw new Error(`${args.name}: the delete before its replacement failed`);
        const id = this.idFor(args, op === "replace-create" ? undefined : old);
        const outputs = await this.step(args.name, args.type, op, hostOf(inputs), () =>
            COMMAND_TYPES.has(args.type) ? this.runCommand(args, op, inputs, old) : this.recordOnly(args, id, old),
        );
        if (op === "replace-create" && old && !options.deleteBeforeReplace) this.queuedDeletes.push(old);
        this.save(key, { type: args.type, name: args.name, id, inputs, secretPaths, outputs, host: hostOf(inputs), options });
        return { id, state: { ...args.inputs, ...outputs, ...(COMMAND_TYPES.has(args.type) ? {} : { id }) } };
    }

    private decide(type: string, old: StateResource | undefined, inputs: Obj, options: ResourceOptionsSeen): StepOp {
        if (!old) return "create";
        if (deepEqual(old.inputs, inputs)) return "same";
        if (COMMAND_TYPES.has(type) && !deepEqual(old.inputs.triggers, inputs.triggers)) return "replace-create";
        for (const p of options.replaceOnChanges ?? []) {
            if (p === "*" || !deepEqual(getPath(old.inputs, p), getPath(inputs, p))) return "replace-create";
        }
        return "update";
    }

    /** preview: the step as decided, printed and recorded, nothing run; dependents see the old outputs. */
    private plan(args: MockArgs, op: StepOp, old: StateResource | undefined): MockResult {
        this.planned(args.name, args.type, op, old?.host);
        return { id: old?.id ?? `${args.name}-preview`, state: { ...args.inputs, ...(old?.outputs ?? {}) } };
    }

    private planned(name: string, type: string, op: StepOp, host: string | undefined, note = ""): void {
        const now = new Date().toISOString();
        this.events.push({ name, type, op, host, startedAt: now, endedAt: now, seconds: 0, ok: true, planned: true });
        if (op !== "same") this.log(`${VERBS[op]} ${name}${host ? ` (${host})` : ""}${note} (preview: not run)`);
    }

    /** preview: what would leave the program, and how (deleted, retained, or refused as protected). */
    async planDeletes(): Promise<void> {
        const gone = [...this.current.entries()].filter(([key]) => !this.registered.has(key)).sort((a, b) => b[1].seq - a[1].seq);
        for (const [, r] of gone) {
            if (r.options?.protect) {
                this.failures.push(`${r.name}: unable to delete: it is protected (protect: true)`);
                this.log(`✗ ${r.name}: would be deleted, but it is protected (protect: true)`);
            } else this.planned(r.name, r.type, r.options?.retainOnDelete ? "retain" : "delete", r.host);
        }
    }

    /**
     * `pulumi destroy`: every resource, newest first; protected ones stop it (or, with `excludeProtected`, are
     * skipped and stay), retained ones only leave the state.
     */
    async destroyAll(): Promise<boolean> {
        const all = [...this.current.entries()].sort((a, b) => b[1].seq - a[1].seq);
        for (const [key, r] of all) {
            if (this.opts.excludeProtected && r.options?.protect) {
                this.log(`  ${r.name}: protected, excluded (--exclude-protected): kept in the stack`);
                continue;
            }
            if (!(await this.deleteOne(r, "delete"))) return false;
            this.current.delete(key);
        }
        await this.runPendingDeletes();
        return this.failures.length === 0;
    }

    private same(key: string, args: MockArgs, old: StateResource, options: ResourceOptionsSeen): MockResult {
        const now = new Date().toISOString();
        this.events.push({
            name: args.name,
            type: args.type,
            op: "same",
            host: old.host,
            startedAt: now,
            endedAt: now,
            seconds: 0,
            ok: true,
        });
        this.save(key, { ...old, options });
        return { id: old.id, state: { ...args.inputs, ...old.outputs } };
    }

    private save(key: string, r: Omit<StateResource, "seq" | "updatedAt">): void {
        this.current.set(key, { ...r, seq: this.prev.nextSeq++, updatedAt: new Date().toISOString() });
    }

    private faultFor(name: string): FaultPlan | undefined {
        const fault = this.opts.faults?.find(f => f.resource === name);
        if (!fault) return undefined;
        return "afterSeconds" in fault.when
            ? { afterSeconds: fault.when.afterSeconds }
            : { stdoutMatches: new RegExp(fault.when.stdoutMatches) };
    }

    private runCommand(args: MockArgs, op: StepOp, inputs: Obj, old?: StateResource): Promise<Obj> {
        const providerOp = op === "update" ? "update" : "create";
        return runCommandOp(
            args.type,
            providerOp,
            inputs,
            {
                sink: (_stream, line) => this.log(`    ${args.name} | ${line}`),
                fault: this.faultFor(args.name),
                previous: op === "update" ? old?.outputs : undefined,
            },
            args.inputs.source,
        );
    }

    /**
     * The outputs a recorded resource's provider computes, where the program reads them: an Elastic IP's
     * `allocationId` (its id) and a key pair's `keyName` (auto-named when not given, kept by an update), as
     * the AWS provider returns them (an output left out would be unknown in a preview, and a change).
     */
    private async recordOnly(args: MockArgs, id: string, old?: StateResource): Promise<Obj> {
        if (args.type === "aws:ec2/instance:Instance" || args.type === "aws:ec2/eip:Eip") {
            const address = this.opts.awsAddress ?? "127.0.0.1";
            return {
                publicIp: address,
                privateIp: address,
                arn: `arn:aws:ec2:rehearsal:000000000000:${args.name}`,
                ...(args.type === "aws:ec2/eip:Eip" ? { allocationId: id } : {}),
            };
        }
        if (args.type === "aws:ec2/keyPair:KeyPair")
            return {
                arn: `arn:aws:rehearsal:::${args.name}`,
                keyName: args.inputs.keyName ?? old?.outputs.keyName ?? `${args.name}-${hex(4)}`,
            };
        // An IAM access key's secret exists only in the (secret) output; a throwaway value stands in for it.
        if (args.type === "aws:iam/accessKey:AccessKey")
            return { arn: `arn:aws:rehearsal:::${args.name}`, secret: `rehearsal-secret-${hex(16)}` };
        if (args.type.startsWith("aws:")) return { arn: `arn:aws:rehearsal:::${args.name}` };
        return {};
    }

    private idFor(args: MockArgs, old?: StateResource): string {
        if (args.id) return args.id.split("/").pop() ?? args.id;
        if (old) return old.id;
        if (args.type === "aws:ec2/instance:Instance") return `i-${hex(8)}`;
        if (args.type === "aws:ec2/eip:Eip") return `eipalloc-${hex(8)}`;
        return `${args.name}-${hex(4)}`;
    }

    private stackReference(name: string): MockResult {
        const file = this.opts.stackStates?.[name];
        const outputs = file ? readState(file).outputs : this.prev.outputs;
        const plain: Obj = {};
        const secretOutputNames: string[] = [];
        for (const [k, v] of Object.entries(outputs)) {
            if (isSecretMarked(v)) secretOutputNames.push(k);
            plain[k] = isSecretMarked(v) ? wrapSecret(v.value) : v;
        }
        return { id: name, state: { name, outputs: plain, secretOutputNames } };
    }

    /** Time one step, log it like `pulumi up`, record the event; rethrows so the program sees the failure. */
    private async step<T>(name: string, type: string, op: StepOp, host: string | undefined, fn: () => Promise<T>): Promise<T> {
        const started = new Date();
        this.log(`${VERBS[op]} ${name}${host ? ` (${host})` : ""}`);
        const finish = (ok: boolean, error?: string) => {
            const ended = new Date();
            const seconds = Math.round((ended.getTime() - started.getTime()) / 100) / 10;
            this.events.push({
                name,
                type,
                op,
                host,
                startedAt: started.toISOString(),
                endedAt: ended.toISOString(),
                seconds,
                ok,
                ...(error ? { error } : {}),
            });
            this.log(ok ? `✓ ${name} ${seconds.toFixed(1)}s` : `✗ ${name}: ${error}`);
        };
        try {
            const result = await fn();
            finish(true);
            return result;
        } catch (err) {
            const error = messageOf(err);
            finish(false, error);
            this.failures.push(`${name}: ${error}`);
            throw err;
        }
    }

    /** Run a stored delete (stored connection/stdin/environment). Returns false when it failed. */
    private async deleteOne(r: StateResource, op: "delete" | "replace-delete"): Promise<boolean> {
        if (r.options?.protect) {
            try {
                await this.step(r.name, r.type, op, r.host, () =>
                    Promise.reject(new Error(`unable to delete ${r.name}: it is protected (protect: true); unprotect it first`)),
                );
            } catch {
                return false;
            }
        }
        if (r.options?.retainOnDelete) {
            // Removed from the stack; its delete command never runs (what it did stays in place).
            await this.step(r.name, r.type, "retain", r.host, async () => undefined);
            return true;
        }
        const hasDelete = COMMAND_TYPES.has(r.type) && r.type !== COPY_TO_REMOTE && commandFor(r.inputs, "delete") !== undefined;
        try {
            await this.step(r.name, r.type, op, r.host, async () => {
                if (!hasDelete) return;
                await runCommandOp(r.type, "delete", r.inputs, {
                    sink: (_s, line) => this.log(`    ${r.name} | ${line}`),
                    fault: this.faultFor(r.name),
                    previous: r.outputs,
                });
            });
            return true;
        } catch {
            return false;
        }
    }

    /** Old halves of replacements left over from a failed run: the engine deletes them first. */
    async runPendingDeletes(): Promise<void> {
        while (this.queuedDeletes.length > 0) {
            if (!(await this.deleteOne(this.queuedDeletes[this.queuedDeletes.length - 1]!, "replace-delete"))) return;
            this.queuedDeletes.pop();
        }
    }

    /** After a successful program: delete what left it (reverse completion order), then replaced halves. */
    async deletePhase(): Promise<void> {
        const gone = [...this.current.entries()].filter(([key]) => !this.registered.has(key)).sort((a, b) => b[1].seq - a[1].seq);
        for (const [key, r] of gone) {
            if (!(await this.deleteOne(r, "delete"))) return;
            this.current.delete(key);
        }
        this.queuedDeletes.sort((a, b) => a.seq - b.seq);
        await this.runPendingDeletes();
    }

    /** The state to persist: everything that succeeded, plus what could not be deleted yet. */
    nextState(outputs: Obj | undefined): EngineState {
        return {
            version: 1,
            note: this.prev.note,
            nextSeq: this.prev.nextSeq,
            outputs: outputs ?? this.prev.outputs,
            resources: [...this.current.values()].sort((a, b) => a.seq - b.seq),
            pendingDeletes: [...this.queuedDeletes],
        };
    }
}
