import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDuration, q, renderStep } from "../../lib/step-script";

describe("step preamble", () => {
    it("reads the duration a step prints last, and nothing else", () => {
        expect(parseDuration("log line\nmastodon-migration step=database-dump seconds=42")).toBe(42);
        expect(parseDuration("mastodon-migration step=a seconds=1\nmore output\nmastodon-migration step=a seconds=7\n")).toBe(7);
        expect(parseDuration("mastodon-migration step=a seconds=x")).toBeUndefined();
        expect(parseDuration("no marker")).toBeUndefined();
        expect(parseDuration(undefined)).toBeUndefined();
    });

    it("a real step run ends with a marker that parseDuration reads, and q() quotes what bash would split", () => {
        const work = mkdtempSync(join(tmpdir(), "mm-step-"));
        const script = renderStep({
            name: "unit-check",
            workDir: work,
            script: { file: join(__dirname, "..", "fixtures", "steps", "print.sh"), vars: { VALUE: "it's a 'quoted' value" } },
        });
        expect(script).toContain(`VALUE=${q("it's a 'quoted' value")}`);
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
        expect(r.status).toBe(0);
        expect(r.stdout.split("\n")[0]).toBe("it's a 'quoted' value");
        expect(parseDuration(r.stdout)).toBe(0);
    });
});
