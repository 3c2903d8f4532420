/**
 * Types of the rehearsal's driver of the REAL Pulumi CLI (`runner.ts`): the options of one operation
 * (`pulumi up`, `preview`, `refresh`, `destroy`) and what it returns.
 */

/** Cut the SSH connection of one step's remote command while it runs (a network drop). */
export interface Fault {
    /** Resource name (the step's name). */
    resource: string;
    /** After this many seconds of the step running, or once one of its output lines matches (a regexp). */
    when: { afterSeconds: number } | { stdoutMatches: string };
}

export interface UpOptions {
    /** The program's directory (Pulumi.yaml, index.ts). */
    projectDir: string;
    project: string;
    stack: string;
    /** Keys like "mastodon-migration:phase"; structured values as JSON strings. */
    config: Record<string, string>;
    /** Keys set with `pulumi config set --secret`. */
    secretKeys: string[];
    /** Where the operation's Pulumi files live: the stack's workspace, the file backend, the passphrase. */
    pulumiDir: string;
    /** Where the stack's checkpoint (`pulumi stack export`) is written after each operation. */
    statePath: string;
    logPath?: string;
    /** Stream the CLI's display to stdout as well. */
    echo?: boolean;
    /** What the stand-in AWS provider resolves EC2 instances and EIPs to. */
    awsAddress?: string;
    faults?: Fault[];
    /** More environment for the CLI and its plugins (the stand-in providers' files). */
    env?: Record<string, string>;
    /** `pulumi preview`. */
    preview?: boolean;
    /** `pulumi refresh`. */
    refresh?: boolean;
    /** `pulumi destroy`. */
    destroy?: boolean;
    /** With `destroy`: `--exclude-protected`. */
    excludeProtected?: boolean;
    /** `--policy-pack <dir>` (preview and up). */
    policyPacks?: string[];
    /** preview: `--save-plan <file>`; up: `--plan <file>`. */
    plan?: string;
}

export type StepOp =
    | "create"
    | "update"
    | "delete"
    | "replace-create"
    | "replace-delete"
    | "same"
    | "retain"
    | "import"
    | "read"
    | "refresh"
    | "discard";

/** One step of the engine (a resource operation), as its events told it. */
export interface StepEvent {
    name: string;
    type: string;
    urn: string;
    op: StepOp;
    /** The host the command ran on (command steps, from the provider's call log). */
    host?: string;
    startedAt: string;
    endedAt: string;
    seconds: number;
    ok: boolean;
    error?: string;
    /** preview: planned, not run. */
    planned?: boolean;
}

export interface UpResult {
    ok: boolean;
    error?: string;
    /** Stack outputs (secret ones as plain values; the checkpoint keeps them encrypted). */
    outputs: Record<string, unknown>;
    events: StepEvent[];
    /** The CLI's version and the backend's URL. */
    engine?: { version: string; backend: string };
    /** Wall time of the operation, and of the CLI's start until the first engine event. */
    seconds?: number;
    startSeconds?: number;
}

/** A resource of the checkpoint, simplified for checks. Secret values stay as the checkpoint holds them. */
export interface StateResource {
    urn: string;
    type: string;
    name: string;
    id: string;
    custom: boolean;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
    /** Top-level properties whose value is secret (encrypted in the checkpoint). */
    secretPaths: string[];
    protect: boolean;
    retainOnDelete: boolean;
    parent?: string;
    dependencies: string[];
    provider?: string;
}

export interface State {
    /** The CLI's checkpoint as `pulumi stack export` gives it. */
    checkpoint: unknown;
    /** Stack outputs (secret ones as their encrypted form). */
    outputs: Record<string, unknown>;
    resources: StateResource[];
    pendingOperations: unknown[];
}
