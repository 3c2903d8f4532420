/** TEST STAND-IN for the Pulumi engine: the JSON checkpoint (plain text; real Pulumi encrypts secrets). */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineState, SecretMarked, StateResource } from "./types";

export const STATE_NOTE =
    "TEST STAND-IN state written by rehearsal/engine (not Pulumi). Secrets are stored in plain text " +
    "and must be sandbox-only throwaway values; real Pulumi encrypts them.";

export function emptyState(): EngineState {
    return { version: 1, note: STATE_NOTE, nextSeq: 1, outputs: {}, resources: [], pendingDeletes: [] };
}

export function readState(statePath: string): EngineState {
    if (!fs.existsSync(statePath)) return emptyState();
    const parsed = JSON.parse(fs.readFileSync(statePath, "utf8")) as Partial<EngineState>;
    return { ...emptyState(), ...parsed };
}

/** Write atomically (tmp + rename), mode 600. */
export function writeState(statePath: string, state: EngineState): void {
    fs.mkdirSync(path.dirname(path.resolve(statePath)), { recursive: true });
    const tmp = `${statePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, statePath);
    fs.chmodSync(statePath, 0o600);
}

export function resourceKey(type: string, name: string): string {
    return `${type}::${name}`;
}

export function stateResource(state: EngineState, type: string, name: string): StateResource | undefined {
    return state.resources.find(r => r.type === type && r.name === name);
}

export function isSecretMarked(v: unknown): v is SecretMarked {
    return typeof v === "object" && v !== null && (v as SecretMarked).secret === true && "value" in v;
}

/** Stack outputs without their secret markers. */
export function plainOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs)) result[k] = isSecretMarked(v) ? v.value : v;
    return result;
}
