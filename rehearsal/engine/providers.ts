/**
 * TEST STAND-IN for the @pulumi/command 1.2.1 provider: what create/update/delete of
 * command:remote:Command, command:local:Command and command:remote:CopyToRemote really do.
 */
import { runLocal } from "./local";
import { copyToRemote, dial, exec, type Connection, type ExecResult, type FaultPlan, type LineSink } from "./ssh";
import { liveSource } from "./values";

export const REMOTE_COMMAND = "command:remote:Command";
export const LOCAL_COMMAND = "command:local:Command";
export const COPY_TO_REMOTE = "command:remote:CopyToRemote";
export const COMMAND_TYPES = new Set([REMOTE_COMMAND, LOCAL_COMMAND, COPY_TO_REMOTE]);

export type CommandOp = "create" | "update" | "delete";

export interface CommandContext {
    /** Prints one streamed output line (already prefixed by the caller). */
    sink: LineSink;
    fault?: FaultPlan;
    /** Previous stdout/stderr (update and delete). */
    previous?: { stdout?: unknown; stderr?: unknown };
}

type Inputs = Record<string, unknown>;

/** Which command text an operation runs: update falls back to create; delete may be absent. */
export function commandFor(inputs: Inputs, op: CommandOp): string | undefined {
    const pick = op === "update" ? (inputs.update ?? inputs.create) : inputs[op];
    return typeof pick === "string" && pick !== "" ? pick : undefined;
}

/** The provider trims one trailing newline from stdout and stderr. */
function trimOne(s: string): string {
    return s.endsWith("\n") ? s.slice(0, -1) : s;
}

/** `logging`: stdoutAndStderr (default), stdout, stderr, none. */
function filteredSink(inputs: Inputs, sink: LineSink): LineSink {
    const logging = typeof inputs.logging === "string" ? inputs.logging : "stdoutAndStderr";
    return (stream, line) => {
        if (logging === "none") return;
        if (logging === "stdout" && stream !== "stdout") return;
        if (logging === "stderr" && stream !== "stderr") return;
        sink(stream, line);
    };
}

function environmentOf(inputs: Inputs): Record<string, string> {
    const env = inputs.environment;
    if (typeof env !== "object" || env === null) return {};
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

export function hostOf(inputs: Inputs): string | undefined {
    const c = inputs.connection as Connection | undefined;
    return c?.host;
}

/** Remote: `environment` needs sshd AcceptEnv (setenv), which the sandbox sshd does not have. */
async function runRemote(inputs: Inputs, command: string, ctx: CommandContext): Promise<ExecResult> {
    const client = await dial(inputs.connection as Connection);
    try {
        const first = Object.keys(environmentOf(inputs))[0];
        if (first !== undefined) {
            throw new Error(
                `Unable to set '${first}'. This only works if your SSH server is configured to accept these variables via AcceptEnv. ` +
                    "Alternatively, if a Bash-like shell runs the command on the remote host, you could prefix the command itself with the variables in the form 'VAR=value command'",
            );
        }
        const stdin = typeof inputs.stdin === "string" ? inputs.stdin : undefined;
        return await exec(client, command, stdin, filteredSink(inputs, ctx.sink), ctx.fault);
    } finally {
        client.end();
    }
}

/** Local: addPreviousOutputInEnv (default true) exposes the previous stdout/stderr on update/delete. */
async function runLocalCommand(inputs: Inputs, command: string, ctx: CommandContext): Promise<ExecResult> {
    const environment = environmentOf(inputs);
    if (inputs.addPreviousOutputInEnv !== false && ctx.previous) {
        environment.PULUMI_COMMAND_STDOUT = String(ctx.previous.stdout ?? "");
        environment.PULUMI_COMMAND_STDERR = String(ctx.previous.stderr ?? "");
    }
    return runLocal(
        {
            command,
            interpreter: Array.isArray(inputs.interpreter) ? inputs.interpreter.map(String) : undefined,
            dir: typeof inputs.dir === "string" ? inputs.dir : undefined,
            environment,
            stdin: typeof inputs.stdin === "string" ? inputs.stdin : undefined,
        },
        filteredSink(inputs, ctx.sink),
    );
}

/**
 * Run one operation. `inputs` are plain (secrets unwrapped); `rawSource` is the live asset for copies.
 * Returns the provider outputs to store ({stdout, stderr} for commands, {} for copies).
 */
export async function runCommandOp(type: string, op: CommandOp, inputs: Inputs, ctx: CommandContext, rawSource?: unknown): Promise<Inputs> {
    if (type === COPY_TO_REMOTE) {
        if (op === "delete") return {};
        const client = await dial(inputs.connection as Connection);
        try {
            await copyToRemote(client, await liveSource(rawSource), String(inputs.remotePath));
        } finally {
            client.end();
        }
        return {};
    }
    const command = commandFor(inputs, op);
    if (command === undefined) return { stdout: "", stderr: "" };
    const run = type === REMOTE_COMMAND ? runRemote : runLocalCommand;
    const result = await run(inputs, command, ctx);
    return { stdout: trimOne(result.stdout), stderr: trimOne(result.stderr) };
}
