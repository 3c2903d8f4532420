/**
 * STAND-IN for the `command` provider plugin v1.2.1 (pulumi-resource-command), resource command:remote:Command
 * only: a real provider process started by the real Pulumi CLI (see README.md). Its behaviour is written from
 * what these sources do (none of their code is copied):
 *   - pulumi-command v1.2.1 provider/pkg/provider/remote/command.go (the inputs and their schema tags),
 *     commandController.go (create/update/delete), commandOutputs.go (the run), logging.go,
 *     common/inputs.go, util/util.go (LogOutput's bufio.Scanner); SSH: see ssh.ts;
 *   - pulumi-go-provider v1.3.0 infer/resource.go (Check: decoding errors and defaults, Diff, Create's id
 *     and failure without state, Read), infer/apply_secrets.go (secret inputs), middleware/cancel/cancel.go.
 */
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type * as provider from "@pulumi/pulumi/provider";
import type { Client, ClientChannel } from "ssh2";
import { EngineLog, fail, isSecret, record, reveal, secret, serve, UNKNOWN, urnParts, type Props } from "../serve";
import { dial, goQuote, newSession, setenv, start, waitError, type Connection } from "./ssh";

const TYPE = "command:remote:Command";
const VERSION = "1.2.1";
const PROVIDER = "command";

/** The inputs (CommandInputs) as the provider's code sees them: secrets revealed. */
interface CommandInputs {
    triggers?: unknown[];
    create?: string | null;
    update?: string | null;
    delete?: string | null;
    stdin?: string | null;
    logging?: string | null;
    connection: Connection;
    environment?: Record<string, string> | null;
    addPreviousOutputInEnv?: boolean | null;
}

/** CommandOutputs: the inputs plus the last successful run's output. */
interface CommandState extends CommandInputs {
    stdout?: string;
    stderr?: string;
}

const INPUT_KEYS = ["triggers", "create", "update", "delete", "stdin", "logging", "connection", "environment", "addPreviousOutputInEnv"];

const engineLog = new EngineLog();

// ---------------------------------------------------------------------------------------------------------
// Check: go-provider decodes the inputs into CommandInputs (the sdk's mapper: its failures and texts), then
// applies the schema defaults (connection and proxy: user root, port 22, dialErrorLimit 10,
// perDialTimeout 15) and marks `connection` secret (provider:"secret").

type Kind = "string" | "float64" | "int" | "bool" | "[]interface {}" | "map[string]string" | "struct";
interface Field {
    kind: Kind;
    required?: boolean;
    /** The Go type named in a wrong-type failure when not the kind (a string enum). */
    goType?: string;
    struct?: Struct;
}
interface Struct {
    /** reflect.Type's %v ("remote.Connection") and Name() ("Connection"), as the mapper prints them. */
    goType: string;
    name: string;
    fields: Record<string, Field>;
}

const optionalString: Field = { kind: "string" };
const CONNECTION_BASE: Record<string, Field> = {
    user: optionalString,
    password: optionalString,
    host: { kind: "string", required: true },
    port: { kind: "float64" },
    privateKey: optionalString,
    privateKeyPassword: optionalString,
    agentSocketPath: optionalString,
    dialErrorLimit: { kind: "int" },
    perDialTimeout: { kind: "int" },
    hostKey: optionalString,
};
const PROXY: Struct = { goType: "remote.ProxyConnection", name: "ProxyConnection", fields: CONNECTION_BASE };
const CONNECTION: Struct = {
    goType: "remote.Connection",
    name: "Connection",
    fields: { ...CONNECTION_BASE, proxy: { kind: "struct", struct: PROXY } },
};
const INPUTS: Struct = {
    goType: "remote.CommandInputs",
    name: "CommandInputs",
    fields: {
        triggers: { kind: "[]interface {}" },
        create: optionalString,
        update: optionalString,
        delete: optionalString,
        stdin: optionalString,
        logging: { kind: "string", goType: "remote.Logging" },
        connection: { kind: "struct", required: true, struct: CONNECTION },
        environment: { kind: "map[string]string" },
        addPreviousOutputInEnv: { kind: "bool" },
    },
};

interface FieldFailure {
    field: string;
    reason: string;
}

/** The Go type a decoded JSON value has (what the mapper names as "got"). */
function goTypeOf(v: unknown): string {
    if (typeof v === "string") return "string";
    if (typeof v === "number") return "float64";
    if (typeof v === "boolean") return "bool";
    if (Array.isArray(v)) return "[]interface {}";
    return "map[string]interface {}";
}

const unwrap = (v: unknown): unknown => (isSecret(v) ? unwrap(v.value) : v);
const isObject = (v: unknown): v is Props => !!v && typeof v === "object" && !Array.isArray(v);

function decodeStruct(obj: Props, s: Struct): FieldFailure[] {
    const failures: FieldFailure[] = [];
    for (const [key, field] of Object.entries(s.fields)) {
        const v = unwrap(obj[key]);
        if (v === undefined || v === null) {
            if (field.required) failures.push({ field: key, reason: `Missing required field '${key}' on '${s.goType}'` });
            continue;
        }
        const failure = decodeValue(v, field, s, key);
        if (failure) failures.push(failure);
    }
    for (const key of Object.keys(obj)) {
        if (!(key in s.fields)) failures.push({ field: key, reason: `Unrecognized field '${key}' on '${s.goType}'` });
    }
    return failures;
}

function decodeValue(v: unknown, field: Field, s: Struct, key: string): FieldFailure | undefined {
    if (v === UNKNOWN) return undefined;
    const wrong = (expect: string, at = key, got = goTypeOf(v)): FieldFailure => ({
        field: at,
        reason: `Field '${at}' on '${s.goType}' must be a '${expect}'; got '${got}' instead`,
    });
    const noObject = (to: string): FieldFailure => ({
        field: key,
        reason: `An error occurred decoding '${s.name}.${key}': Cannot decode Object{} to type ${to}; it isn't a struct, and no custom decoder exists`,
    });
    const got = goTypeOf(v);
    switch (field.kind) {
        case "string":
        case "bool":
        case "[]interface {}":
            if (got === field.kind) return undefined;
            return got === "map[string]interface {}" ? noObject(field.goType ?? field.kind) : wrong(field.goType ?? field.kind);
        case "float64":
        case "int":
            if (got === "float64") return undefined;
            return got === "map[string]interface {}" ? noObject(field.kind) : wrong(field.kind);
        case "map[string]string":
            if (!isObject(v)) return wrong("map[string]string");
            for (const [k, ev] of Object.entries(v)) {
                const e = unwrap(ev);
                if (e === UNKNOWN || typeof e === "string") continue;
                return wrong("string", `${key}[${k}] value`, goTypeOf(e));
            }
            return undefined;
        case "struct": {
            if (!isObject(v)) return wrong(field.struct!.goType);
            const nested = decodeStruct(v, field.struct!);
            if (nested.length === 0) return undefined;
            const detail = nested.map(f => `\n\t${f.field}: ${f.reason}`).join("");
            return { field: key, reason: `An error occurred decoding '${s.name}.${key}': ${nested.length} failures decoding:${detail}` };
        }
    }
}

/** applyDefaults on a Connection / ProxyConnection (only what is nil gets its default). */
function connectionDefaults(c: Props): Props {
    const out: Props = { ...c };
    const dflt = (key: string, value: unknown) => {
        if (out[key] === undefined || out[key] === null) out[key] = value;
    };
    dflt("user", "root");
    dflt("port", 22);
    dflt("dialErrorLimit", 10);
    dflt("perDialTimeout", 15);
    return out;
}

/** A value marked secret (kept as it is when it already was). */
const asSecret = (v: unknown): unknown => (v === undefined || isSecret(v) ? v : secret(v));

function withDefaults(inputs: Props): Props {
    const out: Props = { ...inputs };
    const raw = out.connection;
    const wasSecret = isSecret(raw);
    const conn = wasSecret ? raw.value : raw;
    if (isObject(conn)) {
        const c = connectionDefaults(conn);
        const proxyWasSecret = isSecret(c.proxy);
        const proxy = proxyWasSecret ? (c.proxy as { value: unknown }).value : c.proxy;
        if (isObject(proxy)) c.proxy = proxyWasSecret ? secret(connectionDefaults(proxy)) : connectionDefaults(proxy);
        out.connection = c;
    }
    return out;
}

/** applySecrets for CommandInputs: `connection` is provider:"secret" (its password and keys inside it too). */
function withSecrets(inputs: Props): Props {
    return inputs.connection === undefined ? inputs : { ...inputs, connection: asSecret(inputs.connection) };
}

// ---------------------------------------------------------------------------------------------------------
// Diff (infer's default diff): the old inputs (the state's input properties) against the new ones; `triggers`
// is replaceOnChanges, everything else is an update because Command implements Update.

/** Deep equality of revealed values, null and absent alike (PropertyMap.Diff skips values without a value). */
function same(a: unknown, b: unknown): boolean {
    if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
    if (Array.isArray(a) || Array.isArray(b)) {
        if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
        return a.every((x, i) => same(x, b[i]));
    }
    if (isObject(a) && isObject(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        return [...keys].every(k => same(a[k], b[k]));
    }
    return a === b;
}

// ---------------------------------------------------------------------------------------------------------
// The run (commandOutputs.go)

/** LogOutput's bufio.Scanner: 64 KiB at most for a line (without its newline, less one byte). */
const MAX_TOKEN = 64 * 1024;

/**
 * bufio.Scanner with ScanLines over the pipe both logged streams write into: lines (a trailing \r dropped)
 * as they come. When 64 KiB are buffered without a newline the scanner gives up (ErrTooLong) and the pipe is
 * never read again: a writer with anything more to write blocks for ever.
 */
class LineScanner {
    private pending: Buffer[] = [];
    private pendingLength = 0;
    stopped = false;

    constructor(
        private readonly emit: (line: string) => void,
        private readonly onStop: () => void,
    ) {}

    /** Takes one write; false when the write could not be taken whole (the writer is blocked from now on). */
    write(chunk: Buffer): boolean {
        if (this.stopped) return chunk.length === 0;
        let at = 0;
        while (at < chunk.length) {
            const nl = chunk.indexOf(0x0a, at);
            const end = nl === -1 ? chunk.length : nl;
            if (this.pendingLength + (end - at) >= MAX_TOKEN) {
                // The buffer fills up before a newline: the scanner stops after reading what fitted.
                const taken = MAX_TOKEN - this.pendingLength;
                this.stopped = true;
                this.pending = [];
                this.onStop();
                return at + taken >= chunk.length;
            }
            if (nl === -1) {
                this.pending.push(chunk.subarray(at));
                this.pendingLength += chunk.length - at;
                break;
            }
            this.pending.push(chunk.subarray(at, nl));
            this.flushLine();
            at = nl + 1;
        }
        return true;
    }

    /** EOF (the pipe's writer closed): the last line without a newline still counts. */
    close(): void {
        if (!this.stopped && this.pendingLength > 0) this.flushLine();
    }

    private flushLine(): void {
        let line = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingLength = 0;
        if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
        this.emit(line.toString("utf8"));
    }
}

const shouldLogStdout = (l: string | null | undefined) => l === undefined || l === null || l === "stdout" || l === "stdoutAndStderr";
const shouldLogStderr = (l: string | null | undefined) => l === undefined || l === null || l === "stderr" || l === "stdoutAndStderr";

/** A failed run: the provider's message, plus what the call record may say about it (never the command). */
class RunError extends Error {
    constructor(
        message: string,
        readonly stage: "dial" | "session" | "setenv" | "exec" | "exit" | "hung",
        readonly exitStatus?: number,
    ) {
        super(message);
    }
}

/** Connections the provider dialed: the real provider never closes them (only each run's session). */
const openClients = new Set<Client>();
let signalCanceled!: () => void;
const canceledPromise = new Promise<void>(resolve => (signalCanceled = resolve));

function setenvMessage(key: string): string {
    return (
        `Unable to set '${key}'. This only works if your SSH server is configured to accept\n` +
        "\tthese variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, you could\n" +
        "\tprefix the command itself with the variables in the form 'VAR=value command'"
    );
}

interface RunResult {
    stdout: string;
    stderr: string;
    exitStatus?: number;
}

/** CommandOutputs.run: dial, one session, environment, previous output, stdin, the command, its output. */
async function run(urn: string, state: CommandState, cmd: string): Promise<RunResult> {
    let client: Client;
    try {
        client = await dial(state.connection, {
            status: m => engineLog.send("info", m, urn, true),
            canceled: canceledPromise,
        });
    } catch (err) {
        throw new RunError((err as Error).message, "dial");
    }
    openClients.add(client);
    client.on("close", () => openClients.delete(client));

    let session: ClientChannel;
    try {
        session = await newSession(client);
    } catch (err) {
        throw new RunError((err as Error).message, "session");
    }
    session.on("error", () => undefined);
    try {
        for (const [key, value] of Object.entries(state.environment ?? {})) {
            try {
                await setenv(client, session, key, value);
            } catch (err) {
                await engineLog.send("error", setenvMessage(key), urn, false);
                throw new RunError(`could not set environment variable ${goQuote(key)}: ${(err as Error).message}`, "setenv");
            }
        }
        if (state.addPreviousOutputInEnv !== false) {
            for (const [key, value] of [
                ["PULUMI_COMMAND_STDOUT", state.stdout],
                ["PULUMI_COMMAND_STDERR", state.stderr],
            ] as const) {
                if (!value) continue;
                try {
                    await setenv(client, session, key, value);
                } catch {
                    await engineLog.send("warning", setenvMessage(key), urn, false);
                }
            }
        }
        return await execute(client, session, urn, cmd, state);
    } finally {
        session.close();
    }
}

/** session.Run with the output wiring of commandOutputs.go: buffers, the combined buffer, the logged pipe. */
function execute(client: Client, session: ClientChannel, urn: string, cmd: string, state: CommandState): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        const combined: Buffer[] = [];
        let logged = Promise.resolve();
        let stalled = false;
        const scanner = new LineScanner(
            line => (logged = logged.then(() => engineLog.send("info", line, urn, true))),
            () =>
                process.stderr.write(
                    `${urnParts(urn).name}: the command's output has a line of ${MAX_TOKEN} bytes or more: output logging stopped ` +
                        "(bufio.Scanner: token too long) and, as in the real provider, the output is no longer read, " +
                        "so the command never finishes if it writes anything more\n",
                ),
        );
        const feed = (buffer: Buffer[], logThis: boolean, stream: Readable) => (chunk: Buffer) => {
            buffer.push(chunk);
            combined.push(chunk);
            if (logThis && !scanner.write(chunk)) {
                stalled = true;
                stream.pause();
            }
        };
        const ended = { stdout: false, stderr: false, channel: false };
        let exit: { code?: number; signal?: string; description?: string } | undefined;
        let done = false;
        const finish = async (connectionLost: boolean) => {
            if (done) return;
            if (!connectionLost && !(ended.stdout && ended.stderr && ended.channel)) return;
            done = true;
            scanner.close();
            await logged;
            const output = Buffer.concat(combined).toString("utf8");
            if (stalled) {
                reject(
                    new RunError(
                        "the connection closed while the command hung on an output line of 64 KiB or more " +
                            `(the real provider stays hung for ever): running ${goQuote(cmd)}:\n${output}`,
                        "hung",
                    ),
                );
                return;
            }
            const problem = waitError(exit);
            if (problem !== null) {
                reject(new RunError(`${problem}: running ${goQuote(cmd)}:\n${output}`, "exit", exit?.code));
                return;
            }
            const trim = (b: Buffer[]) => Buffer.concat(b).toString("utf8").replace(/\n$/, "");
            resolve({ stdout: trim(stdout), stderr: trim(stderr), exitStatus: 0 });
        };

        session.on("data", feed(stdout, shouldLogStdout(state.logging), session));
        session.stderr.on("data", feed(stderr, shouldLogStderr(state.logging), session.stderr));
        session.on("end", () => ((ended.stdout = true), void finish(false)));
        session.stderr.on("end", () => ((ended.stderr = true), void finish(false)));
        session.on("close", () => ((ended.channel = true), void finish(false)));
        session.on("exit", (code: number | null, signal?: string, _dump?: boolean, description?: string) => {
            exit = typeof code === "number" ? { code } : { signal: signal?.replace(/^SIG/, ""), description: description || undefined };
        });
        // A dropped connection ends Wait: what it returns depends on what had arrived by then.
        client.once("close", () => setImmediate(() => void finish(true)));

        start(client, session, cmd).then(
            () => {
                if (state.stdin) session.write(state.stdin);
                session.end();
            },
            (err: Error) => {
                done = true;
                reject(new RunError(`${err.message}: running ${goQuote(cmd)}:\n`, "exec"));
            },
        );
    });
}

// ---------------------------------------------------------------------------------------------------------
// The provider

function strict(urn: string, method: string): { type: string; name: string } {
    const parts = urnParts(urn);
    if (parts.type !== TYPE) {
        fail(
            `the rehearsal's stand-in command provider ${VERSION} implements only ${TYPE}, not ${parts.type} (${method} of ${parts.name})`,
        );
    }
    return parts;
}

/**
 * A CRUD call that may run a command: timing (to the millisecond: the rehearsal's timeline and downtime window
 * use it), the host it ran on and the outcome go to the call record, errors to the engine.
 */
async function recorded<T>(method: string, urn: string, ran: string, host: string | undefined, body: () => Promise<T>): Promise<T> {
    const { type, name } = urnParts(urn);
    const t0 = Date.now();
    const times = () => ({ startedAt: new Date(t0).toISOString(), endedAt: new Date().toISOString(), durationMs: Date.now() - t0 });
    try {
        const result = await body();
        record(PROVIDER, method, { type, name, urn, host, ran, outcome: "ok", ...times() });
        return result;
    } catch (err) {
        const e = err as Partial<RunError>;
        record(PROVIDER, method, {
            type,
            name,
            urn,
            host,
            ran,
            outcome: "failed",
            stage: e.stage,
            exitStatus: e.exitStatus,
            ...times(),
        });
        fail((err as Error).message);
    }
}

const present = (s: string | null | undefined): s is string => s !== undefined && s !== null;

const commandProvider: provider.Provider = {
    version: VERSION,

    async check(urn: string, _olds: Props, news: Props): Promise<provider.CheckResult> {
        const { type, name } = strict(urn, "check");
        const failures = decodeStruct(news, INPUTS);
        record(PROVIDER, "check", { type, name, urn, failures: failures.map(f => f.field) });
        if (failures.length > 0)
            return { inputs: withSecrets(news), failures: failures.map(f => ({ property: f.field, reason: f.reason })) };
        return { inputs: withSecrets(withDefaults(news)) };
    },

    async diff(_id: string, urn: string, olds: Props, news: Props): Promise<provider.DiffResult> {
        const { type, name } = strict(urn, "diff");
        const keys = new Set([
            ...INPUT_KEYS.filter(k => k in olds),
            ...Object.keys(news).filter(k => k !== "version" && !k.startsWith("__")),
        ]);
        const changed = [...keys].filter(k => !same(reveal(olds[k]), reveal(news[k])));
        const replaces = changed.includes("triggers") ? ["triggers"] : [];
        record(PROVIDER, "diff", { type, name, urn, changed, replaces });
        return { changes: changed.length > 0, replaces };
    },

    async create(urn: string, inputs: Props): Promise<provider.CreateResult> {
        const { name } = strict(urn, "create");
        const plain = reveal<CommandInputs>(inputs);
        // resource.NewUniqueHex(name, 8, 0): the name and 8 random hex digits.
        const id = name + randomBytes(4).toString("hex");
        const outs: Props = { ...withSecrets(inputs), stdout: "", stderr: "" };
        if (!present(plain.create)) return recorded("create", urn, "none", plain.connection?.host, async () => ({ id, outs }));
        return recorded("create", urn, "create", plain.connection?.host, async () => {
            const result = await run(urn, { ...plain, stdout: "", stderr: "" }, plain.create!);
            return { id, outs: { ...outs, stdout: result.stdout, stderr: result.stderr } };
        });
    },

    async update(_id: string, urn: string, olds: Props, news: Props): Promise<provider.UpdateResult> {
        strict(urn, "update");
        const plain = reveal<CommandInputs>(news);
        const old = reveal<CommandState>(olds);
        // The old output stays unless a command runs (and succeeds).
        const outs: Props = { ...withSecrets(news), stdout: olds.stdout ?? "", stderr: olds.stderr ?? "" };
        const cmd = present(plain.update) ? plain.update : present(plain.create) ? plain.create : undefined;
        if (cmd === undefined) return recorded("update", urn, "none", plain.connection?.host, async () => ({ outs }));
        return recorded("update", urn, present(plain.update) ? "update" : "create", plain.connection?.host, async () => {
            const result = await run(urn, { ...plain, stdout: old.stdout ?? "", stderr: old.stderr ?? "" }, cmd);
            return { outs: { ...outs, stdout: result.stdout, stderr: result.stderr } };
        });
    },

    async delete(_id: string, urn: string, props: Props): Promise<void> {
        strict(urn, "delete");
        // The stored state: its connection, environment, stdin, logging and last output.
        const state = reveal<CommandState>(props);
        if (!present(state.delete)) return recorded("delete", urn, "none", state.connection?.host, async () => undefined);
        return recorded("delete", urn, "delete", state.connection?.host, async () => void (await run(urn, state, state.delete!)));
    },

    async read(id: string, urn: string, props: Props): Promise<provider.ReadResult> {
        const { type, name } = strict(urn, "read");
        record(PROVIDER, "read", { type, name, urn });
        return { id, props };
    },

    async invoke(token: string): Promise<provider.InvokeResult> {
        fail(`the rehearsal's stand-in command provider ${VERSION} implements no functions (asked for ${token}); only ${TYPE}`);
    },

    async cancel(): Promise<void> {
        record(PROVIDER, "cancel", { openConnections: openClients.size });
        signalCanceled();
        for (const client of openClients) client.destroy();
    },
};

serve(commandProvider);
