/**
 * The stack's checkpoint as the real CLI exports it (`pulumi stack export`, written by the runner after every
 * operation), read back for the rehearsal's checks.
 */
import * as fs from "node:fs";
import type { State, StateResource } from "./types";

/** The wire/checkpoint signature of a secret (sdk/go/common/resource/sig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A secret as the checkpoint holds it: encrypted (`ciphertext`) or, in memory, plain (`plaintext`). */
export function isSecretValue(v: unknown): boolean {
    return !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

type Raw = Record<string, unknown>;

function nameOf(urn: string): string {
    return urn.split("::").slice(3).join("::");
}

function resourceOf(r: Raw): StateResource {
    const inputs = (r.inputs ?? {}) as Raw;
    const outputs = (r.outputs ?? {}) as Raw;
    const secretPaths = [
        ...new Set([...Object.entries(inputs), ...Object.entries(outputs)].filter(([, v]) => isSecretValue(v)).map(([k]) => k)),
    ];
    return {
        urn: String(r.urn),
        type: String(r.type),
        name: nameOf(String(r.urn)),
        id: String(r.id ?? ""),
        custom: r.custom === true,
        inputs,
        outputs,
        secretPaths,
        protect: r.protect === true,
        retainOnDelete: r.retainOnDelete === true,
        parent: r.parent as string | undefined,
        dependencies: (r.dependencies ?? []) as string[],
        provider: r.provider as string | undefined,
    };
}

/** A checkpoint as `exportStack` gives it, simplified (an empty state when there is none yet). */
export function stateOf(checkpoint: unknown): State {
    const deployment = ((checkpoint ?? {}) as Raw).deployment as Raw | undefined;
    const resources = ((deployment?.resources ?? []) as Raw[]).map(resourceOf);
    const stack = resources.find(r => r.type === "pulumi:pulumi:Stack");
    return {
        checkpoint,
        outputs: stack?.outputs ?? {},
        resources: resources.filter(r => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:")),
        pendingOperations: (deployment?.pending_operations ?? []) as unknown[],
    };
}

/** The checkpoint the runner wrote at `path` (empty when no operation ran yet). */
export function readState(path: string): State {
    if (!fs.existsSync(path)) return stateOf(undefined);
    return stateOf(JSON.parse(fs.readFileSync(path, "utf8")));
}

/** A value of a `pulumi stack export --show-secrets` with every secret replaced by its plaintext value. */
export function revealed(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(revealed);
    if (!v || typeof v !== "object") return v;
    const o = v as Raw;
    if (isSecretValue(o)) return typeof o.plaintext === "string" ? revealed(JSON.parse(o.plaintext)) : o;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revealed(x)]));
}

/**
 * A checkpoint exported with `--show-secrets`, simplified, its secrets in plaintext (`secretPaths` still says
 * which values were secret). For checks only: never written to disk.
 */
export function revealedStateOf(checkpoint: unknown): State {
    const state = stateOf(checkpoint);
    return {
        ...state,
        outputs: revealed(state.outputs) as Record<string, unknown>,
        resources: state.resources.map(r => ({
            ...r,
            inputs: revealed(r.inputs) as Record<string, unknown>,
            outputs: revealed(r.outputs) as Record<string, unknown>,
        })),
    };
}

export function stateResource(state: State, type: string, name: string): StateResource | undefined {
    return state.resources.find(r => r.type === type && r.name === name);
}
