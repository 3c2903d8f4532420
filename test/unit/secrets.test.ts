import { describe, expect, it } from "vitest";
import { baseConfig, runProgram, SECRET_SIG } from "./harness";

const KEY_TEXT = "b3BlbnNzaC1rZXktdjEAAAAA";

/** Every string in a value outside secret-wrapped subtrees. */
function plainStrings(value: unknown, out: string[] = []): string[] {
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value)) value.forEach(v => plainStrings(v, out));
    else if (value && typeof value === "object") {
        if ((value as Record<string, unknown>)[SECRET_SIG] !== undefined) return out;
        Object.values(value).forEach(v => plainStrings(v, out));
    }
    return out;
}

describe("secrets", () => {
    it("SSH private keys reach the engine only inside secret values", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        expect(run.error).toBeUndefined();
        const commands = run.resources.filter(r => r.type === "command:remote:Command");
        expect(commands.length).toBeGreaterThan(15);
        for (const c of commands) {
            expect(c.inputs.connection[SECRET_SIG]).toBeDefined();
            expect(JSON.stringify(c.inputs.connection)).toContain(KEY_TEXT);
        }
        for (const r of run.resources) expect(plainStrings(r.inputs).join("\n")).not.toContain(KEY_TEXT);
        expect(JSON.stringify(run.outputs)).not.toContain(KEY_TEXT);
    });

    it("no step carries .env.production contents: they move server to server", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        const env = String(run.byName("config-env").inputs.create);
        expect(env).toContain("rsync");
        expect(env).not.toMatch(/cat[^\n]*\.env\.production/);
        for (const r of run.resources) {
            expect(plainStrings(r.inputs).join("\n")).not.toMatch(/SECRET_KEY_BASE=|OTP_SECRET=/);
        }
        expect(run.resources.some(r => r.type === "command:remote:CopyToRemote")).toBe(false);
    });

    it("the migration key's private half never leaves the source server: only the public key is printed", async () => {
        const run = await runProgram(baseConfig());
        const create = String(run.byName("migration-key-generate").inputs.create);
        expect(create).toContain('cat "$KEY.pub"');
        expect(create).not.toMatch(/cat "\$KEY"(?!\.pub)/);
    });
});
