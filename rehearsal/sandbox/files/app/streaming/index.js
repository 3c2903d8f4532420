// STAND-IN of Mastodon's streaming server (mastodon-migration rehearsal sandbox), run as
// `node ./streaming`: loads ../.env.production like the real one (NODE_ENV=production), checks the
// database, then answers GET /api/v1/streaming/health with OK on 127.0.0.1:$PORT (default 4000).
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const live = path.resolve(__dirname, "..");
const log = msg => {
    try {
        fs.appendFileSync(path.join(live, "log", "standin.log"), `${new Date().toISOString()} pid=${process.pid} streaming: ${msg}\n`);
    } catch {
        /* evidence is best effort */
    }
};
const fail = msg => {
    console.error(`stand-in streaming: ${msg}`);
    log(`FAILED: ${msg}`);
    process.exit(1);
};

log(`node ./streaming ${process.argv.slice(2).join(" ")}`);
if (process.env.NODE_ENV !== "production") fail(`NODE_ENV must be 'production' (it is '${process.env.NODE_ENV || "unset"}')`);
const envFile = path.join(live, ".env.production");
let text;
try {
    text = fs.readFileSync(envFile, "utf8");
} catch (err) {
    fail(`${envFile}: ${err.code}`);
}
for (const line of text.split("\n")) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2].replace(/^(['"])(.*)\1$/, "$2");
}
const env = process.env;
const db = [
    "-X",
    "-q",
    "-At",
    "-h",
    env.DB_HOST || "localhost",
    "-p",
    env.DB_PORT || "5432",
    "-U",
    env.DB_USER || "mastodon",
    "-d",
    env.DB_NAME || "mastodon_production",
    "-c",
    "SELECT 1",
];
const check = spawnSync("psql", db, { env: { ...env, PGPASSWORD: env.DB_PASS || "", PGCONNECT_TIMEOUT: "5" }, encoding: "utf8" });
if (check.status !== 0) fail(`database unreachable: ${(check.stderr || "").trim()}`);

const port = Number(env.PORT || 4000);
const server = http.createServer((req, res) => {
    if (req.url === "/api/v1/streaming/health") {
        res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-store" });
        return res.end("OK");
    }
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: "Not found" }));
});
server.listen(port, env.BIND || "127.0.0.1", () => {
    log(`listening on ${env.BIND || "127.0.0.1"}:${port}`);
    console.log(`stand-in streaming: listening on ${port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => {
        log(`${sig}: shutting down`);
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 2000).unref();
    });
}
