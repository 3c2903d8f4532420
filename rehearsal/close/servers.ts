/**
 * TEST STAND-INS for what lies outside the closing instance (mastodon-migration rehearsal), run as a child
 * process of the rehearsal, on the sandbox bridge address only:
 * - the remote servers of the fediverse: one HTTP listener that takes every ActivityPub inbox POST
 *   (`Host` = the remote server, the path its inbox), refuses anything but `application/activity+json`, and
 *   appends each activity to `deliveries.jsonl` ({host, path, type, actor, object});
 * - an S3-compatible server (`s3rver` from npm) behind a small proxy that records the access key id of every
 *   request (`s3-requests.jsonl`) and, when the file `cut-next-put` exists, cuts the next PUT after 8 KiB
 *   (the connection drops in the middle of the upload).
 *
 *   tsx rehearsal/close/servers.ts <bind address> <federation port> <s3 port> <dir> <bucket>
 * Prints "ready" once both listen.
 */
import { appendFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AWSAccount = require("s3rver/lib/models/account");

const [address, federationPort, s3Port, dir, bucket] = process.argv.slice(2);
if (!address || !federationPort || !s3Port || !dir || !bucket) throw new Error("usage: servers.ts ADDRESS FED_PORT S3_PORT DIR BUCKET");
if (!/^(127\.0\.0\.1|10\.213\.\d\.1)$/.test(address))
    throw new Error(`refusing to listen on ${address}: loopback or the sandbox bridge only`);
mkdirSync(dir, { recursive: true });
const record = (file: string, value: unknown) => appendFileSync(join(dir, file), JSON.stringify(value) + "\n");

function federation(): Promise<void> {
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", c => chunks.push(c));
        req.on("end", () => {
            const host = String(req.headers.host ?? "");
            if (req.method !== "POST" || !/\/inbox$/.test(req.url ?? "")) {
                res.writeHead(404).end();
                return;
            }
            if (!String(req.headers["content-type"] ?? "").startsWith("application/activity+json")) {
                res.writeHead(415).end("not an ActivityPub request");
                return;
            }
            let activity: { type?: string; actor?: string; object?: unknown };
            try {
                activity = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
                res.writeHead(400).end("invalid JSON");
                return;
            }
            record("deliveries.jsonl", { host, path: req.url, type: activity.type, actor: activity.actor, object: activity.object });
            res.writeHead(202).end();
        });
    });
    return new Promise(resolve => server.listen(Number(federationPort), address, () => resolve()));
}

async function s3(): Promise<void> {
    // Any access key id is accepted (the engine stand-in records the IAM key, it never reaches AWS); each is
    // recorded so the rehearsal can check the upload used the key the program created for it.
    const accounts: Map<string, unknown> = AWSAccount.registry;
    const dummy = AWSAccount.DUMMY_ACCOUNT;
    const get = accounts.get.bind(accounts);
    accounts.get = (id: string) => get(id) ?? dummy;
    const backend = new S3rver({
        address: "127.0.0.1",
        port: 0,
        silent: true,
        directory: join(dir, "s3"),
        configureBuckets: [{ name: bucket }],
        allowMismatchedSignatures: true,
    });
    const { port } = (await backend.run()) as { port: number };
    const proxy = http.createServer((req, res) => {
        const auth = String(req.headers.authorization ?? "");
        record("s3-requests.jsonl", { method: req.method, url: req.url, accessKeyId: auth.match(/Credential=([^/]+)\//)?.[1] ?? null });
        const cut = req.method === "PUT" && existsSync(join(dir, "cut-next-put"));
        if (cut) rmSync(join(dir, "cut-next-put"));
        const upstream = http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers }, up => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
        });
        upstream.on("error", () => res.destroy());
        let seen = 0;
        req.on("data", (chunk: Buffer) => {
            seen += chunk.length;
            if (cut && seen > 8192) {
                record("s3-requests.jsonl", { cut: req.url, afterBytes: seen });
                upstream.destroy();
                req.socket.destroy();
                return;
            }
            upstream.write(chunk);
        });
        req.on("end", () => upstream.end());
    });
    await new Promise<void>(resolve => proxy.listen(Number(s3Port), address, () => resolve()));
}

Promise.all([federation(), s3()]).then(
    () => console.log("ready"),
    err => {
        console.error(err);
        process.exit(1);
    },
);
