/**
 * Tests of the TEST STAND-IN Pulumi engine (rehearsal/engine): a throwaway sshd on 127.0.0.1 plays
 * the remote host (it is this machine, so remote traces are read straight from disk).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroy, preview, readState, stateResource, up, type Fault, type UpOptions, type UpResult } from "../../rehearsal/engine/runner";

const PROJECT = "mastodon-migration";
const PROGRAM = path.resolve(__dirname, "../fixtures/engine/program");

let work: string;
let sshd: ChildProcess;
let port: number;
let privateKey: string;
let hostKey: string;

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, "127.0.0.1", () => {
            const address = server.address() as net.AddressInfo;
            server.close(() => resolve(address.port));
        });
        server.on("error", reject);
    });
}

async function waitForPort(p: number): Promise<void> {
    for (let i = 0; i < 50; i++) {
        const open = await new Promise<boolean>(resolve => {
            const s = net.connect(p, "127.0.0.1", () => (s.destroy(), resolve(true)));
            s.on("error", () => resolve(false));
        });
        if (open) return;
        await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`sshd did not listen on ${p}`);
}

async function startSshd(): Promise<void> {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "engine-test-"));
    const key = (name: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(work, name)]);
    key("host_key");
    key("client_key");
    fs.copyFileSync(path.join(work, "client_key.pub"), path.join(work, "authorized_keys"));
    privateKey = fs.readFileSync(path.join(work, "client_key"), "utf8");
    hostKey = fs.readFileSync(path.join(work, "host_key.pub"), "utf8").trim();
    port = await freePort();
    const config = [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${work}/host_key`,
        `PidFile ${work}/sshd.pid`,
        `AuthorizedKeysFile ${work}/authorized_keys`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "StrictModes no",
        "UsePAM no",
        "Subsystem sftp internal-sftp",
        "MaxStartups 100",
        "MaxSessions 100",
    ].join("\n");
    fs.writeFileSync(path.join(work, "sshd_config"), config + "\n");
    fs.mkdirSync("/run/sshd", { recursive: true });
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(work, "sshd_config")], { stdio: "ignore" });
    await waitForPort(port);
}

/** One scenario (a case of the fixture program) with its own stack name, remote dir, state and log. */
function scenario(name: string, program = name) {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const statePath = path.join(dir, "state.json");
    const logPath = path.join(dir, "up.log");
    const run = (
        phase: number,
        extra: { faults?: Fault[]; config?: Record<string, string> } = {},
        verb: (o: UpOptions) => Promise<UpResult> = up,
    ): Promise<UpResult> =>
        verb({
            projectDir: PROGRAM,
            project: PROJECT,
            stack: name,
            config: {
                [`${PROJECT}:scenario`]: program,
                [`${PROJECT}:phase`]: String(phase),
                [`${PROJECT}:dir`]: dir,
                [`${PROJECT}:host`]: "127.0.0.1",
                [`${PROJECT}:port`]: String(port),
                [`${PROJECT}:privateKey`]: privateKey,
                [`${PROJECT}:hostKey`]: hostKey,
                ...extra.config,
            },
            secretKeys: [`${PROJECT}:privateKey`, `${PROJECT}:token`],
            statePath,
            logPath,
            awsAddress: "127.0.0.2",
            faults: extra.faults,
        });
    const lines = (file: string) =>
        fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), "utf8").trim().split("\n") : [];
    return { dir, statePath, logPath, run, lines };
}

const ops = (r: UpResult) => r.events.map(e => `${e.op}:${e.name}:${e.ok ? "ok" : "failed"}`);

beforeAll(startSshd, 20_000);
afterAll(() => {
    sshd?.kill();
    // ENGINE_TEST_KEEP=1 keeps the state files and logs for inspection.
    if (work && !process.env.ENGINE_TEST_KEEP) fs.rmSync(work, { recursive: true, force: true });
    else if (work) console.log(`kept ${work}`);
});

describe.concurrent("rehearsal engine (TEST STAND-IN for pulumi up)", () => {
    it("creates once, skips unchanged, updates on input change, replaces on trigger change, deletes on leaving; StackReference sees the previous outputs", async () => {
        const s = scenario("lifecycle");
        const first = await s.run(1);
        expect(first.ok, first.error).toBe(true);
        expect(first.outputs).toEqual({ a: "a-v1", secretPhase: "s1" });
        expect(ops(first)).toEqual(["create:a:ok"]);
        expect((await s.run(2)).events.map(e => e.op)).toEqual(["same"]);
        expect(s.lines("a.log")).toEqual(["create-v1"]);

        const updated = await s.run(3);
        expect(ops(updated)).toEqual(["update:a:ok"]);
        expect(updated.outputs).toEqual({ a: "a-v2", previous: "a-v1", secretPhase: "s3" });
        expect(readState(s.statePath).outputs.secretPhase).toEqual({ secret: true, value: "s3" });
        expect(s.lines("a.log")).toEqual(["create-v1", "update-v2"]);

        const replaced = await s.run(4);
        expect(ops(replaced)).toEqual(["replace-create:a:ok", "replace-delete:a:ok"]);
        expect(s.lines("a.log")).toEqual(["create-v1", "update-v2", "create-v2", "delete-v2"]);

        const gone = await s.run(5);
        expect(ops(gone)).toEqual(["delete:a:ok"]);
        expect(gone.outputs).toEqual({ previous: "a-v2", secretPhase: "s5" });
        expect(s.lines("a.log").at(-1)).toBe("delete-v2");
        expect(readState(s.statePath).resources).toEqual([]);
        const mode = fs.statSync(s.statePath).mode & 0o777;
        expect(mode).toBe(0o600);
    }, 60_000);

    it("deletes resources that left the program in reverse dependency order", async () => {
        const s = scenario("order");
        expect((await s.run(1)).ok).toBe(true);
        const result = await s.run(2);
        expect(result.ok, result.error).toBe(true);
        expect(s.lines("order.log")).toEqual(["delete-B", "delete-A"]);
    }, 60_000);

    it("does not save a failed create, keeps independent branches, and runs the create again next time", async () => {
        const s = scenario("failure");
        const failed = await s.run(1);
        expect(failed.ok).toBe(false);
        expect(failed.error).toMatch(/flaky: Process exited with status 3[\s\S]*not-yet/);
        expect(ops(failed).sort()).toEqual(["create:flaky:failed", "create:independent:ok"]);
        const state = readState(s.statePath);
        expect(stateResource(state, "command:remote:Command", "flaky")).toBeUndefined();
        expect(stateResource(state, "command:remote:Command", "independent")).toBeDefined();

        fs.writeFileSync(path.join(s.dir, "allow"), "");
        const retried = await s.run(1);
        expect(retried.ok, retried.error).toBe(true);
        expect(ops(retried).sort()).toEqual(["create:after:ok", "create:flaky:ok", "same:independent:ok"]);
        expect(retried.outputs).toEqual({ after: "after-fine" });
        expect(s.lines("flaky.log")).toEqual(["run", "run"]);
    }, 60_000);

    it("fails a resource whose connection drops mid-command; the next up succeeds", async () => {
        const s = scenario("fault");
        const cut = await s.run(1, {
            faults: [
                { resource: "slow", when: { stdoutMatches: "started" } },
                { resource: "quiet", when: { afterSeconds: 1 } },
            ],
        });
        expect(cut.ok).toBe(false);
        expect(ops(cut).sort()).toEqual(["create:quiet:failed", "create:slow:failed"]);
        expect(cut.events.find(e => e.name === "quiet")?.seconds).toBeGreaterThanOrEqual(1);
        expect(cut.error).toMatch(/slow: wait: remote command exited without exit status or exit signal \(connection lost/);
        expect(readState(s.statePath).resources).toEqual([]);
        const again = await s.run(1);
        expect(again.ok, again.error).toBe(true);
        expect(again.outputs).toEqual({ slow: "started\ndone", quiet: "done" });
        // A network drop sends no signal: the first, orphaned run kept going on the host too.
        expect(s.lines("slow.log")).toEqual(["finished", "finished"]);
        expect(s.lines("quiet.log")).toEqual(["finished", "finished"]);
    }, 60_000);

    it("fails remote `environment` like the provider does without sshd AcceptEnv", async () => {
        const result = await scenario("environment").run(1);
        expect(result.ok).toBe(false);
        expect(result.error).toContain(
            "Unable to set 'GREETING'. This only works if your SSH server is configured to accept these variables via AcceptEnv",
        );
    }, 60_000);

    it("refuses a host whose key does not match connection.hostKey", async () => {
        const wrongKey = fs.readFileSync(path.join(work, "client_key.pub"), "utf8").trim();
        const result = await scenario("hostkey", "environment").run(1, { config: { [`${PROJECT}:hostKey`]: wrongKey } });
        expect(result.ok).toBe(false);
        expect(result.error).toMatch(/env: Dial: .*verification failed/);
    }, 60_000);

    it("records aws/cloudflare resources and copies assets and archives over SFTP", async () => {
        const s = scenario("records");
        const result = await s.run(1);
        expect(result.ok, result.error).toBe(true);
        expect(result.outputs).toEqual({ ami: "ami-0rehearsal", serverIp: "127.0.0.2", check: "hello\nfile a\nfile b" });
        const state = readState(s.statePath);
        const dns = stateResource(state, "cloudflare:index/dnsRecord:DnsRecord", "www");
        expect(dns).toMatchObject({ id: "rec0123", inputs: { content: "127.0.0.2", ttl: 60 } });
        expect(stateResource(state, "aws:ec2/eip:Eip", "ip")?.outputs).toMatchObject({ publicIp: "127.0.0.2", privateIp: "127.0.0.2" });
    }, 60_000);

    it("never writes a secret config value to the log", async () => {
        const s = scenario("secret");
        const token = "tok-9f8e7d6c5b";
        const result = await s.run(1, { config: { [`${PROJECT}:token`]: token } });
        expect(result.ok, result.error).toBe(true);
        expect(fs.readFileSync(path.join(s.dir, "token"), "utf8")).toBe(token);
        const log = fs.readFileSync(s.logPath, "utf8");
        expect(log).toContain("wrote token [secret]");
        expect(log).toContain("+ create writeToken (127.0.0.1)");
        expect(log).not.toContain(token);
        expect(log).not.toContain("BEGIN OPENSSH PRIVATE KEY");
        expect(result.outputs.local).toBe(`local-sees-${token}`);
    }, 60_000);

    it("honours protect, retainOnDelete, ignoreChanges, deleteBeforeReplace and replaceOnChanges; preview runs nothing; destroy", async () => {
        const s = scenario("options");
        const first = await s.run(1);
        expect(first.ok, first.error).toBe(true);
        const names = ["protected", "retained", "ignored", "dbr", "cbr", "roc", "plain"];
        for (const n of names) expect(s.lines(`${n}.log`), n).toEqual(["create-v1"]);
        const stored = (n: string) => stateResource(readState(s.statePath), "command:remote:Command", n);
        expect(stored("protected")?.options).toMatchObject({ protect: true });
        expect(stored("ignored")?.options).toMatchObject({ ignoreChanges: ["create", "delete"] });
        // @pulumi/command's own option: a change of `triggers` replaces (the engine reads it like any other).
        expect(stored("plain")?.options).toEqual({ replaceOnChanges: ["triggers[*]"] });

        // preview of phase 2: every decision printed, nothing run, the state untouched.
        const before = fs.readFileSync(s.statePath, "utf8");
        const planned = await s.run(2, {}, preview);
        expect(planned.ok, planned.error).toBe(true);
        expect(planned.events.every(e => e.planned)).toBe(true);
        expect(Object.fromEntries(planned.events.map(e => [e.name, e.op]))).toEqual({
            protected: "update",
            retained: "update",
            ignored: "same",
            dbr: "replace-create",
            cbr: "replace-create",
            roc: "replace-create",
            plain: "update",
        });
        for (const n of names) expect(s.lines(`${n}.log`), n).toEqual(["create-v1"]);
        expect(fs.readFileSync(s.statePath, "utf8")).toBe(before);
        expect(fs.readFileSync(s.logPath, "utf8")).toContain("+ replace dbr (127.0.0.1) (preview: not run)");

        // up of phase 2: ignoreChanges keeps the old command (nothing runs), deleteBeforeReplace deletes the
        // old one first, the default replacement creates first, replaceOnChanges replaces instead of updating.
        const second = await s.run(2);
        expect(second.ok, second.error).toBe(true);
        expect(s.lines("ignored.log")).toEqual(["create-v1"]);
        expect(stored("ignored")?.inputs.create).toContain("create-v1");
        expect(s.lines("dbr.log")).toEqual(["create-v1", "delete-v1", "create-v2"]);
        expect(s.lines("cbr.log")).toEqual(["create-v1", "create-v2", "delete-v1"]);
        expect(s.lines("roc.log")).toEqual(["create-v1", "create-v2", "delete-v1"]);
        expect(s.lines("plain.log")).toEqual(["create-v1", "create-v2"]); // no update command: create again
        const order = ops(second).filter(o => o.includes(":dbr:"));
        expect(order).toEqual(["replace-delete:dbr:ok", "replace-create:dbr:ok"]);

        // A protected resource cannot leave the program: the up fails, it stays in the state, nothing else is lost.
        const leave = await s.run(3);
        expect(leave.ok).toBe(false);
        expect(leave.error).toContain("protected: unable to delete protected: it is protected (protect: true)");
        expect(s.lines("protected.log")).toEqual(["create-v1", "create-v2"]);
        expect(stored("protected")).toBeDefined();
        // destroy refuses the protected resource too; unprotected (by an up that registers it so), destroy deletes
        // everything newest first, and the retained resource only leaves the state: its delete never runs.
        const refused = await s.run(2, {}, destroy);
        expect(refused.ok).toBe(false);
        expect(refused.error).toContain("it is protected");
        const unprotect = await s.run(2, { config: { [`${PROJECT}:unprotect`]: "true" } });
        expect(unprotect.ok, unprotect.error).toBe(true);
        expect(stored("protected")?.options).toMatchObject({ protect: false });
        const destroyed = await s.run(2, {}, destroy);
        expect(destroyed.ok, destroyed.error).toBe(true);
        expect(readState(s.statePath).resources).toEqual([]);
        // (it may have left the state in phase 3 already, before the protected one stopped the deletes, and come
        // back in the up that unprotected it: then created again; in no case deleted)
        expect(s.lines("retained.log").slice(0, 2)).toEqual(["create-v1", "create-v2"]);
        expect(s.lines("retained.log").filter(l => l.startsWith("delete"))).toEqual([]);
        expect([...ops(leave), ...ops(destroyed)]).toContain("retain:retained:ok");
        expect(s.lines("protected.log").at(-1)).toBe("delete-v2");
        expect(s.lines("ignored.log")).toEqual(["create-v1", "delete-v1"]);
    }, 120_000);

    it("destroy --exclude-protected: the protected resource is skipped and stays in the state, the others are deleted or retained", async () => {
        const s = scenario("exclude-protected", "options");
        const first = await s.run(1);
        expect(first.ok, first.error).toBe(true);
        const destroyed = await s.run(1, {}, o => destroy({ ...o, excludeProtected: true }));
        expect(destroyed.ok, destroyed.error).toBe(true);
        expect(readState(s.statePath).resources.map(r => r.name)).toEqual(["protected"]);
        expect(s.lines("protected.log")).toEqual(["create-v1"]);
        expect(s.lines("retained.log")).toEqual(["create-v1"]);
        for (const n of ["ignored", "dbr", "cbr", "roc", "plain"]) expect(s.lines(`${n}.log`), n).toEqual(["create-v1", "delete-v1"]);
        expect(ops(destroyed)).toContain("retain:retained:ok");
        expect(ops(destroyed).filter(o => o.includes(":protected:"))).toEqual([]);
        expect(fs.readFileSync(s.logPath, "utf8")).toContain("protected: protected, excluded (--exclude-protected): kept in the stack");
    }, 60_000);
});
