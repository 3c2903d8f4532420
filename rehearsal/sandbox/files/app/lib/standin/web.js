// STAND-IN Mastodon web server (mastodon-migration rehearsal sandbox), started by
// `bundle exec puma`: answers GET /health, /api/v2/instance, /.well-known/nodeinfo, /nodeinfo/2.0
// on 127.0.0.1:$PORT. Checks the database once at start and exits non-zero when it is unreachable.
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

const send = (res, status, body, type = "application/json; charset=utf-8") => {
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Standin": "mastodon-migration-rehearsal" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
};

const selfDestructing = require("./self-destruct").selfDestruct();
const SELF_DESTRUCT_ALLOWED = /^\/(health$|auth\/sign_in$|auth\/sign_out$|settings\/export$|backups\/\d+\/download$)/;

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
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 2000).unref();
    });
}
