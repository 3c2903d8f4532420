/**
 * Every script the program generates passes shellcheck: the create and delete of every step in every phase
 * and variant (aws and existing targets, sudo users, another database role, Elasticsearch), and the
 * cloud-init script of the EC2 instance.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cloudInitUserData } from "../../components/ec2-host";
import { declaredInputs } from "../../lib/step-script";
import { awsOverrides, baseConfig, runProgram, unwrapRemote } from "./harness";

export function shellcheck(script: string, files: string[] = ["-"]): string {
    const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", ...files], { input: script, encoding: "utf8" });
    if (r.error) throw r.error;
    return r.status === 0 ? "" : r.stdout + r.stderr;
}

const VARIANTS: [string, Record<string, string | undefined>, string | undefined][] = [
    ["existing, cutover", { phase: "cutover" }, "prepare"],
    [
        "aws with sudo users, another role, ES",
        { ...awsOverrides, sourceSshUser: "admin", targetDbRole: "mastodon_app", elasticsearch: "true", phase: "cutover" },
        "prepare",
    ],
    ["complete", { phase: "complete", targetLiveDir: "/srv/mastodon/live", targetMastodonUser: "masto" }, "cutover"],
];

const root = join(__dirname, "..", "..");
/** Every bash file of the program: the step scripts beside the components and the helpers in lib/sh. */
const scriptFiles = [
    ...readdirSync(join(root, "components"), { recursive: true, encoding: "utf8" })
        .filter(f => f.endsWith(".sh"))
        .map(f => join(root, "components", f)),
    ...readdirSync(join(root, "lib", "sh")).map(f => join(root, "lib", "sh", f)),
];

describe("the script files", () => {
    it("are all found", () => {
        expect(scriptFiles.length).toBeGreaterThan(25);
    });

    it("pass shellcheck as files (style level and above)", () => {
        expect(shellcheck("", scriptFiles)).toBe("");
    });

    it("every step script declares its inputs, in UPPER_CASE", () => {
        for (const f of scriptFiles.filter(f => f.includes("/components/"))) {
            for (const name of declaredInputs(f)) expect(name, f).toMatch(/^[A-Z][A-Z0-9_]*$/);
        }
    });
});

describe("shellcheck of every generated script", () => {
    const scripts = new Map<string, string>();
    beforeAll(async () => {
        for (const [variant, overrides, previous] of VARIANTS) {
            const run = await runProgram(baseConfig(overrides), { previousPhase: previous });
            expect(run.error).toBeUndefined();
            for (const r of run.resources.filter(x => x.type === "command:remote:Command")) {
                for (const op of ["create", "delete"] as const) {
                    if (r.inputs[op]) scripts.set(`${variant}: ${r.name} ${op}`, unwrapRemote(r.inputs[op]));
                }
            }
        }
    }, 60_000);

    it("collected the scripts of every step", () => {
        expect(scripts.size).toBeGreaterThan(40);
    });

    it("passes shellcheck (style level and above)", () => {
        const failures: string[] = [];
        for (const [name, script] of scripts) {
            const out = shellcheck(script);
            if (out) failures.push(`${name}\n${out}`);
        }
        expect(failures.join("\n")).toBe("");
    });

    it("the cloud-init script passes shellcheck", () => {
        const userData = cloudInitUserData({
            version: "v4.5.2",
            mastodonUser: "mastodon",
            dbRole: "mastodon",
            liveDir: "/home/mastodon/live",
            pgbouncer: true,
        });
        const script = Buffer.from(userData.match(/content: (\S+)/)![1], "base64").toString();
        expect(shellcheck(script)).toBe("");
    });

    it("shellcheck itself catches a broken script (the check can fail)", () => {
        expect(shellcheck("set -euo pipefail\nrm -rf $DIR/*\n")).toMatch(/SC2086|SC2115/);
    });
});
