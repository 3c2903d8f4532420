/**
 * Instance fingerprint (computed inside a host by one bash script) and parity comparison.
 * Covers every public table (rows + ordered content checksum), sequences, materialized views, the
 * schema shape, the media tree (sha256 + size + owner per file), every Redis key (type + canonical
 * content hash) and `.env.production` (sha256, mode, owner — never its contents).
 */
import { HostTarget, Run, psqlAsPostgres, redisCli, resolveTarget, runChecked, shQuote } from "./host";

export interface TablePrint {
    rows: number;
    checksum: string;
    owner: string;
}

export interface DbPrint {
    encoding: string;
    collate: string;
    /** md5 over columns, indexes, constraints and function bodies. */
    schemaHash: string;
    tables: Record<string, TablePrint>;
    sequences: Record<string, { lastValue: string; isCalled: boolean }>;
    /** Row count, or -1 when not populated. */
    matviews: Record<string, number>;
    /** md5 over the rows of each populated materialized view (order-independent). */
    matviewContents: Record<string, string>;
    /** Highest `id` of every table that has one. */
    maxIds: Record<string, string>;
    /** Rows left out by `excludeAbove`, per table. */
    above: Record<string, number>;
    /** Owner of the schema, of every sequence and of every function (`schema public`, `sequence x`, `function f(args)`). */
    owners: Record<string, string>;
}

export interface MediaPrint {
    sha256: string;
    size: number;
    owner: string;
    /** Octal permission bits, e.g. `644`. */
    mode: string;
}

/** Owner and octal mode of a directory of the media tree. */
export interface DirPrint {
    owner: string;
    mode: string;
}

export interface RedisPrint {
    type: string;
    /** sha1 of the canonical content (sorted for sets and hashes). */
    hash: string;
    /** Elements (1 for strings). */
    length: number;
    volatile: boolean;
}

export interface Fingerprint {
    db: DbPrint | null;
    /** Relative path under `public/system` → file print; null when the directory is absent. */
    media: Record<string, MediaPrint> | null;
    /** Relative path (`.` for `public/system` itself) → directory print; null when the tree is absent. */
    mediaDirs: Record<string, DirPrint> | null;
    /** Key → print; null when Redis was not inspected. */
    redis: Record<string, RedisPrint> | null;
    env: { sha256: string; mode: string; owner: string } | null;
}

export interface FingerprintOptions extends HostTarget {
    /** Inspect Redis too (default true). */
    redis?: boolean;
    /**
     * Rows left out of the table prints, by table: those with an `id` above the given one (the highest of the
     * source server at stop), i.e. what the target's own running app wrote after the move (ids grow with time).
     * How many were left out is printed (`above`), to be matched with the app's journal.
     */
    excludeAbove?: Record<string, string>;
    /**
     * `fresh`: materialized view contents as their query gives them now (what a restore, which refreshes them,
     * must produce); default `stored`: as stored.
     */
    matviews?: "stored" | "fresh";
}

const SQL = String.raw`
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
SELECT 'D', pg_encoding_to_char(encoding), datcollate FROM pg_database WHERE datname = current_database();
SELECT 'H', md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
  SELECT format('col %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, coalesce(column_default, '')) AS x
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT format('con %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT format('fn %s %s', proname, md5(prosrc)) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT format('mv %s %s', matviewname, md5(definition)) FROM pg_matviews WHERE schemaname = 'public'
) s;
SELECT format(
    'SELECT %L, %L, %L, count(*), md5(coalesce(string_agg(md5(t::text), %L ORDER BY %s), %L)) FROM %I.%I t %s',
    'T', c.relname, pg_get_userbyid(c.relowner), '', coalesce(pk.cols, 'md5(t::text)'), '', n.nspname, c.relname,
    CASE WHEN a.attname IS NOT NULL AND x.above IS NOT NULL THEN format('WHERE t.id <= %s', x.above) ELSE '' END)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
    SELECT string_agg(format('t.%I', a.attname), ', ' ORDER BY k.ord) AS cols
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = c.oid AND i.indisprimary
  ) pk ON true
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped
  LEFT JOIN pg_temp.parity_above x ON x.tbl = c.relname
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY c.relname \gexec
SELECT format('SELECT %L, %L, coalesce(max(id)::text, %L) FROM %I.%I', 'M', c.relname, '', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname \gexec
SELECT format('SELECT %L, %L, count(*) FROM %I.%I WHERE id > %s', 'X', x.tbl, 'public', x.tbl, x.above)
  FROM pg_temp.parity_above x JOIN pg_class c ON c.relname = x.tbl AND c.relnamespace = 'public'::regnamespace ORDER BY x.tbl \gexec
SELECT format('SELECT %L, %L, last_value, is_called FROM %I.%I', 'S', c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY c.relname \gexec
SELECT CASE WHEN ispopulated
         THEN format('SELECT %L, %L, count(*), md5(coalesce(string_agg(md5(t::text), %L ORDER BY md5(t::text)), %L)) FROM %s t',
                     'V', matviewname, '', '',
                     CASE WHEN :'matviews' = 'fresh' THEN '(' || rtrim(rtrim(definition), ';') || ')'
                          ELSE format('%I.%I', schemaname, matviewname) END)
         ELSE format('SELECT %L, %L, -1, %L', 'V', matviewname, '') END
  FROM pg_matviews WHERE schemaname = 'public' ORDER BY matviewname \gexec
SELECT 'O', 'schema public', pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public';
SELECT 'O', 'sequence ' || c.relname, pg_get_userbyid(c.relowner)
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S';
SELECT 'O', format('function %s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)), pg_get_userbyid(p.proowner)
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace;
`;

/** Returns one line per key: hex(key) type sha1(canonical content) length volatile|persistent. */
const REDIS_LUA = String.raw`
local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end
local function enc(list) local parts = {} for i, v in ipairs(list) do parts[i] = #v .. ':' .. v end return table.concat(parts, ',') end
local function pairs_sorted(flat)
  local items = {}
  for i = 1, #flat, 2 do items[#items + 1] = flat[i] .. '\0' .. flat[i + 1] end
  table.sort(items)
  return items
end
local out = {}
local keys = redis.call('KEYS', '*')
table.sort(keys)
for _, k in ipairs(keys) do
  local t = redis.call('TYPE', k)['ok']
  local body, n = '', 0
  if t == 'string' then body = redis.call('GET', k); n = 1
  elseif t == 'list' then local l = redis.call('LRANGE', k, 0, -1); body = enc(l); n = #l
  elseif t == 'set' then local m = redis.call('SMEMBERS', k); table.sort(m); body = enc(m); n = #m
  elseif t == 'zset' then local z = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'); body = enc(z); n = #z / 2
  elseif t == 'hash' then local h = pairs_sorted(redis.call('HGETALL', k)); body = enc(h); n = #h
  elseif t == 'stream' then
    local parts = {}
    for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do parts[#parts + 1] = e[1] .. '\0' .. enc(e[2]) end
    body = enc(parts); n = #parts
  end
  local ttl = redis.call('PTTL', k)
  out[#out + 1] = hex(k) .. ' ' .. t .. ' ' .. redis.sha1hex(body) .. ' ' .. n .. ' ' .. (ttl >= 0 and 'volatile' or 'persistent')
end
return table.concat(out, '\n')
`;

function heredoc(tag: string, body: string): string {
    return `<<'${tag}'\n${body.trim()}\n${tag}`;
}

/** The single bash script that prints the fingerprint as tagged lines. */
export function fingerprintScript(opts: FingerprintOptions = {}): string {
    const t = resolveTarget(opts);
    const above = Object.entries(opts.excludeAbove ?? {})
        .filter(([, id]) => /^\d+$/.test(id))
        .map(([table, id]) => `${table.replace(/[^a-z0-9_]/g, "")}\t${id}`);
    const excludeSql = [
        `\\set matviews ${opts.matviews === "fresh" ? "fresh" : "stored"}`,
        "CREATE TEMP TABLE parity_above (tbl text, above bigint);",
        ...(above.length > 0 ? ["COPY parity_above FROM stdin;", ...above, "\\."] : []),
    ].join("\n");
    const media = `${t.liveDir}/public/system`;
    const env = `${t.liveDir}/.env.production`;
    const exists = `SELECT 1 FROM pg_database WHERE datname = '${t.dbName.replace(/'/g, "''")}'`;
    const lines = [
        "set -euo pipefail",
        `if [ "$(${psqlAsPostgres(t, "postgres", `-At -c ${shQuote(exists)}`)})" = 1 ]; then`,
        `  ${psqlAsPostgres(t, t.dbName, `-At -F $'\\t' -f -`)} ${heredoc("FINGERPRINT_SQL", excludeSql + "\n" + SQL)}`,
        "else echo DB_ABSENT; fi",
        `if [ -d ${shQuote(media)} ]; then`,
        `  cd ${shQuote(media)}`,
        "  echo \"MEDIA_SIZES $(find . -type f -printf '%s %u %m %P\\0' | base64 -w0)\"",
        "  echo \"MEDIA_DIRS $(find . -type d -printf '%u %m %P\\0' | base64 -w0)\"",
        '  echo "MEDIA_HASHES $(find . -type f -print0 | xargs -0 -r sha256sum -z | base64 -w0)"',
        "  cd /",
        "else echo MEDIA_ABSENT; fi",
        `if [ -f ${shQuote(env)} ]; then`,
        `  echo "ENV $(sha256sum < ${shQuote(env)} | cut -c1-64) $(stat -c '%a %U' ${shQuote(env)})"`,
        "else echo ENV_ABSENT; fi",
    ];
    if (opts.redis ?? true) {
        lines.push(
            `LUA=$(cat ${heredoc("FINGERPRINT_LUA", REDIS_LUA)}\n)`,
            `REDIS_OUT=$(${redisCli(t)} --raw EVAL "$LUA" 0)`,
            'echo "REDIS $(printf %s "$REDIS_OUT" | base64 -w0)"',
        );
    }
    return lines.join("\n") + "\n";
}

function decodeB64(line: string, tag: string): Buffer {
    return Buffer.from(line.slice(tag.length + 1), "base64");
}

/** NUL-separated records from `find -printf '%s %u %m %P\0'` and `sha256sum -z`. */
function parseMedia(sizes: Buffer, hashes: Buffer): Record<string, MediaPrint> {
    const media: Record<string, MediaPrint> = {};
    for (const rec of sizes.toString("utf8").split("\0").filter(Boolean)) {
        const m = /^(\d+) (\S+) ([0-7]+) ([\s\S]*)$/.exec(rec);
        if (!m) throw new Error(`bad media size record: ${JSON.stringify(rec)}`);
        media[m[4] as string] = { size: Number(m[1]), owner: m[2] as string, mode: m[3] as string, sha256: "" };
    }
    for (const rec of hashes.toString("utf8").split("\0").filter(Boolean)) {
        const m = /^([0-9a-f]{64}) [ *]\.\/([\s\S]*)$/.exec(rec);
        if (!m) throw new Error(`bad media hash record: ${JSON.stringify(rec)}`);
        const entry = media[m[2] as string];
        if (entry) entry.sha256 = m[1] as string; // else written by a running app between the two scans
    }
    // A file seen by one scan only came or went while the app ran: it is not part of the print.
    for (const [rel, entry] of Object.entries(media)) if (!entry.sha256) delete media[rel];
    return media;
}

/** NUL-separated records from `find -type d -printf '%u %m %P\0'`. */
function parseDirs(records: Buffer): Record<string, DirPrint> {
    const dirs: Record<string, DirPrint> = {};
    for (const rec of records.toString("utf8").split("\0").filter(Boolean)) {
        const m = /^(\S+) ([0-7]+) ?([\s\S]*)$/.exec(rec);
        if (!m) throw new Error(`bad media directory record: ${JSON.stringify(rec)}`);
        dirs[m[3] || "."] = { owner: m[1] as string, mode: m[2] as string };
    }
    return dirs;
}

function parseRedis(text: string): Record<string, RedisPrint> {
    const redis: Record<string, RedisPrint> = {};
    for (const line of text.split("\n").filter(Boolean)) {
        const m = /^([0-9a-f]*) (\w+) ([0-9a-f]{40}) (\d+) (volatile|persistent)$/.exec(line);
        if (!m) throw new Error(`unexpected redis fingerprint line: ${line.slice(0, 200)}`);
        redis[Buffer.from(m[1] as string, "hex").toString("utf8")] = {
            type: m[2] as string,
            hash: m[3] as string,
            length: Number(m[4]),
            volatile: m[5] === "volatile",
        };
    }
    return redis;
}

function emptyDb(): DbPrint {
    return {
        encoding: "",
        collate: "",
        schemaHash: "",
        tables: {},
        sequences: {},
        matviews: {},
        matviewContents: {},
        owners: {},
        maxIds: {},
        above: {},
    };
}

/** Applies one tab-separated psql line (tags D, H, T, S, V) to the db print. */
function parseDbLine(db: DbPrint, fields: string[]): void {
    const [tag, a = "", b = "", c = "", d = ""] = fields;
    if (tag === "D") Object.assign(db, { encoding: a, collate: b });
    else if (tag === "H") db.schemaHash = a;
    else if (tag === "T") db.tables[a] = { owner: b, rows: Number(c), checksum: d };
    else if (tag === "S") db.sequences[a] = { lastValue: b, isCalled: c === "t" };
    else if (tag === "V") {
        db.matviews[a] = Number(b);
        if (c) db.matviewContents[a] = c;
    } else if (tag === "O") db.owners[a] = b;
    else if (tag === "M") db.maxIds[a] = b;
    else if (tag === "X") db.above[a] = Number(b);
    else throw new Error(`unexpected fingerprint line: ${fields.join("\t").slice(0, 200)}`);
}

export function parseFingerprint(stdout: string): Fingerprint {
    const fp: Fingerprint = { db: null, media: null, mediaDirs: null, redis: null, env: null };
    let sizes: Buffer | null = null;
    for (const line of stdout.split("\n").filter(Boolean)) {
        const word = line.split(/[ \t]/, 1)[0];
        if (word === "DB_ABSENT" || word === "MEDIA_ABSENT" || word === "ENV_ABSENT") continue;
        if (word === "MEDIA_SIZES") sizes = decodeB64(line, word);
        else if (word === "MEDIA_DIRS") fp.mediaDirs = parseDirs(decodeB64(line, word));
        else if (word === "MEDIA_HASHES") fp.media = parseMedia(sizes ?? Buffer.alloc(0), decodeB64(line, word));
        else if (word === "REDIS") fp.redis = parseRedis(decodeB64(line, word).toString("utf8"));
        else if (word === "ENV") {
            const [, sha256 = "", mode = "", owner = ""] = line.split(" ");
            fp.env = { sha256, mode, owner };
        } else parseDbLine((fp.db ??= emptyDb()), line.split("\t"));
    }
    return fp;
}

/** Runs the fingerprint script inside the host and parses its output. */
export function fingerprint(run: Run, opts: FingerprintOptions = {}): Fingerprint {
    const result = runChecked(run, "fingerprint", fingerprintScript(opts));
    return parseFingerprint(result.stdout);
}

// ---------------------------------------------------------------- comparison

export interface Comparison {
    identical: boolean;
    differences: string[];
}

type Diff = (msg: string) => void;

function show(name: string): string {
    return /^[\x21-\x7e]+$/.test(name) ? name : JSON.stringify(name);
}

/** Compares two keyed maps: missing/extra keys and, for shared keys, fields via `fields`. */
function compareMaps<T>(label: string, a: Record<string, T>, b: Record<string, T>, diff: Diff, fields: (x: T, y: T) => string[]): void {
    for (const key of Object.keys(a).sort()) {
        const y = b[key];
        if (y === undefined) diff(`${label} ${show(key)}: missing on second`);
        else for (const what of fields(a[key] as T, y)) diff(`${label} ${show(key)}: ${what}`);
    }
    for (const key of Object.keys(b).sort()) if (!(key in a)) diff(`${label} ${show(key)}: only on second`);
}

function fieldDiffs<T extends object>(x: T, y: T, keys: (keyof T)[]): string[] {
    return keys.filter(k => x[k] !== y[k]).map(k => `${String(k)} ${String(x[k])} != ${String(y[k])}`);
}

function presence(label: string, a: unknown, b: unknown, diff: Diff): boolean {
    if (a === null && b === null) return false;
    if (a === null || b === null) {
        diff(`${label}: ${a === null ? "absent on first" : "absent on second"}`);
        return false;
    }
    return true;
}

function compareDb(a: DbPrint | null, b: DbPrint | null, diff: Diff): void {
    if (!presence("database", a, b, diff) || !a || !b) return;
    for (const what of fieldDiffs(a, b, ["encoding", "collate"])) diff(`database ${what}`);
    if (a.schemaHash !== b.schemaHash) diff("database schema (columns/indexes/constraints/functions) differs");
    compareMaps("table", a.tables, b.tables, diff, (x, y) =>
        fieldDiffs(x, y, ["rows", "owner"]).concat(x.rows === y.rows && x.checksum !== y.checksum ? ["content checksum differs"] : []),
    );
    compareMaps("sequence", a.sequences, b.sequences, diff, (x, y) => fieldDiffs(x, y, ["lastValue", "isCalled"]));
    compareMaps("matview", a.matviews, b.matviews, diff, (x, y) => (x !== y ? [`rows ${x} != ${y}`] : []));
    for (const [name, sum] of Object.entries(a.matviewContents ?? {})) {
        const other = b.matviewContents?.[name];
        if (other !== undefined && other !== sum && a.matviews[name] === b.matviews[name]) diff(`matview ${name}: content differs`);
    }
    compareMaps("owner of", a.owners ?? {}, b.owners ?? {}, diff, (x, y) => (x !== y ? [`${x} != ${y}`] : []));
}

function compareMedia(a: Fingerprint["media"], b: Fingerprint["media"], diff: Diff): void {
    if (!presence("media tree", a, b, diff) || !a || !b) return;
    compareMaps("media", a, b, diff, (x, y) =>
        fieldDiffs(x, y, ["size", "owner", "mode"]).concat(x.size === y.size && x.sha256 !== y.sha256 ? ["sha256 differs"] : []),
    );
}

function compareDirs(a: Fingerprint["mediaDirs"], b: Fingerprint["mediaDirs"], diff: Diff): void {
    if (!a || !b) return; // absence is reported by the media tree
    compareMaps("media directory", a, b, diff, (x, y) => fieldDiffs(x, y, ["owner", "mode"]));
}

function compareRedis(a: Fingerprint["redis"], b: Fingerprint["redis"], diff: Diff): void {
    if (!presence("redis", a, b, diff) || !a || !b) return;
    compareMaps("redis key", a, b, diff, (x, y) =>
        fieldDiffs(x, y, ["type", "length", "volatile"]).concat(
            x.type === y.type && x.length === y.length && x.hash !== y.hash ? ["content differs"] : [],
        ),
    );
}

function compareEnv(a: Fingerprint["env"], b: Fingerprint["env"], diff: Diff): void {
    if (!presence(".env.production", a, b, diff) || !a || !b) return;
    if (a.sha256 !== b.sha256) diff(".env.production: content differs");
    for (const what of fieldDiffs(a, b, ["mode", "owner"])) diff(`.env.production ${what}`);
}

export function compareFingerprints(a: Fingerprint, b: Fingerprint): Comparison {
    const differences: string[] = [];
    const diff: Diff = msg => differences.push(msg);
    compareDb(a.db, b.db, diff);
    compareMedia(a.media, b.media, diff);
    compareDirs(a.mediaDirs ?? null, b.mediaDirs ?? null, diff);
    compareRedis(a.redis, b.redis, diff);
    compareEnv(a.env, b.env, diff);
    return { identical: differences.length === 0, differences };
}

// ---------------------------------------------------------------- report

export interface FingerprintTotals {
    tables: number;
    rows: number;
    sequences: number;
    matviewRows: number;
    mediaFiles: number;
    mediaBytes: number;
    redisKeys: number;
}

export function totals(fp: Fingerprint): FingerprintTotals {
    const tables = Object.values(fp.db?.tables ?? {});
    const media = Object.values(fp.media ?? {});
    return {
        tables: tables.length,
        rows: tables.reduce((s, t) => s + t.rows, 0),
        sequences: Object.keys(fp.db?.sequences ?? {}).length,
        matviewRows: Object.values(fp.db?.matviews ?? {}).reduce((s, n) => s + Math.max(0, n), 0),
        mediaFiles: media.length,
        mediaBytes: media.reduce((s, m) => s + m.size, 0),
        redisKeys: Object.keys(fp.redis ?? {}).length,
    };
}

function mib(bytes: number): string {
    return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function matches(differences: string[], prefixes: string[]): string {
    return differences.some(d => prefixes.some(p => d.startsWith(p))) ? "DIFF" : "ok";
}

/** A compact table: what was checked on each side and whether it matched, then the differences. */
export function formatParityReport(
    a: Fingerprint,
    b: Fingerprint,
    opts: { labels?: [string, string]; maxDifferences?: number } = {},
): string {
    const [la, lb] = opts.labels ?? ["source", "target"];
    const cmp = compareFingerprints(a, b);
    const ta = totals(a);
    const tb = totals(b);
    const n = (x: number): string => x.toLocaleString("en-US");
    const envCell = (fp: Fingerprint): string => (fp.env ? `${fp.env.sha256.slice(0, 12)}… ${fp.env.mode} ${fp.env.owner}` : "absent");
    const rows: [string, string, string, string][] = [
        [
            "tables",
            `${ta.tables} (${n(ta.rows)} rows)`,
            `${tb.tables} (${n(tb.rows)} rows)`,
            matches(cmp.differences, ["table", "database"]),
        ],
        ["sequences", `${ta.sequences}`, `${tb.sequences}`, matches(cmp.differences, ["sequence"])],
        ["matviews", `${n(ta.matviewRows)} rows`, `${n(tb.matviewRows)} rows`, matches(cmp.differences, ["matview"])],
        [
            "owners (schema, sequences, functions)",
            `${Object.keys(a.db?.owners ?? {}).length}`,
            `${Object.keys(b.db?.owners ?? {}).length}`,
            matches(cmp.differences, ["owner of"]),
        ],
        [
            "media files",
            `${n(ta.mediaFiles)} (${mib(ta.mediaBytes)})`,
            `${n(tb.mediaFiles)} (${mib(tb.mediaBytes)})`,
            matches(cmp.differences, ["media "]),
        ],
        [
            "media directories (owner, mode)",
            `${n(Object.keys(a.mediaDirs ?? {}).length)}`,
            `${n(Object.keys(b.mediaDirs ?? {}).length)}`,
            matches(cmp.differences, ["media directory", "media tree"]),
        ],
        [
            "redis keys",
            a.redis ? n(ta.redisKeys) : "not checked",
            b.redis ? n(tb.redisKeys) : "not checked",
            matches(cmp.differences, ["redis"]),
        ],
        [".env.production", envCell(a), envCell(b), matches(cmp.differences, [".env"])],
    ];
    const header: [string, string, string, string] = ["check", la, lb, "match"];
    const widths = [0, 1, 2, 3].map(i => Math.max(...[header, ...rows].map(r => r[i]?.length ?? 0)));
    const fmt = (r: string[]): string =>
        r
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd();
    const max = opts.maxDifferences ?? 20;
    const lines = [fmt(header), fmt(widths.map(w => "-".repeat(w))), ...rows.map(fmt)];
    lines.push(cmp.identical ? "PARITY: identical" : `PARITY: ${cmp.differences.length} difference(s)`);
    lines.push(...cmp.differences.slice(0, max).map(d => `  - ${d}`));
    if (cmp.differences.length > max) lines.push(`  … and ${cmp.differences.length - max} more`);
    return lines.join("\n");
}
