#!/usr/bin/env node
// STAND-IN search engine (mastodon-migration rehearsal sandbox): NOT Elasticsearch. Debian has no
// Elasticsearch or OpenSearch package, so this small HTTP server answers the part of the Elasticsearch 7
// REST API that the migration program and the stand-in `tootctl search deploy` use, on 127.0.0.1:9200:
//   GET  /                          name, cluster name, version 7.17 (like Elasticsearch 7.17)
//   GET  /_cluster/health           status green (yellow with an index holding replicas on one node)
//   PUT  /<index>                   create (400 resource_already_exists_exception when it exists)
//   DELETE /<index>                 delete (404 index_not_found_exception when it does not)
//   HEAD /<index>                   200 or 404
//   POST|PUT /<index>/_bulk, /_bulk NDJSON index/create/delete actions (the index must exist)
//   GET|POST /<index>/_count        {"count": n}, optionally {"query":{"range":{"<field>":{"lte":n}}}}
//   POST /<index>/_refresh          (documents are visible at once here)
// Anything else answers 400 or 404 like Elasticsearch does. With ES_STANDIN_USER/ES_STANDIN_PASS set,
// every request needs that HTTP basic auth (401 otherwise). Documents are kept in memory and written
// to $ES_STANDIN_DATA/indices.json once changes pause and on SIGTERM, so a restart keeps them.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");

const port = Number(process.env.ES_STANDIN_PORT || 9200);
const host = process.env.ES_STANDIN_HOST || "127.0.0.1";
const dataDir = process.env.ES_STANDIN_DATA || "/var/lib/elasticsearch";
const dataFile = path.join(dataDir, "indices.json");
const auth = process.env.ES_STANDIN_USER
    ? "Basic " + Buffer.from(`${process.env.ES_STANDIN_USER}:${process.env.ES_STANDIN_PASS || ""}`).toString("base64")
    : undefined;

/** index name -> { settings, docs: { id: source } } */
let indices = {};
try {
    indices = JSON.parse(fs.readFileSync(dataFile, "utf8"));
} catch (e) {
    if (e.code !== "ENOENT") throw e;
}
function flush() {
    clearTimeout(pending);
    pending = undefined;
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(dataFile + ".tmp", JSON.stringify(indices));
    fs.renameSync(dataFile + ".tmp", dataFile);
}
// Written once changes pause (a bulk import is many requests), and on SIGTERM before exiting.
let pending;
function persist() {
    clearTimeout(pending);
    pending = setTimeout(flush, 500);
}
process.on("SIGTERM", () => {
    flush();
    process.exit(0);
});

function log(line) {
    process.stdout.write(`${new Date().toISOString()} stand-in search engine: ${line}\n`);
}

function send(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
}
const error = (res, status, type, reason, index) =>
    send(res, status, { error: { root_cause: [{ type, reason, index }], type, reason, index }, status });
const noIndex = (res, index) => error(res, 404, "index_not_found_exception", `no such index [${index}]`, index);
const validIndex = name => /^[a-z0-9][a-z0-9_.-]*$/.test(name) && !name.startsWith("_");

function health() {
    const names = Object.keys(indices);
    // One node: replicas can never be assigned, so an index that asks for them leaves the cluster yellow.
    const unassigned = names.reduce((n, i) => n + Number(indices[i].settings?.index?.number_of_replicas ?? 1), 0);
    return {
        cluster_name: "mastodon-sandbox",
        status: unassigned > 0 ? "yellow" : "green",
        timed_out: false,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
        active_primary_shards: names.length,
        active_shards: names.length,
        unassigned_shards: unassigned,
        standin: true,
    };
}

function bulk(res, defaultIndex, body) {
    const lines = body.split("\n").filter(l => l.trim() !== "");
    const items = [];
    let errors = false;
    for (let i = 0; i < lines.length; i++) {
        let action;
        try {
            action = JSON.parse(lines[i]);
        } catch {
            return error(res, 400, "parse_exception", `malformed action/metadata line [${i + 1}]`);
        }
        const [op] = Object.keys(action);
        const meta = action[op] || {};
        if (!["index", "create", "delete"].includes(op))
            return error(res, 400, "illegal_argument_exception", `Malformed action/metadata line [${i + 1}], unknown action [${op}]`);
        const index = meta._index || defaultIndex;
        if (!index) return error(res, 400, "action_request_validation_exception", "Validation Failed: 1: index is missing;");
        let source;
        if (op !== "delete") {
            i++;
            try {
                source = JSON.parse(lines[i]);
            } catch {
                return error(res, 400, "parse_exception", `malformed document line [${i + 1}]`);
            }
        }
        if (!indices[index]) {
            errors = true;
            items.push({ [op]: { _index: index, _id: meta._id, status: 404, error: { type: "index_not_found_exception" } } });
            continue;
        }
        const docs = indices[index].docs;
        const id = meta._id === undefined ? `auto-${Object.keys(docs).length + 1}` : String(meta._id);
        if (op === "create" && docs[id]) {
            errors = true;
            items.push({ create: { _index: index, _id: id, status: 409, error: { type: "version_conflict_engine_exception" } } });
        } else if (op === "delete") {
            const found = docs[id] !== undefined;
            delete docs[id];
            items.push({ delete: { _index: index, _id: id, status: found ? 200 : 404, result: found ? "deleted" : "not_found" } });
        } else {
            const created = docs[id] === undefined;
            docs[id] = source;
            items.push({ [op]: { _index: index, _id: id, status: created ? 201 : 200, result: created ? "created" : "updated" } });
        }
    }
    persist();
    send(res, 200, { took: 1, errors, items });
}

function count(res, index, body) {
    if (!indices[index]) return noIndex(res, index);
    let docs = Object.values(indices[index].docs);
    if (body.trim() !== "") {
        let query;
        try {
            query = JSON.parse(body).query;
        } catch {
            return error(res, 400, "parse_exception", "request body is not valid JSON");
        }
        if (query && !(query.match_all || query.range))
            return error(res, 400, "parsing_exception", `stand-in: only match_all and range queries are implemented`);
        if (query?.range) {
            const [field] = Object.keys(query.range);
            const { lte, gte } = query.range[field];
            docs = docs.filter(
                d => (lte === undefined || BigInt(d[field]) <= BigInt(lte)) && (gte === undefined || BigInt(d[field]) >= BigInt(gte)),
            );
        }
    }
    send(res, 200, { count: docs.length, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } });
}

const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", chunk => (body += chunk));
    req.on("end", () => {
        const url = new URL(req.url, "http://localhost");
        const parts = url.pathname.split("/").filter(Boolean);
        const m = req.method;
        log(`${m} ${url.pathname} (${body.length} bytes)`);
        if (auth && req.headers.authorization !== auth) {
            res.setHeader("www-authenticate", 'Basic realm="security" charset="UTF-8"');
            return error(res, 401, "security_exception", "missing authentication credentials for REST request");
        }
        if (m === "GET" && parts.length === 0)
            return send(res, 200, {
                name: "mastodon-sandbox-node",
                cluster_name: "mastodon-sandbox",
                version: { number: "7.17.0", distribution: "stand-in" },
                tagline: "You Know, for Search (stand-in of the mastodon-migration rehearsal sandbox)",
            });
        if (m === "GET" && url.pathname === "/_cluster/health") return send(res, 200, health());
        if (parts.length === 1 && parts[0] === "_bulk" && (m === "POST" || m === "PUT")) return bulk(res, undefined, body);
        if (parts.length >= 1 && !parts[0].startsWith("_")) {
            const index = parts[0];
            if (!validIndex(index)) return error(res, 400, "invalid_index_name_exception", `Invalid index name [${index}]`, index);
            if (parts.length === 1) {
                if (m === "HEAD") return res.writeHead(indices[index] ? 200 : 404).end();
                if (m === "PUT") {
                    if (indices[index])
                        return error(res, 400, "resource_already_exists_exception", `index [${index}] already exists`, index);
                    let settings = {};
                    try {
                        settings = body.trim() ? (JSON.parse(body).settings ?? {}) : {};
                    } catch {
                        return error(res, 400, "parse_exception", "request body is not valid JSON");
                    }
                    indices[index] = { settings, docs: {} };
                    persist();
                    return send(res, 200, { acknowledged: true, shards_acknowledged: true, index });
                }
                if (m === "DELETE") {
                    if (!indices[index]) return noIndex(res, index);
                    delete indices[index];
                    persist();
                    return send(res, 200, { acknowledged: true });
                }
            }
            if (parts.length === 2 && parts[1] === "_bulk" && (m === "POST" || m === "PUT")) return bulk(res, index, body);
            if (parts.length === 2 && parts[1] === "_count" && (m === "GET" || m === "POST")) return count(res, index, body);
            if (parts.length === 2 && parts[1] === "_refresh" && m === "POST") {
                if (!indices[index]) return noIndex(res, index);
                return send(res, 200, { _shards: { total: 1, successful: 1, failed: 0 } });
            }
        }
        error(res, 400, "illegal_argument_exception", `stand-in search engine: ${m} ${url.pathname} is not implemented`);
    });
});
server.listen(port, host, () => log(`listening on ${host}:${port} (data ${dataFile})`));
