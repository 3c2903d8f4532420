/**
 * TEST STAND-IN for the @pulumi/command 1.2.1 provider's SSH side, implemented with ssh2:
 * dial with retries, optional host key check, exec without a pty, SFTP copy.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Client, type ConnectConfig, type SFTPWrapper } from "ssh2";
import type { LiveSource } from "./values";

export interface Connection {
    host: string;
    port?: number;
    user?: string;
    password?: string;
    privateKey?: string;
    privateKeyPassword?: string;
    agentSocketPath?: string;
    dialErrorLimit?: number;
    perDialTimeout?: number;
    hostKey?: string;
    proxy?: unknown;
}

/** A way to cut the connection while a command runs (the runner's fault injection). */
export interface FaultPlan {
    afterSeconds?: number;
    stdoutMatches?: RegExp;
}

export type LineSink = (stream: "stdout" | "stderr", line: string) => void;

export interface ExecResult {
    stdout: string;
    stderr: string;
}

function connectConfig(c: Connection): ConnectConfig {
    const config: ConnectConfig = {
        host: c.host,
        port: c.port ?? 22,
        username: c.user ?? "root",
        readyTimeout: (c.perDialTimeout ?? 15) * 1000,
    };
    if (c.password !== undefined) config.password = c.password;
    if (c.privateKey !== undefined) config.privateKey = c.privateKey;
    if (c.privateKeyPassword !== undefined) config.passphrase = c.privateKeyPassword;
    if (c.agentSocketPath !== undefined) config.agent = c.agentSocketPath;
    if (c.hostKey) {
        const expected = c.hostKey.trim().split(/\s+/)[1] ?? "";
        config.hostVerifier = (key: Buffer) => key.toString("base64") === expected;
    }
    return config;
}

function dialOnce(c: Connection): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        client.once("ready", () => resolve(client));
        // Stays attached: a later socket error must reach exec/copy as a failure, never crash the process.
        client.on("error", err => {
            client.destroy();
            reject(err);
        });
        client.connect(connectConfig(c));
    });
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Dial like the provider: up to dialErrorLimit attempts (-1 = unlimited), each bounded by perDialTimeout. */
export async function dial(c: Connection): Promise<Client> {
    if (c.proxy) throw new Error("rehearsal engine: connection.proxy is not supported by the stand-in");
    const limit = c.dialErrorLimit ?? 10;
    let lastError: unknown;
    for (let attempt = 1; limit < 0 || attempt <= limit; attempt++) {
        try {
            return await dialOnce(c);
        } catch (err) {
            lastError = err;
            const auth = /authentication|verification failed/i.test(String(err));
            if (auth) break;
            if (limit < 0 || attempt < limit) await sleep(Math.min(2000, 250 * 2 ** (attempt - 1)));
        }
    }
    throw new Error(`Dial: ssh: handshake failed or unable to connect to ${c.host}:${c.port ?? 22}: ${String(lastError)}`);
}

/** The provider's failure message: the exit reason, then whatever the command printed. */
export function exitError(reason: string, stdout: string, stderr: string): Error {
    const parts = [reason];
    if (stdout.trim()) parts.push(`stdout: ${stdout.trim()}`);
    if (stderr.trim()) parts.push(`stderr: ${stderr.trim()}`);
    return new Error(parts.join("\n"));
}

/** Split a stream into lines for the log (the last partial line is flushed at the end). */
export function lineSplitter(emit: (line: string) => void): { push(chunk: string): void; flush(): void } {
    let buffer = "";
    return {
        push(chunk) {
            buffer += chunk;
            const lines = buffer.split("\n");
            buffer = lines.pop() ?? "";
            lines.forEach(emit);
        },
        flush() {
            if (buffer) emit(buffer);
            buffer = "";
        },
    };
}

const EXIT_MISSING = "wait: remote command exited without exit status or exit signal";

/** Run one command over an open connection, no pty; rejects like the provider on a non-zero exit. */
export function exec(client: Client, command: string, stdin: string | undefined, sink: LineSink, fault?: FaultPlan): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        let done = false;
        const cutConnection = () => client.destroy();
        const timer = fault?.afterSeconds !== undefined ? setTimeout(cutConnection, fault.afterSeconds * 1000) : undefined;
        const outLines = lineSplitter(l => sink("stdout", l));
        const errLines = lineSplitter(l => sink("stderr", l));
        const finish = (err?: Error) => {
            if (done) return;
            done = true;
            if (timer) clearTimeout(timer);
            outLines.flush();
            errLines.flush();
            if (err) reject(err);
            else resolve({ stdout, stderr });
        };
        const lost = (why: string) => finish(exitError(`${EXIT_MISSING} (connection lost: ${why})`, stdout, stderr));
        client.on("error", err => lost(err.message));
        client.once("close", () => lost("closed"));
        client.exec(command, { pty: false }, (err, channel) => {
            if (err) return finish(err);
            let exit: { code?: number | null; signal?: string } | undefined;
            channel.on("exit", (code: number | null, signal?: string) => (exit = { code, signal }));
            channel.on("data", (d: Buffer) => {
                stdout += d.toString();
                outLines.push(d.toString());
                if (fault?.stdoutMatches && fault.stdoutMatches.test(stdout)) cutConnection();
            });
            channel.stderr.on("data", (d: Buffer) => {
                stderr += d.toString();
                errLines.push(d.toString());
            });
            channel.on("close", () => {
                if (!exit) return lost("channel closed");
                if (exit.code === 0) return finish();
                const why = typeof exit.code === "number" ? `status ${exit.code}` : `signal ${exit.signal ?? "unknown"}`;
                finish(exitError(`Process exited with ${why}`, stdout, stderr));
            });
            if (stdin !== undefined && stdin !== "") channel.write(stdin);
            channel.end();
        });
    });
}

function sftpOf(client: Client): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

function statKind(sftp: SFTPWrapper, p: string): Promise<"dir" | "file" | "none"> {
    return new Promise(resolve => sftp.stat(p, (err, st) => resolve(err ? "none" : st.isDirectory() ? "dir" : "file")));
}

async function mkdirAll(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (dir === "/" || dir === "." || (await statKind(sftp, dir)) === "dir") return;
    await mkdirAll(sftp, path.posix.dirname(dir));
    await new Promise<void>((resolve, reject) => sftp.mkdir(dir, err => (err ? reject(err) : resolve())));
}

function putData(sftp: SFTPWrapper, remote: string, data: Buffer, mode: number): Promise<void> {
    return new Promise((resolve, reject) => sftp.writeFile(remote, data, { mode }, err => (err ? reject(err) : resolve())));
}

async function putDir(sftp: SFTPWrapper, local: string, remote: string): Promise<void> {
    await mkdirAll(sftp, remote);
    for (const entry of fs.readdirSync(local, { withFileTypes: true })) {
        const from = path.join(local, entry.name);
        const to = path.posix.join(remote, entry.name);
        if (entry.isDirectory()) await putDir(sftp, from, to);
        else await putData(sftp, to, fs.readFileSync(from), fs.statSync(from).mode & 0o777);
    }
}

/** CopyToRemote: parent dirs are created; into an existing directory the source keeps its base name. */
export async function copyToRemote(client: Client, source: LiveSource, remotePath: string): Promise<void> {
    if (source.kind === "unsupported")
        throw new Error(`CopyToRemote: source must be a FileAsset, StringAsset or FileArchive (got ${source.what})`);
    const sftp = await sftpOf(client);
    try {
        const existing = await statKind(sftp, remotePath);
        const intoDir = existing === "dir" && source.kind !== "string";
        const target = intoDir ? path.posix.join(remotePath, path.basename((source as { path: string }).path)) : remotePath;
        if (source.kind === "dir") {
            if (existing === "file") throw new Error(`CopyToRemote: cannot copy a directory onto existing file ${remotePath}`);
            return await putDir(sftp, source.path, target);
        }
        await mkdirAll(sftp, path.posix.dirname(target));
        const data = source.kind === "string" ? Buffer.from(source.text) : fs.readFileSync(source.path);
        const mode = source.kind === "string" ? 0o644 : fs.statSync(source.path).mode & 0o777;
        await putData(sftp, target, data, mode);
    } finally {
        sftp.end();
    }
}
