/**
 * TEST STAND-IN for the Pulumi engine: shared types of the rehearsal runner.
 * Nothing here talks to the real Pulumi service or CLI.
 */

/** Cut the SSH connection of one resource's remote command while it runs (a network drop). */
export interface Fault {
    /** Logical resource name. */
    resource: string;
    when: { afterSeconds: number } | { stdoutMatches: string };
}

export interface UpOptions {
    projectDir: string;
    project: string;
    stack: string;
    /** Keys like "mastodon-migration:phase"; structured values as JSON strings. */
    config: Record<string, string>;
    secretKeys: string[];
    statePath: string;
    logPath?: string;
    /** Stream the log to stdout as well. */
    echo?: boolean;
    /** What aws EC2 instance / EIP `publicIp` and `privateIp` resolve to. */
    awsAddress?: string;
    faults?: Fault[];
    /** StackReference name -> state file of that stack. Any other name reads this stack's own previous outputs. */
    stackStates?: Record<string, string>;
    /** `pulumi preview`: the program runs, every step is decided and printed, nothing runs, the state is kept. */
    preview?: boolean;
    /** `pulumi destroy`: no program; every resource in the state is deleted, newest first. */
    destroy?: boolean;
    /**
     * With `destroy`: `pulumi destroy --exclude-protected`. Protected resources are skipped and stay in the state;
     * every other one is deleted (or retained).
     */
    excludeProtected?: boolean;
}

/** The resource options the engine honours (captured by a stack transformation in the child). */
export interface ResourceOptionsSeen {
    protect?: boolean;
    retainOnDelete?: boolean;
    deleteBeforeReplace?: boolean;
    /** Input paths (`create`, `connection.host`) whose changes are ignored: the old value is kept. */
    ignoreChanges?: string[];
    /** Input paths whose changes replace the resource (`*`: any change). */
    replaceOnChanges?: string[];
}

export type StepOp = "create" | "update" | "delete" | "replace-create" | "replace-delete" | "same" | "retain";

export interface StepEvent {
    name: string;
    type: string;
    op: StepOp;
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
    /** Stack outputs (secret ones are returned as plain values here; the state file marks them). */
    outputs: Record<string, unknown>;
    events: StepEvent[];
}

/** A stack output or resource value as persisted: secrets carry a marker. */
export interface SecretMarked {
    secret: true;
    value: unknown;
}

export interface StateResource {
    type: string;
    name: string;
    id: string;
    /** Completion order; deletes run in reverse. */
    seq: number;
    /** Inputs with secrets unwrapped and assets replaced by descriptors. */
    inputs: Record<string, unknown>;
    /** Paths (e.g. "connection", "create") whose values were secret in the program. */
    secretPaths: string[];
    /** Provider-computed outputs (stdout/stderr, publicIp, ...). */
    outputs: Record<string, unknown>;
    host?: string;
    /** The resource options of its last registration. */
    options?: ResourceOptionsSeen;
    updatedAt: string;
}

export interface EngineState {
    version: 1;
    /** TEST STAND-IN: sandbox-only state. Real Pulumi encrypts secrets in its checkpoints. */
    note: string;
    nextSeq: number;
    outputs: Record<string, unknown | SecretMarked>;
    resources: StateResource[];
    /** Old halves of replacements whose delete has not run yet (the engine's pending deletes). */
    pendingDeletes: StateResource[];
}
