// STAND-IN Mastodon web server (mastodon-migration rehearsal sandbox), started by
// `bundle exec puma`: answers GET /health, /api/v2/instance, /.well-known/nodeinfo, /nodeinfo/2.0
// on 127.0.0.1:$PORT. Checks the database once at start and exits non-zero when it is unreachable.
// While it runs it writes like the users of a live instance (every WEB_STANDIN_WRITE_MS, default 1000):
// a status row, the DistributionWorker job that goes with it on queue:default, every third time a job in
// the `schedule` set due in 15 s, and a rate-limit key that expires after 5 s. Every write is journalled in log/writes.log (`row statuses <id>`, `enqueued <jid>`,
// `key <name>`), so a rehearsal can tell this host's writes from what the move carried. Three failed
// writes in a row stop it with an error (a web server that cannot write is broken, not idle); none in
// self-destruct mode.
// In self-destruct mode (SELF_DESTRUCT valid, self-destruct.js) every path answers 410 but /health, sign-in
// and the export pages (users may still log in and download their archive), as Mastodon >= 4.3 does.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { execFile, spawnSync } = require("node:child_process");

const live = path.resolve(__dirname, "..", "..");
const version = "4.5.2";
const port = Number(process.env.PORT || 3000);
const domain = process.env.LOCAL_DOMAIN || "";
const log = msg => {
    try {
        fs.appendFileSync(path.join(live, "log", "standin.log"), `${new Date().toISOString()} pid=${process.pid} web: ${msg}\n`);
    } catch {
        /* evidence is best effort */
    }
};
const psqlArgs = sql => [
    "-X",
    "-q",
    "-At",
    "-h",
    process.env.DB_HOST,
    "-p",
    String(process.env.DB_PORT),
    "-U",
    process.env.DB_USER,
    "-d",
    process.env.DB_NAME,
    "-c",
    sql,
];
const psqlEnv = { ...process.env, PGPASSWORD: process.env.DB_PASS || "", PGCONNECT_TIMEOUT: "5" };

const check = spawnSync("psql", psqlArgs("SELECT 1"), { env: psqlEnv, encoding: "utf8" });
if (check.status !== 0) {
    const msg = `database ${process.env.DB_NAME} unreachable: ${(check.stderr || "").trim()}`;
    console.error(`stand-in web: ${msg}`);
    log(msg);
    process.exit(1);
}
if (!domain) {
    console.error("stand-in web: LOCAL_DOMAIN is not set in .env.production");
    log("LOCAL_DOMAIN missing");
    process.exit(1);
}

const query = sql =>
    new Promise((resolve, reject) => {
        execFile("psql", psqlArgs(sql), { env: psqlEnv, timeout: 10000 }, (err, stdout, stderr) =>
            err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout.trim()),
        );
    });

const redisArgs = args => [
    "-h",
    process.env.REDIS_HOST,
    "-p",
    String(process.env.REDIS_PORT),
    ...(process.env.REDIS_PASSWORD ? ["-a", process.env.REDIS_PASSWORD, "--no-auth-warning"] : []),
    ...args,
];
const redis = args =>
    new Promise((resolve, reject) => {
        execFile("redis-cli", redisArgs(args), { timeout: 10000 }, (err, stdout, stderr) => {
            const out = stdout.trim();
            if (err || out.startsWith("ERR") || out.startsWith("(error)")) reject(new Error(stderr.trim() || out || err.message));
            else resolve(out);
        });
    });
const journal = lines => fs.appendFileSync(path.join(live, "log", "writes.log"), lines.map(l => `${l}\n`).join(""));

let failedWrites = 0;
let ticks = 0;
let writing = false;
async function writeOnce() {
    // Test hook of the rehearsal (not Mastodon): tmp/standin-writes-paused pauses the writes; tmp/ is never moved.
    if (writing || selfDestructing || fs.existsSync(path.join(live, "tmp", "standin-writes-paused"))) return;
    writing = true;
    try {
        const id = await query(
            "INSERT INTO statuses (account_id, text, created_at, updated_at, local, visibility, language) " +
                "SELECT id, 'live writer: ' || clock_timestamp()::text, now(), now(), true, 0, 'fr' FROM accounts " +
                "WHERE domain IS NULL ORDER BY id LIMIT 1 RETURNING id",
        );
        if (!/^\d+$/.test(id)) throw new Error(`no status written (no local account?): ${id}`);
        journal([`row statuses ${id}`]);
        const jid = require("node:crypto").randomBytes(12).toString("hex");
        const now = Date.now() / 1000;
        const job = { retry: true, queue: "default", class: "DistributionWorker", args: [id], jid, created_at: now, enqueued_at: now };
        journal([`enqueued ${jid}`, "key queue:default"]);
        await redis(["LPUSH", "queue:default", JSON.stringify(job)]);
        if (++ticks % 3 === 0) {
            // A status scheduled for publication in 15 s (ScheduledStatus): a job in Sidekiq's `schedule` set.
            const sjid = require("node:crypto").randomBytes(12).toString("hex");
            const at = now + 15;
            const scheduled = {
                retry: true,
                queue: "scheduler",
                class: "PublishScheduledStatusWorker",
                args: [id],
                jid: sjid,
                created_at: now,
                at,
            };
            journal([`enqueued ${sjid}`, "key schedule"]);
            await redis(["ZADD", "schedule", String(at), JSON.stringify(scheduled)]);
        }
        const key = `rack::attack:${Math.floor(now / 5)}:throttle:authenticated_api:${id}`;
        journal([`key ${key}`]);
        await redis(["SET", key, "1", "EX", "5"]);
        failedWrites = 0;
    } catch (err) {
        failedWrites += 1;
        log(`write failed (${failedWrites} in a row): ${err.message}`);
        if (failedWrites >= 3) {
            console.error(`stand-in web: writes keep failing: ${err.message}`);
            process.exit(1);
        }
    } finally {
        writing = false;
    }
}
const writer = setInterval(writeOnce, Number(process.env.WEB_STANDIN_WRITE_MS || 1000));

const selfDestructing = require("./self-destruct").selfDestruct();
const SELF_DESTRUCT_ALLOWED = /^\/(health$|auth\/sign_in$|auth\/sign_out$|settings\/export$|backups\/\d+\/download$)/;

const send = (res, status, body, type = "application/json; charset=utf-8") => {
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Standin": "mastodon-migration-rehearsal" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
};

const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (selfDestructing && !SELF_DESTRUCT_ALLOWED.test(url.pathname)) return send(res, 410, { error: "This server is shutting down" });
    try {
        if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "Method not allowed" });
        switch (url.pathname) {
            case "/health":
                return send(res, 200, "OK", "text/plain; charset=utf-8");
            case "/api/v2/instance": {
                const users = Number(await query("SELECT count(*) FROM users"));
                return send(res, 200, {
                    domain,
                    title: `${domain} (stand-in)`,
                    version,
                    source_url: "https://github.com/mastodon/mastodon",
                    usage: { users: { active_month: users } },
                });
            }
            case "/.well-known/nodeinfo":
                return send(res, 200, {
                    links: [{ rel: "http://nodeinfo.diaspora.software/ns/schema/2.0", href: `https://${domain}/nodeinfo/2.0` }],
                });
            case "/nodeinfo/2.0": {
                const [total, posts] = (
                    await query(
                        "SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE a.domain IS NULL)",
                    )
                )
                    .split(" ")
                    .map(Number);
                return send(res, 200, {
                    version: "2.0",
                    software: { name: "mastodon", version },
                    protocols: ["activitypub"],
                    usage: { users: { total, activeMonth: total, activeHalfyear: total }, localPosts: posts },
                    openRegistrations: false,
                    metadata: { nodeName: domain },
                });
            }
            case "/":
                return send(
                    res,
                    200,
                    `<!DOCTYPE html><title>${domain}</title><p>Mastodon ${version} stand-in at ${domain}</p>`,
                    "text/html; charset=utf-8",
                );
            default:
                return send(res, 404, { error: "Record not found" });
        }
    } catch (err) {
        log(`error on ${url.pathname}: ${err.message}`);
        return send(res, 500, { error: "Internal server error" });
    }
});

server.listen(port, "127.0.0.1", () => {
    log(`listening on 127.0.0.1:${port} for ${domain} (args: ${process.argv.slice(2).join(" ")})`);
    console.log(`stand-in puma: listening on http://127.0.0.1:${port}`);
});
process.on("SIGUSR1", () => log("SIGUSR1: phased restart (nothing to reload in the stand-in)"));
for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => {
        log(`${sig}: shutting down`);
        clearInterval(writer);
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 2000).unref();
    });
}
