/**
 * The SSH side of the STAND-IN `command` provider (see README.md), written with the `ssh2` package to do
 * what the real provider does with Go's golang.org/x/crypto/ssh. It follows, without copying them:
 *   - pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go and connection_unix.go (SSHConfig:
 *     auth methods, agent, host key pin and host key algorithms; Dial and dialWithRetry),
 *   - pulumi sdk v3.248.0 go/common/util/retry/until.go (the retry delays),
 *   - x/crypto/ssh client.go, client_auth.go and session.go (Dial's timeout, the order auth methods are
 *     tried, the error texts, Setenv/Start/Wait and their errors).
 * Errors carry the texts Go would give, so a rehearsal sees the messages a real deployment shows.
 */
import * as net from "node:net";
import { Client, OpenSSHAgent, utils, type ClientChannel, type ConnectConfig } from "ssh2";

/** The `connection` input once check applied the schema's defaults (values revealed). */
export interface ConnectionBase {
    user?: string;
    password?: string;
    host?: string;
    port?: number;
    privateKey?: string;
    privateKeyPassword?: string;
    agentSocketPath?: string;
    dialErrorLimit?: number;
    perDialTimeout?: number;
    hostKey?: string;
}

export interface Connection extends ConnectionBase {
    proxy?: ConnectionBase;
}

/** What a dial needs from its caller: the status line sink and the cancellation state. */
export interface DialContext {
    /** An ephemeral status line ("Dial 1/10 failed: retrying"), as InfoStatusf does. */
    status(message: string): Promise<void>;
    /** Resolves when the provider's Cancel is called (Go: the request context is canceled). */
    canceled: Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Go-flavoured helpers

/** strconv.Quote, as `%q` prints a string: Go escapes, printable Unicode kept as it is. */
export function goQuote(s: string): string {
    let out = '"';
    for (const ch of s) {
        const cp = ch.codePointAt(0)!;
        if (ch === '"' || ch === "\\") out += "\\" + ch;
        else if (ch === " " || (/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch) && cp !== 0xfeff)) out += ch;
        else if (ch === "\x07") out += "\\a";
        else if (ch === "\b") out += "\\b";
        else if (ch === "\f") out += "\\f";
        else if (ch === "\n") out += "\\n";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\t") out += "\\t";
        else if (ch === "\v") out += "\\v";
        else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
        else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
        else out += "\\U" + cp.toString(16).padStart(8, "0");
    }
    return out + '"';
}

/** net.JoinHostPort. */
function joinHostPort(host: string, port: number | string): string {
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The text Go's syscall.Errno gives for the errors a dial meets. */
const ERRNO_TEXT: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ECONNRESET: "connection reset by peer",
    EHOSTUNREACH: "no route to host",
    ENETUNREACH: "network is unreachable",
    ETIMEDOUT: "connection timed out",
    EACCES: "permission denied",
    EADDRNOTAVAIL: "cannot assign requested address",
    ENOENT: "no such file or directory",
    ENOTSOCK: "socket operation on non-socket",
    EPIPE: "broken pipe",
};

function errnoText(err: NodeJS.ErrnoException): string {
    return (err.code && ERRNO_TEXT[err.code]) || err.message;
}

// ---------------------------------------------------------------------------------------------------------
// SSHConfig (connection.go): parsed once per run, its errors are not retried

/** A public key parsed like ssh.ParseAuthorizedKey: its type (the blob's own) and wire blob. */
export interface PublicKey {
    type: string;
    blob: Buffer;
}

function blobType(blob: Buffer): string | undefined {
    if (blob.length < 4) return undefined;
    const len = blob.readUInt32BE(0);
    if (len === 0 || 4 + len > blob.length) return undefined;
    return blob.subarray(4, 4 + len).toString("latin1");
}

/** ssh.ParseAuthorizedKey: the first line holding `[options] type base64 [comment]`. */
export function parseAuthorizedKey(text: string): PublicKey {
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) continue;
        const fields = line.split(/\s+/);
        // Without options the key is fields[0..1]; with options (no spaces in them here) it is fields[1..2].
        for (const at of [0, 1]) {
            const b64 = fields[at + 1];
            if (!b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
            const blob = Buffer.from(b64, "base64");
            const type = blobType(blob);
            if (type && /^[\x21-\x7e]+$/.test(type)) return { type, blob };
        }
    }
    throw new Error("ssh: no key found");
}

interface AuthMethod {
    /** The RFC 4252 method name Go's client tracks ("publickey" for a key and for the agent alike). */
    method: "publickey" | "password" | "keyboard-interactive";
    build(username: string): Record<string, unknown>;
}

export interface SshConfig {
    user: string;
    hostKey?: PublicKey;
    /** Seconds for the TCP connect only (ssh.Dial's net.DialTimeout); 0 = none. */
    timeout: number;
    auth: AuthMethod[];
}

/** The private key checks of ssh.ParsePrivateKey / ParsePrivateKeyWithPassphrase, with Go's errors. */
function checkPrivateKey(key: string, passphrase: string | undefined): void {
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(key)) throw new Error("ssh: no key found");
    const openssh = key.includes("-----BEGIN OPENSSH PRIVATE KEY-----");
    const plain = utils.parseKey(key);
    if (passphrase !== undefined) {
        if (!(plain instanceof Error)) throw new Error(openssh ? "ssh: key is not password protected" : "ssh: not an encrypted key");
        const parsed = utils.parseKey(key, passphrase);
        if (parsed instanceof Error) {
            if (/passphrase|decrypt/i.test(parsed.message)) throw new Error("x509: decryption password incorrect");
            throw new Error(`ssh: ${parsed.message}`);
        }
        return;
    }
    if (plain instanceof Error) {
        if (/no passphrase given|encrypted/i.test(plain.message)) throw new Error("ssh: this private key is passphrase protected");
        throw new Error(`ssh: ${plain.message}`);
    }
}

/** net.Dial("unix", path): the agent must answer, or SSHConfig (and so the whole run) fails. */
function dialAgent(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const sock = net.connect(path);
        sock.once("connect", () => {
            sock.destroy();
            resolve();
        });
        sock.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`dial unix ${path}: connect: ${errnoText(err)}`)));
    });
}

/** connectionBase.SSHConfig: host key pin, auth methods in Go's order (key, password, keyboard-interactive, agent). */
export async function sshConfig(c: ConnectionBase): Promise<SshConfig> {
    let hostKey: PublicKey | undefined;
    if (c.hostKey !== undefined) {
        try {
            hostKey = parseAuthorizedKey(c.hostKey);
        } catch (err) {
            throw new Error(`failed to parse host key: ${(err as Error).message}`);
        }
    }
    const auth: AuthMethod[] = [];
    if (c.privateKey !== undefined) {
        checkPrivateKey(c.privateKey, c.privateKeyPassword);
        const key = c.privateKey;
        const passphrase = c.privateKeyPassword;
        auth.push({ method: "publickey", build: username => ({ type: "publickey", username, key, passphrase }) });
    }
    if (c.password !== undefined) {
        const password = c.password;
        auth.push({ method: "password", build: username => ({ type: "password", username, password }) });
        auth.push({
            method: "keyboard-interactive",
            build: username => ({
                type: "keyboard-interactive",
                username,
                prompt: (_name: string, _instructions: string, _lang: string, prompts: unknown[], finish: (answers: string[]) => void) =>
                    finish(prompts.map(() => password)),
            }),
        });
    }
    const envSocket = process.env.SSH_AUTH_SOCK;
    const agentPath = c.agentSocketPath !== undefined ? c.agentSocketPath : envSocket ? envSocket : undefined;
    if (agentPath !== undefined) {
        await dialAgent(agentPath);
        const agent = new OpenSSHAgent(agentPath);
        auth.push({ method: "publickey", build: username => ({ type: "agent", username, agent }) });
    }
    return { user: c.user ?? "root", hostKey, timeout: c.perDialTimeout ?? 15, auth };
}

// ---------------------------------------------------------------------------------------------------------
// ssh.Dial: TCP connect (bounded by the timeout), then the handshake (not bounded, as in Go)

function tcpDial(host: string, port: number, timeoutSeconds: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host, port });
        let timer: NodeJS.Timeout | undefined;
        if (timeoutSeconds > 0) {
            timer = setTimeout(() => {
                sock.destroy();
                reject(new Error(`dial tcp ${joinHostPort(host, port)}: i/o timeout`));
            }, timeoutSeconds * 1000);
        }
        sock.once("connect", () => {
            clearTimeout(timer);
            sock.removeAllListeners("error");
            resolve(sock);
        });
        sock.once("error", (err: NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }) => {
            clearTimeout(timer);
            if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") reject(new Error(`dial tcp: lookup ${host}: no such host`));
            else reject(new Error(`dial tcp ${joinHostPort(err.address ?? host, err.port ?? port)}: connect: ${errnoText(err)}`));
        });
    });
}

/** x/crypto/ssh's RejectionReason texts (channel open failures). */
const REJECTION: Record<number, string> = {
    1: "administratively prohibited",
    2: "connect failed",
    3: "unknown channel type",
    4: "resource shortage",
};

/** One handshake over a connected socket: host key pin, Go's auth method order and its failure text. */
function handshake(sock: net.Socket, cfg: SshConfig): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        let settled = false;
        let peerHostKeyAlgorithms: string[] = [];
        const tried: string[] = [];
        let current: string | undefined;
        let authFailure: string | undefined;
        const fail = (message: string) => {
            if (settled) return;
            settled = true;
            client.destroy();
            sock.destroy();
            reject(new Error(`ssh: handshake failed: ${message}`));
        };
        client.on("ready", () => {
            settled = true;
            resolve(client);
        });
        client.on("error", (err: Error & { level?: string; code?: unknown }) => {
            if (settled) return; // after the handshake, a run sees the connection's end through its channel
            if (/Host denied/.test(err.message)) return fail("ssh: host key mismatch");
            if (/no matching host key format/.test(err.message) && cfg.hostKey)
                return fail(
                    `ssh: no common algorithm for host key; we offered: [${cfg.hostKey.type}], peer offered: [${peerHostKeyAlgorithms.join(" ")}]`,
                );
            if (err.level === "client-authentication" && authFailure) return fail(authFailure);
            if (typeof err.code === "number") return fail(`ssh: disconnect, reason ${err.code}: ${err.message}`);
            if (err.level === "client-socket") return fail(errnoText(err as NodeJS.ErrnoException));
            fail(err.message);
        });
        client.on("close", () => fail("EOF"));
        const config: ConnectConfig = {
            sock,
            username: cfg.user,
            ident: "Go",
            readyTimeout: 0,
            keepaliveInterval: 0,
            debug: (line: string) => {
                const m = /^Handshake: \(remote\) Host key format: (.*)$/.exec(line);
                if (m) peerHostKeyAlgorithms = m[1]!.split(",").filter(Boolean);
            },
            // Go tries "none" first, then each configured method the server allows whose method name was not
            // tried yet (so the agent is never asked after a private key failed: both are "publickey").
            authHandler: ((methodsLeft: string[] | null, partialSuccess: boolean | null, next: (auth: unknown) => void) => {
                if (current !== undefined && !partialSuccess) tried.push(current);
                if (current === undefined) {
                    current = "none";
                    return next({ type: "none", username: cfg.user });
                }
                const allowed = methodsLeft ?? [];
                const candidate = cfg.auth.find(a => !tried.includes(a.method) && allowed.includes(a.method));
                if (!candidate) {
                    authFailure = `ssh: unable to authenticate, attempted methods [${tried.join(" ")}], no supported methods remain`;
                    return next(false);
                }
                current = candidate.method;
                // The same method name twice (key then agent) cannot happen: the second is skipped above.
                return next(candidate.build(cfg.user));
            }) as unknown as ConnectConfig["authHandler"],
        };
        if (cfg.hostKey) {
            const pinned = cfg.hostKey;
            config.algorithms = { serverHostKey: [pinned.type as never] };
            config.hostVerifier = (key: Buffer) => key.equals(pinned.blob);
        }
        try {
            client.connect(config);
        } catch (err) {
            // ssh2 refuses a host key type it does not implement (Go would offer it and fail to agree).
            fail(`ssh: no common algorithm for host key; we offered: [${cfg.hostKey?.type}], peer offered: [] (${(err as Error).message})`);
        }
    });
}

async function dialOnce(host: string, port: number, cfg: SshConfig): Promise<Client> {
    const sock = await tcpDial(host, port, cfg.timeout);
    return handshake(sock, cfg);
}

/**
 * dialWithRetry over retry.Until: attempt, and on failure wait 100 ms × 1.5ⁿ (at most 5 s) before the next;
 * `limit` failures are retried (so limit+1 attempts, -1 = unlimited), each announced as a status line.
 */
async function dialWithRetry(ctx: DialContext, msg: string, limit: number, attempt: () => Promise<Client>): Promise<Client> {
    let delay = 100;
    for (let tryNo = 0; ; tryNo++) {
        delay = Math.min(delay, 5000);
        let error: Error;
        try {
            return await attempt();
        } catch (err) {
            error = err as Error;
        }
        const dials = tryNo + 1;
        if (limit > -1 && dials > limit) throw new Error(`after ${tryNo} failed attempts: ${error.message}`);
        await ctx.status(`${msg} ${dials}/${limit === -1 ? "inf" : limit} failed: retrying`);
        let timer: NodeJS.Timeout | undefined;
        const slept = await Promise.race([
            new Promise<boolean>(r => (timer = setTimeout(() => r(true), delay))),
            ctx.canceled.then(() => false),
        ]);
        clearTimeout(timer);
        if (!slept) throw new Error("context canceled");
        delay = delay * 1.5;
    }
}

/** Connection.Dial. A proxy (bastion) is not reproduced by the stand-in: it fails clearly. */
export async function dial(c: Connection, ctx: DialContext): Promise<Client> {
    const cfg = await sshConfig(c);
    if (c.proxy) throw new Error("the rehearsal's stand-in command provider does not reproduce connection.proxy (a bastion host)");
    const host = c.host ?? "";
    const port = Math.trunc(c.port ?? 22);
    return dialWithRetry(ctx, "Dial", c.dialErrorLimit ?? 10, () => dialOnce(host, port, cfg));
}

// ---------------------------------------------------------------------------------------------------------
// Session (session.go): NewSession, Setenv (want-reply), Start; ssh2's public exec() cannot ask for a reply
// to "env", so these three go through ssh2 1.17.0's channel internals.

interface Internals {
    _chanMgr: { add(cb: unknown): number };
    _protocol: {
        session(chan: number, window: number, packet: number): void;
        env(chan: number, key: string, value: string, wantReply: boolean): void;
        exec(chan: number, cmd: string, wantReply: boolean): void;
    };
}

interface ChannelInternals {
    outgoing: { id: number; state: string };
    incoming: { state: string };
    _callbacks: ((hadErr: boolean | Error) => void)[];
    subtype?: string;
    allowHalfOpen: boolean;
}

const { MAX_WINDOW, PACKET_SIZE } = require("ssh2/lib/Channel.js") as { MAX_WINDOW: number; PACKET_SIZE: number };

/** client.NewSession: a "session" channel. */
export function newSession(client: Client): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
        const c = client as unknown as Internals;
        const opened = (err: (Error & { reason?: unknown }) | undefined, chan: ClientChannel) => {
            if (!err) return resolve(chan);
            const description = err.message.replace(/^\(SSH\) Channel open failure: /, "");
            if (typeof err.reason === "number")
                reject(new Error(`ssh: rejected: ${REJECTION[err.reason] ?? `unknown reason ${err.reason}`} (${description})`));
            else reject(new Error("EOF"));
        };
        (opened as unknown as { type: string }).type = "session";
        const local = c._chanMgr.add(opened);
        if (local === -1) return reject(new Error("ssh: no free channels"));
        c._protocol.session(local, MAX_WINDOW, PACKET_SIZE);
    });
}

/** A channel request with want-reply: true when the server said yes; rejects with "EOF" when the channel closed. */
function channelRequest(chan: ClientChannel, send: (id: number) => void): Promise<boolean> {
    const ch = chan as unknown as ChannelInternals;
    return new Promise((resolve, reject) => {
        if (ch.outgoing.state !== "open") return reject(new Error("EOF"));
        ch._callbacks.push(hadErr => {
            if (hadErr && ch.incoming.state === "closed") reject(new Error("EOF"));
            else resolve(!hadErr);
        });
        send(ch.outgoing.id);
    });
}

/** session.Setenv: an "env" request with want-reply; a refusal is "ssh: setenv failed". */
export async function setenv(client: Client, chan: ClientChannel, key: string, value: string): Promise<void> {
    const ok = await channelRequest(chan, id => (client as unknown as Internals)._protocol.env(id, key, value, true));
    if (!ok) throw new Error("ssh: setenv failed");
}

/** session.Start's "exec" request (no pty); a refusal is "ssh: command <cmd> failed". */
export async function start(client: Client, chan: ClientChannel, cmd: string): Promise<void> {
    const ok = await channelRequest(chan, id => (client as unknown as Internals)._protocol.exec(id, cmd, true));
    if (!ok) throw new Error(`ssh: command ${cmd} failed`);
    const ch = chan as unknown as ChannelInternals;
    ch.subtype = "exec";
    ch.allowHalfOpen = true;
}

/** The x/crypto/ssh signal numbers Waitmsg adds to 128 when only an exit-signal came. */
export const SIGNALS: Record<string, number> = {
    ABRT: 6,
    ALRM: 14,
    FPE: 8,
    HUP: 1,
    ILL: 4,
    INT: 2,
    KILL: 9,
    PIPE: 13,
    QUIT: 3,
    SEGV: 11,
    TERM: 15,
    USR1: 10,
    USR2: 12,
};

/** What session.Wait returns for the exit a channel reported: null for status 0, else ExitError / ExitMissingError's text. */
export function waitError(exit: { code?: number; signal?: string; description?: string } | undefined): string | null {
    const signal = exit?.signal;
    if (exit?.code === undefined && !signal) return EXIT_MISSING;
    if (exit?.code === 0) return null;
    const status = exit?.code ?? 128 + (SIGNALS[signal!] ?? 0);
    let text = `Process exited with status ${status}`;
    if (signal) text += ` from signal ${signal}`;
    if (exit?.description) text += `. Reason was: ${exit.description}`;
    return text;
}

/** ExitMissingError: the session ended (or the connection dropped) without an exit status or signal. */
export const EXIT_MISSING = "wait: remote command exited without exit status or exit signal";
