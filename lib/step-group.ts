/**
 * The base of every component that runs steps: a `ComponentResource` whose children are
 * `command.remote.Command` steps named `${name}-${suffix}`, each running a rendered step script
 * (`lib/step-script.ts`). It keeps the step names once, merges the group's options into each step
 * (`dependsOn` and `retainOnDelete` are not inherited by children in Pulumi, so they are applied to each;
 * `frozen` gives each step its keep-`update`),
 * computes the `durations` output and registers the outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "./server";
import { parseDuration, remoteCommand, renderKeep, renderStep, StepScript, taggedJson } from "./step-script";

/** Options of a step group besides the component's own. */
export interface StepGroupOptions extends pulumi.ComponentResourceOptions {
    /**
     * The move has reached the cutover: a step that has run never runs again. A change of its script (a
     * program upgrade), its connection (a rotated key, another user) or its inputs runs the step's `update`
     * instead (`lib/sh/keep.sh`: nothing on the server, the kept output printed again), so state records
     * the new script, connection and delete; a change of `triggers` is ignored. A step that failed is not in
     * state and runs its (new) create on the next `up`, as before.
     */
    frozen?: boolean;
}

/** Inputs whose change would replace a frozen step (run its create again): ignored. */
export const FROZEN_IGNORED = ["triggers"];

export interface StepOptions {
    /** Script run when the step leaves the program (rollback) or is destroyed; it never has a peer. */
    undo?: StepScript;
    /** The other server of a transfer: the step reaches it with the migration key (`lib/sh/peer.sh`). */
    peer?: Server;
    /** A change of any trigger replaces the step: its create runs again. */
    triggers?: pulumi.Input<unknown>[];
    /** Steps that must have completed before this one starts, besides the group's `dependsOn`. */
    after?: (pulumi.Resource | undefined)[];
    /** Standard input of the create (a secret stays a secret: Pulumi keeps it encrypted, never in the script). */
    stdin?: pulumi.Input<string>;
}

export abstract class StepGroup extends pulumi.ComponentResource {
    /** Step name → seconds it took, read from the marker each step prints last. */
    durations!: pulumi.Output<Record<string, number>>;
    private readonly steps: Record<string, command.remote.Command> = {};
    private readonly groupDependsOn: pulumi.Input<pulumi.Resource>[];

    constructor(
        type: string,
        protected readonly groupName: string,
        private readonly opts: StepGroupOptions = {},
    ) {
        const { frozen: _frozen, ...componentOpts } = opts;
        super(`mastodon-migration:index:${type}`, groupName, {}, componentOpts);
        const deps = opts.dependsOn ?? [];
        this.groupDependsOn = Array.isArray(deps) ? deps : [deps as pulumi.Input<pulumi.Resource>];
    }

    /** Declare the step `${name}-${suffix}` running `script` on `server`. */
    protected step(suffix: string, server: Server, script: pulumi.Input<StepScript>, options: StepOptions = {}): command.remote.Command {
        const name = `${this.groupName}-${suffix}`;
        const render = (stepName: string, s: StepScript, peer?: { host: string; port: number; user: string }) =>
            remoteCommand(renderStep({ name: stepName, workDir: server.workDir, script: s, peer }), server.sshUser);
        const peer = options.peer;
        const peerAddress = peer ? peer.address.apply(host => ({ host, port: peer.port, user: peer.sshUser })) : pulumi.output(undefined);
        const step = new command.remote.Command(
            name,
            {
                connection: server.connection,
                create: pulumi.all([script, peerAddress]).apply(([s, p]) => render(name, s as StepScript, p)),
                delete: options.undo && render(`${name}-undo`, options.undo),
                update: this.opts.frozen ? remoteCommand(renderKeep({ name, workDir: server.workDir }), server.sshUser) : undefined,
                triggers: options.triggers,
                stdin: options.stdin,
                // Never feed a previous (possibly large) stdout back into the environment.
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: [...this.groupDependsOn, ...(options.after ?? []).filter((r): r is pulumi.Resource => r !== undefined)],
                retainOnDelete: this.opts.retainOnDelete,
                ignoreChanges: this.opts.frozen ? FROZEN_IGNORED : undefined,
            },
        );
        this.steps[name] = step;
        return step;
    }

    /**
     * A step that reports: its output carries one `<TAG> {json}` line (facts, a verification), parsed into
     * `report`. A missing line fails the deployment with a message naming the step.
     */
    protected reportingStep<T>(
        suffix: string,
        server: Server,
        script: pulumi.Input<StepScript>,
        tag: string,
        options: StepOptions = {},
    ): { step: command.remote.Command; report: pulumi.Output<T> } {
        const step = this.step(suffix, server, script, options);
        return { step, report: step.stdout.apply(out => taggedJson<T>(out, tag, `step ${this.groupName}-${suffix}`)) };
    }

    /** Compute `durations` and register the component's outputs (call once, at the end of the constructor). */
    protected done(outputs: Record<string, pulumi.Input<unknown>> = {}): void {
        const names = Object.keys(this.steps);
        this.durations = pulumi.all(names.map(n => this.steps[n].stdout)).apply(outs => {
            const result: Record<string, number> = {};
            outs.forEach((out, i) => {
                const seconds = parseDuration(out);
                if (seconds !== undefined) result[names[i]] = seconds;
            });
            return result;
        });
        this.registerOutputs({ ...outputs, durations: this.durations });
    }
}
