/**
 * Step helpers and step scripts run for real on this machine (no sandbox): bash functions of `lib/sh/` and
 * parts of the step files, against temporary directories and, where a service is needed, a throwaway
 * PostgreSQL cluster or redis-server (`rehearsal/instance/local-services.ts`).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..");
const lib = (name: string) => join(root, "lib", "sh", `${name}.sh`);

/** Run bash with the given helper libraries sourced (and a `die` that prints and exits 1). */
export function bashWith(libs: string[], script: string, env: Record<string, string> = {}) {
    const prologue = ['die() { echo "ERROR: $*" >&2; exit 1; }', 'log() { echo "$*"; }', ...libs.map(l => `source '${lib(l)}'`)].join("\n");
    return spawnSync("bash", ["-c", `set -euo pipefail\n${prologue}\n${script}`], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("media_stats (verify and preflight)", () => {
    it("counts the files behind a symlinked public/system (a block volume), not 0", () => {
        const dir = mkdtempSync(join(tmpdir(), "mm-media-"));
        const volume = join(dir, "volume", "system");
        mkdirSync(join(volume, "media_attachments", "files"), { recursive: true });
        writeFileSync(join(volume, "media_attachments", "files", "a.png"), "12345");
        writeFileSync(join(volume, "media_attachments", "files", "b c.jpg"), "123");
        writeFileSync(join(volume, "x"), "1");
        mkdirSync(join(dir, "live", "public"), { recursive: true });
        symlinkSync(volume, join(dir, "live", "public", "system"));
        const r = bashWith(["mastodon"], `media_stats '${join(dir, "live")}'`);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("3 9\n");
        // No media directory at all: zero, not an error.
        expect(bashWith(["mastodon"], `media_stats '${dir}/none'`).stdout).toBe("0 0\n");
    });
});
