/**
 * Tests of the STAND-IN `command` provider plugin (rehearsal/providers/command) under the REAL Pulumi CLI:
 * the stand-in is installed as resource plugin command 1.2.1 in a private PULUMI_HOME and small inline
 * programs using @pulumi/command run through the Automation API. A throwaway sshd on 127.0.0.1 (this machine,
 * so the remote side's files are read straight from disk) plays the remote host: port `accepting` has
 * `AcceptEnv FOO PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR`, port `plain` accepts no variables.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { cliRoot as toolsRoot } from "../../rehearsal/pulumi/tools";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, type EngineEvent, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
const PROVIDER = path.join(REPO, "rehearsal/providers/command/provider.ts");

/** The real Pulumi CLI, as the rehearsal gets it (scripts/pulumi-tools.sh, or $PULUMI_ROOT). */
function pulumiCli(): string {
    return path.join(toolsRoot(), "bin", "pulumi");
}

let work: string;
let sshd: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let sshdLog = "";
let accepting: number;
let plain: number;
let closedPort: number;
let privateKey: string;
let hostKeyEd25519: string;
let hostKeyRsa: string;
let otherHostKey: string;
let agentSocket: string;
let pulumiCommand: PulumiCommand;

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

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
    for (const t0 = Date.now(); Date.now() - t0 < ms; ) {
        if (await ok()) return;
        await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
}

const listening = (port: number) =>
    new Promise<boolean>(resolve => {
        const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
        s.on("error", () => resolve(false));
    });

async function setUp(): Promise<void> {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "provider-command-"));
    const keygen = (name: string, type: string) => {
        execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-f", path.join(work, name)]);
        return fs.readFileSync(path.join(work, `${name}.pub`), "utf8").trim();
    };
    hostKeyEd25519 = keygen("host_ed25519", "ed25519");
    hostKeyRsa = keygen("host_rsa", "rsa");
    otherHostKey = keygen("other_ed25519", "ed25519");
    fs.writeFileSync(path.join(work, "authorized_keys"), keygen("client", "ed25519") + "\n");
    privateKey = fs.readFileSync(path.join(work, "client"), "utf8");

    [accepting, plain, closedPort] = [await freePort(), await freePort(), await freePort()];
    const config = [
        `Port ${accepting}`,
        `Port ${plain}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${work}/host_ed25519`,
        `HostKey ${work}/host_rsa`,
        `PidFile ${work}/sshd.pid`,
        `AuthorizedKeysFile ${work}/authorized_keys`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "StrictModes no",
        "UsePAM no",
        "MaxStartups 100",
        "MaxSessions 100",
        `Match LocalPort ${accepting}`,
        "    AcceptEnv FOO PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR",
    ].join("\n");
    fs.writeFileSync(path.join(work, "sshd_config"), config + "\n");
    fs.mkdirSync("/run/sshd", { recursive: true });
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(work, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    sshd.stderr!.on("data", (d: Buffer) => (sshdLog += d.toString()));
    await waitFor("sshd", async () => (await listening(accepting)) && (await listening(plain)));

    // An SSH agent holding the client key (for agent authentication).
    agentSocket = path.join(work, "agent.sock");
    agent = spawn("ssh-agent", ["-D", "-a", agentSocket], { stdio: "ignore" });
    await waitFor("ssh-agent", () => fs.existsSync(agentSocket));
    execFileSync("ssh-add", ["-q", path.join(work, "client")], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket }, stdio: "ignore" });

    // The CLI (PulumiCommand wants <root>/bin/pulumi) and the stand-in installed as plugin command 1.2.1.
    fs.mkdirSync(path.join(work, "cli/bin"), { recursive: true });
    fs.symlinkSync(pulumiCli(), path.join(work, "cli/bin/pulumi"));
    pulumiCommand = await PulumiCommand.get({ root: path.join(work, "cli") });
    const launcher = path.join(work, "pulumi-resource-command");
    fs.writeFileSync(launcher, `#!/bin/sh\nexec node --import ${REPO}/node_modules/tsx/dist/loader.mjs ${PROVIDER} "$@"\n`, {
        mode: 0o755,
    });
    execFileSync(pulumiCli(), ["plugin", "install", "resource", "command", "1.2.1", "--file", launcher], {
        env: { ...process.env, PULUMI_HOME: path.join(work, "home"), PULUMI_SKIP_UPDATE_CHECK: "true" },
        stdio: "ignore",
    });
    fs.mkdirSync(path.join(work, "project"));
    fs.writeFileSync(path.join(work, "project/Pulumi.yaml"), "name: x\nruntime: nodejs\n");
    fs.mkdirSync(path.join(work, "state"));
}

/** A stack of its own for one case, and a directory for what its commands write. */
async function stackFor(name: string): Promise<{ stack: Stack; dir: string }> {
    const dir = path.join(work, "remote", name);
    fs.mkdirSync(dir, { recursive: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: name, projectName: "x", program: async () => undefined },
        {
            workDir: path.join(work, "project"),
            pulumiHome: path.join(work, "home"),
            pulumiCommand,
            envVars: {
                PULUMI_CONFIG_PASSPHRASE: "test",
                PULUMI_BACKEND_URL: `file://${work}/state`,
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                REHEARSAL_PROVIDER_CALLS: path.join(work, "calls.jsonl"),
                // The provider would use the runner's agent otherwise (SSH_AUTH_SOCK), as the real one does.
                SSH_AUTH_SOCK: "",
            },
        },
    );
    return { stack, dir };
}

interface Up {
    ok: boolean;
    error?: string;
    outputs: Record<string, unknown>;
    events: EngineEvent[];
    output: string;
    summary?: Record<string, number>;
}

async function up(stack: Stack, program: PulumiFn, signal?: AbortSignal): Promise<Up> {
    const events: EngineEvent[] = [];
    let output = "";
    try {
        const r = await stack.up({ program, signal, onEvent: e => events.push(e), onOutput: s => (output += s), continueOnError: true });
        const outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
        return { ok: true, outputs, events, output, summary: r.summary.resourceChanges as Record<string, number> };
    } catch (err) {
        return { ok: false, error: String(err), outputs: {}, events, output };
    } finally {
        if (process.env.PROVIDER_TEST_DEBUG) console.log(stack.name, JSON.stringify(diagnostics({ events } as Up), null, 1));
    }
}

const diagnostics = (r: Up) => r.events.flatMap(e => (e.diagnosticEvent ? [e.diagnosticEvent] : []));
const diagnosticsOf = (r: Up, name: string) => diagnostics(r).filter(d => d.urn?.endsWith(`::${name}`));
/** The command resources in the stack's state, by name. */
async function stateResources(stack: Stack): Promise<Record<string, { id: string; outputs: Record<string, unknown> }>> {
    const state = await stack.exportStack();
    const resources = (state.deployment.resources ?? []) as { urn: string; type: string; id: string; outputs: Record<string, unknown> }[];
    return Object.fromEntries(resources.filter(r => r.type === "command:remote:Command").map(r => [r.urn.split("::").pop()!, r]));
}

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

function filesUnder(dir: string): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap(e => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const connection = (port: number, extra: Record<string, unknown> = {}) => ({
    host: "127.0.0.1",
    port,
    privateKey: pulumi.secret(privateKey),
    ...extra,
});

beforeAll(setUp, 60_000);
afterAll(() => {
    sshd?.kill();
    agent?.kill();
    if (work && !process.env.PROVIDER_TEST_KEEP) fs.rmSync(work, { recursive: true, force: true });
    else if (work) console.log(`kept ${work}\n${sshdLog}`);
});

describe.concurrent("stand-in command provider under the real Pulumi CLI", () => {
    it("creates, updates, refreshes and deletes: one newline trimmed, output lines as ephemeral status, previous output in the environment, the connection secret in state", async () => {
        const { stack, dir } = await stackFor("lifecycle");
        const log = path.join(dir, "a.log");
        const program =
            (foo: string, keep = true) =>
            async () => {
                if (!keep) return {};
                const a = new command.remote.Command("a", {
                    connection: connection(accepting),
                    environment: { FOO: foo },
                    create: `printf 'out1\\n\\n'; echo err1 >&2; echo "create $FOO" >> ${log}`,
                    update: `printf 'prev=%s|%s\\n' "$PULUMI_COMMAND_STDOUT" "$PULUMI_COMMAND_STDERR"; echo "update $FOO" >> ${log}`,
                    delete: `printf 'delete %s %s\\n' "$FOO" "$PULUMI_COMMAND_STDOUT" >> ${log}`,
                });
                return { stdout: a.stdout, stderr: a.stderr };
            };

        const created = await up(stack, program("v1"));
        expect(created.ok, created.error).toBe(true);
        expect(created.outputs).toEqual({ stdout: "out1\n", stderr: "err1" });
        const status = diagnosticsOf(created, "a").filter(d => d.ephemeral && d.severity === "info");
        expect(status.map(d => d.message.trim())).toEqual(expect.arrayContaining(["out1", "err1"]));
        // The backend's files (state, backups, history) and the call log hold the key only encrypted.
        const keyBody = privateKey.split("\n")[2]!;
        expect(keyBody.length).toBeGreaterThan(20);
        const stored = [path.join(work, "calls.jsonl"), ...filesUnder(path.join(work, "state"))];
        expect(stored.filter(f => fs.readFileSync(f, "utf8").includes(keyBody))).toEqual([]);
        const stateFile = JSON.parse(fs.readFileSync(path.join(work, "state/.pulumi/stacks/x/lifecycle.json"), "utf8"));
        const stateA = stateFile.checkpoint.latest.resources.find((r: { urn: string }) => r.urn.endsWith("::a"));
        expect(stateA.outputs.connection).toEqual({ [SIG]: SECRET, ciphertext: expect.any(String) });
        expect(stateA.inputs.connection).toEqual({ [SIG]: SECRET, ciphertext: expect.any(String) });
        const a = (await stateResources(stack)).a!;
        expect(a.id).toMatch(/^a[0-9a-f]{8}$/);
        // exportStack shows secrets decrypted: the schema's defaults were applied by check.
        expect(JSON.parse((a.outputs.connection as { plaintext: string }).plaintext)).toMatchObject({
            user: "root",
            dialErrorLimit: 10,
            perDialTimeout: 15,
        });

        const updated = await up(stack, program("v2"));
        expect(updated.ok, updated.error).toBe(true);
        expect(updated.summary).toMatchObject({ update: 1 });
        expect(updated.outputs.stdout).toBe("prev=out1\n|err1");
        expect((await stateResources(stack)).a!.id).toBe(a.id);

        const refreshed = await stack.refresh();
        expect(refreshed.summary.resourceChanges).not.toHaveProperty("update");

        const unchanged = await up(stack, program("v2"));
        expect(unchanged.summary).toEqual({ same: 2 });

        const deleted = await up(stack, program("v2", false));
        expect(deleted.ok, deleted.error).toBe(true);
        expect(fs.readFileSync(log, "utf8")).toBe("create v1\nupdate v2\ndelete v2 prev=out1\n|err1\n");

        const calls = fs
            .readFileSync(path.join(work, "calls.jsonl"), "utf8")
            .split("\n")
            .filter(l => l.includes('urn:pulumi:lifecycle::x::command:remote:Command::a"'))
            .map(l => JSON.parse(l) as Record<string, unknown>);
        expect(
            calls.filter(c => ["create", "update", "delete"].includes(c.method as string)).map(c => `${c.method}:${c.ran}:${c.outcome}`),
        ).toEqual(["create:create:ok", "update:update:ok", "delete:delete:ok"]);
        expect(calls.some(c => JSON.stringify(c).includes("a.log"))).toBe(false);
    });

    it("a failed create is not saved in state, and runs again at the next up; the error quotes the command and its output", async () => {
        const { stack, dir } = await stackFor("failed");
        const marker = path.join(dir, "go");
        const create = `echo out; echo err >&2; test -f ${marker} || exit 3; echo done`;
        const program = async () => ({ stdout: new command.remote.Command("f", { connection: connection(plain), create }).stdout });

        const failed = await up(stack, program);
        expect(failed.ok).toBe(false);
        const errors = diagnosticsOf(failed, "f").filter(d => d.severity === "error");
        expect(errors.map(d => d.message).join("\n")).toContain(
            `Process exited with status 3: running ${JSON.stringify(create)}:\nout\nerr\n`,
        );
        expect(await stateResources(stack)).toEqual({});

        fs.writeFileSync(marker, "");
        const again = await up(stack, program);
        expect(again.ok, again.error).toBe(true);
        expect(again.outputs.stdout).toBe("out\ndone");
    });

    it("after the first failed step the engine starts no new step, and those already running finish (the imitation went on with independent branches)", async () => {
        const { stack, dir } = await stackFor("stop-on-failure");
        const log = path.join(dir, "s.log");
        const program = async () => {
            new command.remote.Command("fails", { connection: connection(plain), create: `echo fails >> ${log}; exit 3` });
            const slow = new command.remote.Command("slow", { connection: connection(plain), create: `sleep 3; echo slow >> ${log}` });
            new command.remote.Command(
                "after-slow",
                { connection: connection(plain), create: `echo after-slow >> ${log}` },
                { dependsOn: [slow] },
            );
            return {};
        };
        // The CLI's default (no --continue-on-error), as the program is run.
        const error = await stack.up({ program }).then(
            () => "",
            (e: unknown) => String(e),
        );
        expect(error).toContain("Process exited with status 3");
        expect(fs.readFileSync(log, "utf8").split("\n").filter(Boolean).sort()).toEqual(["fails", "slow"]);
        expect(Object.keys(await stateResources(stack))).toEqual(["slow"]);
    });

    it("triggers replace (create before delete); without an update command an update runs create; stdin reaches the command", async () => {
        const { stack, dir } = await stackFor("replace");
        const log = path.join(dir, "r.log");
        const program = (trigger: number, stdin: string) => async () => {
            const r = new command.remote.Command("r", {
                connection: connection(plain),
                triggers: [trigger],
                stdin,
                create: `cat >> ${log}; echo created`,
                delete: `echo deleted >> ${log}`,
            });
            return { stdout: r.stdout };
        };

        const first = await up(stack, program(1, "one\n"));
        expect(first.ok, first.error).toBe(true);
        const id1 = (await stateResources(stack)).r!.id;

        const replaced = await up(stack, program(2, "one\n"));
        expect(replaced.ok, replaced.error).toBe(true);
        expect(replaced.summary).toMatchObject({ replace: 1 });
        const id2 = (await stateResources(stack)).r!.id;
        expect(id2).not.toBe(id1);
        expect(fs.readFileSync(log, "utf8")).toBe("one\none\ndeleted\n");

        const updated = await up(stack, program(2, "two\n"));
        expect(updated.ok, updated.error).toBe(true);
        expect(updated.summary).toMatchObject({ update: 1 });
        expect(updated.outputs.stdout).toBe("created");
        expect((await stateResources(stack)).r!.id).toBe(id2);
        expect(fs.readFileSync(log, "utf8")).toBe("one\none\ndeleted\ntwo\n");
    });

    it("environment needs AcceptEnv (a refusal fails the run with the provider's message); a refused previous output is only a warning", async () => {
        const { stack } = await stackFor("environment");
        const program = (withRefused: boolean, stdin: string) => async () => {
            if (withRefused)
                new command.remote.Command("refused", { connection: connection(plain), environment: { FOO: "x" }, create: "echo $FOO" });
            const accepted = new command.remote.Command("accepted", {
                connection: connection(accepting),
                environment: { FOO: "x" },
                create: "echo $FOO",
            });
            const previous = new command.remote.Command("previous", {
                connection: connection(plain),
                stdin,
                create: "echo first",
                update: 'echo "[$PULUMI_COMMAND_STDOUT]"',
            });
            return { accepted: accepted.stdout, previous: previous.stdout };
        };

        const first = await up(stack, program(true, "a"));
        expect(first.ok).toBe(false);
        const refused = diagnosticsOf(first, "refused");
        expect(refused.map(d => d.message).join("\n")).toContain('could not set environment variable "FOO": ssh: setenv failed');
        expect(
            refused.some(
                d =>
                    d.severity === "error" &&
                    d.message.includes(
                        "Unable to set 'FOO'. This only works if your SSH server is configured to accept\n\tthese variables via AcceptEnv.",
                    ),
            ),
        ).toBe(true);
        const state = await stateResources(stack);
        expect(Object.keys(state).sort()).toEqual(["accepted", "previous"]);
        expect(state.accepted!.outputs.stdout).toBe("x");

        const second = await up(stack, program(false, "b"));
        expect(second.ok, second.error).toBe(true);
        expect(second.outputs.previous).toBe("[]");
        const warnings = diagnosticsOf(second, "previous").filter(d => d.severity === "warning");
        expect(warnings.map(d => d.message).join("\n")).toContain("Unable to set 'PULUMI_COMMAND_STDOUT'.");
    });

    it("connections: an ed25519 host key pin connects, a wrong key and an ssh-rsa pin are refused, dial failures are retried with status lines, the agent is used (and a dead one fails at once); a dropped connection, a signal, a refused key fail with Go's texts", async () => {
        const { stack } = await stackFor("connections");
        const program = async () => {
            const make = (name: string, conn: Record<string, unknown>, create = `echo ${name}`) =>
                new command.remote.Command(name, { connection: conn as unknown as command.types.input.remote.ConnectionArgs, create });
            make("pinned", connection(accepting, { hostKey: hostKeyEd25519 }));
            make("wrongKey", connection(accepting, { hostKey: otherHostKey, dialErrorLimit: 1 }));
            make("rsaPin", connection(accepting, { hostKey: hostKeyRsa, dialErrorLimit: 0 }));
            make("refused", connection(closedPort, { dialErrorLimit: 2 }));
            make("deadAgent", connection(accepting, { agentSocketPath: path.join(work, "no-agent.sock") }));
            make("agent", { host: "127.0.0.1", port: accepting, agentSocketPath: agentSocket });
            make("dropped", connection(accepting), "echo before; sleep 1; kill -9 $PPID; sleep 5");
            make("signaled", connection(accepting), "kill -TERM $$");
            const unauthorized = fs.readFileSync(path.join(work, "other_ed25519"), "utf8");
            make("unauthorized", connection(accepting, { privateKey: pulumi.secret(unauthorized), dialErrorLimit: 0 }));
        };
        const r = await up(stack, program);
        expect(r.ok).toBe(false);
        const messages = (name: string, severity = "error") =>
            diagnosticsOf(r, name)
                .filter(d => d.severity === severity)
                .map(d => d.message)
                .join("\n");
        const statusLines = (name: string) =>
            diagnosticsOf(r, name)
                .filter(d => d.ephemeral)
                .map(d => d.message.trim());

        expect(messages("wrongKey")).toContain("after 1 failed attempts: ssh: handshake failed: ssh: host key mismatch");
        expect(statusLines("wrongKey")).toEqual(["Dial 1/1 failed: retrying"]);
        expect(messages("rsaPin")).toMatch(
            /after 0 failed attempts: ssh: handshake failed: ssh: no common algorithm for host key; we offered: \[ssh-rsa\], peer offered: \[[^\]]*rsa-sha2-512[^\]]*\]/,
        );
        expect(messages("refused")).toContain(`after 2 failed attempts: dial tcp 127.0.0.1:${closedPort}: connect: connection refused`);
        expect(statusLines("refused")).toEqual(["Dial 1/2 failed: retrying", "Dial 2/2 failed: retrying"]);
        expect(messages("deadAgent")).toContain(`dial unix ${path.join(work, "no-agent.sock")}: connect: no such file or directory`);
        expect(statusLines("deadAgent")).toEqual([]);
        expect(messages("dropped")).toContain(
            'wait: remote command exited without exit status or exit signal: running "echo before; sleep 1; kill -9 $PPID; sleep 5":\nbefore\n',
        );
        expect(messages("signaled")).toContain('Process exited with status 143 from signal TERM: running "kill -TERM $$":\n');
        expect(messages("unauthorized")).toContain(
            "after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain",
        );
        const state = await stateResources(stack);
        expect(Object.keys(state).sort()).toEqual(["agent", "pinned"]);
        expect(state.pinned!.outputs.stdout).toBe("pinned");
        expect(state.agent!.outputs.stdout).toBe("agent");
    });

    it("check: the connection's host is required; resource types other than command:remote:Command are refused", async () => {
        const { stack } = await stackFor("check");
        // The engine stops at the first failed check: one resource per up.
        const noHost = await up(stack, async () => {
            new command.remote.Command("noHost", {
                connection: { port: plain } as command.types.input.remote.ConnectionArgs,
                create: "true",
            });
        });
        expect(noHost.ok).toBe(false);
        expect(diagnosticsOf(noHost, "noHost").map(d => d.message)).toContainEqual(
            expect.stringContaining(
                "An error occurred decoding 'CommandInputs.connection': 1 failures decoding:\n\thost: Missing required field 'host' on 'remote.Connection'",
            ),
        );
        const local = await up(stack, async () => {
            new command.local.Command("local", { create: "true" });
        });
        expect(local.ok).toBe(false);
        expect(diagnostics(local).map(d => d.message)).toContainEqual(
            expect.stringContaining("implements only command:remote:Command, not command:local:Command"),
        );
        expect(await stateResources(stack)).toEqual({});
    });

    it("preview: inputs unknown until another command ran pass check, and nothing runs", async () => {
        const { stack, dir } = await stackFor("preview");
        const ran = path.join(dir, "ran");
        const preview = await stack.preview({
            program: async () => {
                const a = new command.remote.Command("a", { connection: connection(plain), create: `echo 127.0.0.1; touch ${ran}` });
                new command.remote.Command("b", {
                    connection: { ...connection(plain), host: a.stdout },
                    create: pulumi.interpolate`echo ${a.stdout}; touch ${ran}`,
                });
            },
        });
        expect(preview.changeSummary).toMatchObject({ create: 3 });
        expect(fs.existsSync(ran)).toBe(false);
        expect(await stateResources(stack)).toEqual({});
    });

    it("an output line of 64 KiB or more stops the logging and the command never finishes (as in the real provider) until the update is canceled", async () => {
        const { stack, dir } = await stackFor("longline");
        const done = path.join(dir, "hung.done");
        const program = async () => {
            new command.remote.Command("hung", {
                connection: connection(plain),
                create: `echo before; head -c 70000 /dev/zero | tr '\\0' a; echo; echo after; touch ${done}`,
            });
            // One byte short of the limit (with its newline, the scanner's 64 KiB): logged, and it finishes.
            const fine = new command.remote.Command("fine", {
                connection: connection(plain),
                create: "head -c 65535 /dev/zero | tr '\\0' b; echo; echo tail",
            });
            return { fine: fine.stdout.apply(s => s.length) };
        };
        const abort = new AbortController();
        const running = up(stack, program, abort.signal);
        let settled = false;
        void running.then(() => (settled = true));
        await waitFor("the hung command's end on the remote side", () => fs.existsSync(done), 60_000);
        await waitFor("the fine command", async () => Object.keys(await stateResources(stack)).includes("fine"), 30_000);
        await new Promise(r => setTimeout(r, 1500));
        expect(settled).toBe(false);
        abort.abort();
        const r = await running;
        expect(r.ok).toBe(false);
        const status = diagnosticsOf(r, "hung").filter(d => d.ephemeral);
        expect(status.map(d => d.message.trim())).toContain("before");
        expect(status.some(d => d.message.includes("after"))).toBe(false);
        expect(r.output + diagnostics(r).map(d => d.message)).toContain("token too long");
        expect(diagnosticsOf(r, "fine").some(d => d.ephemeral && d.message.trim() === "b".repeat(65535))).toBe(true);
        const state = await stateResources(stack);
        expect(Object.keys(state)).toEqual(["fine"]);
        expect(state.fine!.outputs.stdout).toBe("b".repeat(65535) + "\ntail");
    });
});
