/**
 * TEST STAND-IN for the Pulumi engine: turn the inputs a mock receives into plain JSON.
 * Secrets arrive wrapped in the SDK's secret signature; assets/archives arrive as SDK objects
 * whose fields are promises.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecretWrapped(v: unknown): v is { value: unknown } {
    return isObj(v) && v[SIG_KEY] === SECRET_SIG;
}

export function wrapSecret(value: unknown): Obj {
    return { [SIG_KEY]: SECRET_SIG, value };
}

export function isAsset(v: unknown): v is Obj {
    return isObj(v) && v.__pulumiAsset === true;
}

export function isArchive(v: unknown): v is Obj {
    return isObj(v) && v.__pulumiArchive === true;
}

/** Live (resolved) form of an asset or archive, used to copy it. */
export type LiveSource =
    | { kind: "file"; path: string }
    | { kind: "string"; text: string }
    | { kind: "dir"; path: string }
    | { kind: "unsupported"; what: string };

export async function liveSource(v: unknown): Promise<LiveSource> {
    const raw = isSecretWrapped(v) ? v.value : v;
    if (!isObj(raw)) return { kind: "unsupported", what: typeof raw };
    const p = raw.path !== undefined ? String(await raw.path) : undefined;
    if (isAsset(raw) && p !== undefined) return { kind: "file", path: p };
    if (isAsset(raw) && raw.text !== undefined) return { kind: "string", text: String(await raw.text) };
    if (isArchive(raw) && p !== undefined) {
        return fs.statSync(p).isDirectory() ? { kind: "dir", path: p } : { kind: "file", path: p };
    }
    return { kind: "unsupported", what: isAsset(raw) ? "RemoteAsset" : "AssetArchive/RemoteArchive" };
}

function sha256(data: crypto.BinaryLike): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}

function hashTree(dir: string): string {
    const h = crypto.createHash("sha256");
    const walk = (rel: string): void => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const child = path.join(rel, entry.name);
            h.update(child + "\0");
            if (entry.isDirectory()) walk(child);
            else h.update(fs.readFileSync(path.join(dir, child)));
        }
    };
    walk("");
    return h.digest("hex");
}

/** A JSON descriptor of an asset/archive: a content hash, like the engine's asset hash. */
async function describeSource(v: Obj): Promise<Obj> {
    const live = await liveSource(v);
    const kind = isArchive(v) ? "archive" : "asset";
    switch (live.kind) {
        case "file":
            return { __source: kind, path: live.path, sha256: fs.existsSync(live.path) ? sha256(fs.readFileSync(live.path)) : "missing" };
        case "dir":
            return { __source: kind, path: live.path, sha256: hashTree(live.path) };
        case "string":
            return { __source: kind, text: true, sha256: sha256(live.text) };
        case "unsupported":
            return { __source: kind, unsupported: live.what };
    }
}

/** Unwrap secrets (recording their paths) and describe assets; the result is plain JSON. */
export async function normalize(v: unknown, at: string, secretPaths: string[]): Promise<unknown> {
    if (isSecretWrapped(v)) {
        secretPaths.push(at);
        return normalize(v.value, at, secretPaths);
    }
    if (isAsset(v) || isArchive(v)) return describeSource(v);
    if (Array.isArray(v)) return Promise.all(v.map((x, i) => normalize(x, `${at}[${i}]`, secretPaths)));
    if (isObj(v)) {
        const out: Obj = {};
        for (const key of Object.keys(v).sort()) {
            if (v[key] === undefined) continue;
            out[key] = await normalize(v[key], at ? `${at}.${key}` : key, secretPaths);
        }
        return out;
    }
    return v;
}

/** Plain values of the given top-level keys, with secrets unwrapped (for running commands). */
export function unwrapDeep(v: unknown): unknown {
    if (isSecretWrapped(v)) return unwrapDeep(v.value);
    if (Array.isArray(v)) return v.map(unwrapDeep);
    if (isObj(v) && !isAsset(v) && !isArchive(v)) {
        const out: Obj = {};
        for (const [k, x] of Object.entries(v)) out[k] = unwrapDeep(x);
        return out;
    }
    return v;
}

export function deepEqual(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}
