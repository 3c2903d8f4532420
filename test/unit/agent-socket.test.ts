import { mkdtempSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { agentSocketProblem } from "../../lib/agent-socket";

describe("the SSH agent the command provider would use ($SSH_AUTH_SOCK)", () => {
    it("unset, or a socket that answers: fine", async () => {
        expect(await agentSocketProblem(undefined)).toBeUndefined();
        const path = join(mkdtempSync(join(tmpdir(), "mm-agent-")), "agent.sock");
        const server = net.createServer(s => s.end());
        await new Promise<void>(resolve => server.listen(path, resolve));
        try {
            expect(await agentSocketProblem(path)).toBeUndefined();
        } finally {
            server.close();
        }
    });

    it("a stale socket (the agent is gone) is refused before any step, naming the variable and the fix", async () => {
        const path = join(mkdtempSync(join(tmpdir(), "mm-agent-")), "gone.sock");
        const problem = await agentSocketProblem(path);
        expect(problem).toContain(`SSH_AUTH_SOCK=${path} cannot be reached (ENOENT)`);
        expect(problem).toContain("env -u SSH_AUTH_SOCK pulumi up");
    });
});
