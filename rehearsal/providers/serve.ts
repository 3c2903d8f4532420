/**
 * Shared plumbing of the rehearsal's STAND-IN provider plugins (`aws`, `cloudflare`, `command`): each is a
 * real Pulumi resource provider process, served by the Node SDK's `@pulumi/pulumi/provider` and started by the
 * real Pulumi CLI like any plugin (see `install.ts`). Only the provider is stood in; the engine is Pulumi's.
 *
 * Every call is recorded as one JSON line in `$REHEARSAL_PROVIDER_CALLS` (when set), secrets replaced by
 * "[secret]", so rehearsal checks can see what the engine asked of the provider.
 */
import { appendFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as provider from "@pulumi/pulumi/provider";

/** The wire form of a secret value (sdk/go/common/resource/sig: the secret signature). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The wire form of an unknown value (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Props = Record<string, unknown>;

export function isSecret(v: unknown): v is { value: unknown } {
    return !!v && typeof v === "object" && (v as Props)[SIG_KEY] === SECRET_SIG;
}

/** A secret wrapper around a value, as the engine expects it in outputs. */
export function secret(value: unknown): Props {
    return { [SIG_KEY]: SECRET_SIG, value };
}

/** A deep copy without secret wrappers (what the provider's own code works with). */
export function reveal<T = unknown>(v: unknown): T {
    if (isSecret(v)) return reveal(v.value);
    if (Array.isArray(v)) return v.map(x => reveal(x)) as T;
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)])) as T;
    return v as T;
}

/** A deep copy with every secret replaced by "[secret]" (for the call record). */
export function masked(v: unknown): unknown {
    if (isSecret(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(masked);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, masked(x)]));
    return v;
}

/** `urn:pulumi:stack::project::type::name` → type and name (the last `$`-separated type). */
export function urnParts(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    const types = (parts[2] ?? "").split("$");
    return { type: types[types.length - 1]!, name: parts.slice(3).join("::") };
}

/** Append one record to the call log (no-op when $REHEARSAL_PROVIDER_CALLS is unset). */
export function record(providerName: string, method: string, fields: Props): void {
    const path = process.env.REHEARSAL_PROVIDER_CALLS;
    if (!path) return;
    const line = JSON.stringify({ provider: providerName, method, at: new Date().toISOString(), ...(masked(fields) as Props) });
    appendFileSync(path, line + "\n");
}

/** An error the engine reports as the operation's failure (gRPC UNKNOWN with this message). */
export function fail(message: string): never {
    throw Object.assign(new Error(message), { code: grpc.status.UNKNOWN });
}

/** Serve `impl` as a provider plugin: prints the port for the engine, as every plugin does. */
export function serve(impl: provider.Provider): void {
    void provider.main(impl, process.argv.slice(2));
}

/** Severity of an engine log message (pulumirpc.LogSeverity). */
export type Severity = "debug" | "info" | "warning" | "error";

/**
 * Log messages to the engine from a CRUD call, as pulumi-go-provider's logger does (`InfoStatus` is an
 * ephemeral info message: a status line in the CLI's display, not kept in its final diagnostics).
 * The engine's address is the plugin's first argument.
 */
export class EngineLog {
    private client?: { log(req: unknown, cb: (err: Error | null) => void): void };
    private readonly pb = require("@pulumi/pulumi/proto/engine_pb.js") as Record<string, any>;

    constructor(address: string | undefined = process.argv.slice(2).find(a => !a.startsWith("-"))) {
        if (!address) return;
        const rpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js") as Record<string, any>;
        this.client = new rpc.EngineClient(address, grpc.credentials.createInsecure());
    }

    /** Send one message; resolves once the engine took it (errors are swallowed: logging never fails a step). */
    send(severity: Severity, message: string, urn: string, ephemeral: boolean, streamId = 0): Promise<void> {
        if (!this.client) return Promise.resolve();
        const req = new this.pb.LogRequest();
        req.setSeverity(this.pb.LogSeverity[severity.toUpperCase()]);
        req.setMessage(message);
        req.setUrn(urn);
        req.setStreamid(streamId);
        req.setEphemeral(ephemeral);
        return new Promise(resolve => this.client!.log(req, () => resolve()));
    }
}
