/**
 * Synthetic Mastodon instance generator: PostgreSQL schema + COPY data, a `public/system` media tree,
 * Redis contents (RESP for `redis-cli --pipe`) and `.env.production`. Deterministic for a seed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALT_TEXTS, DISPLAY_NAMES, EXOTIC_FILE_NAMES, HASHTAGS, NOTES, REMOTE_DOMAINS, SENTENCES, USERNAME_STEMS } from "./corpus";
import { renderEnv } from "./env";
import { writeRedis } from "./redis-data";
import { MORE_CONSTRAINTS_SQL, MORE_TABLES_SQL, writeMoreTables } from "./more-tables";
import { Account, BASE_MS, Model, YEAR_MS, idPartition, snowflake, toTimestamp } from "./model";
import { Rng } from "./rng";
import { postDataSql, preDataSql } from "./schema";
import { CopyWriter, FileSink } from "./writers";

export type SizeName = "tiny" | "default" | "large" | "xl";

export interface SizeSpec {
    accounts: number;
    statuses: number;
    /** Number of media_attachments rows; each has an `original` and a `small` file. */
    mediaFiles: number;
    follows?: number;
    /** Approximate total bytes of the media tree. */
    mediaBytes?: number;
    /** Fraction of accounts that are local (domain NULL, with a users row). */
    localRatio?: number;
    /** Entries per home feed in Redis. */
    feedMax?: number;
    pendingBackups?: number;
    processedBackups?: number;
}

export const SIZES: Record<SizeName, Required<SizeSpec>> = {
    tiny: {
        accounts: 30,
        statuses: 300,
        mediaFiles: 12,
        follows: 120,
        mediaBytes: 400_000,
        localRatio: 0.35,
        feedMax: 20,
        pendingBackups: 2,
        processedBackups: 2,
    },
    default: {
        accounts: 3000,
        statuses: 80_000,
        mediaFiles: 500,
        follows: 30_000,
        mediaBytes: 30_000_000,
        localRatio: 0.3,
        feedMax: 100,
        pendingBackups: 3,
        processedBackups: 5,
    },
    large: {
        accounts: 30_000,
        statuses: 800_000,
        mediaFiles: 5000,
        follows: 300_000,
        mediaBytes: 300_000_000,
        localRatio: 0.3,
        feedMax: 200,
        pendingBackups: 5,
        processedBackups: 20,
    },
    /** The bench's biggest: a database over 1 GB, over 20,000 media files. */
    xl: {
        accounts: 50_000,
        statuses: 2_000_000,
        mediaFiles: 5000,
        follows: 500_000,
        mediaBytes: 300_000_000,
        localRatio: 0.3,
        feedMax: 200,
        pendingBackups: 5,
        processedBackups: 40,
    },
};

export interface GenerateOptions {
    size: SizeName | SizeSpec;
    seed?: number;
    domain: string;
    /** Where artefacts go (created if missing; its `public/` is replaced). Default: a new temp dir. */
    outDir?: string;
}

export interface InstanceSummary {
    accounts: number;
    localAccounts: number;
    users: number;
    statuses: number;
    mediaAttachments: number;
    follows: number;
    backups: number;
    pendingBackups: number;
    /** Regular files under public/system. */
    mediaFiles: number;
    mediaBytes: number;
    redisKeys: number;
    redisCommands: number;
    sqlBytes: number;
    /** Row counts per table, as loaded. */
    tables: Record<string, number>;
    sequences: Record<string, number>;
}

export interface InstanceBundle {
    dir: string;
    seed: number;
    domain: string;
    paths: {
        /** Functions, sequences, tables, materialized view. */
        schemaSql: string;
        /** COPY blocks and setval() calls. */
        dataSql: string;
        /** Primary keys, indexes, foreign keys. */
        constraintsSql: string;
        /** Directory that contains `system/` (i.e. Mastodon's `public/`). */
        publicDir: string;
        redisResp: string;
        envFile: string;
    };
    /** Every secret value written to .env.production. */
    secrets: string[];
    summary: InstanceSummary;
}

interface MediaFile {
    rel: string;
    size: number;
    kind: string;
}

export function resolveSize(size: SizeName | SizeSpec): Required<SizeSpec> {
    if (typeof size === "string") return SIZES[size];
    const scale = size.statuses / SIZES.default.statuses;
    return {
        follows: Math.round(size.accounts * 10),
        mediaBytes: size.mediaFiles * 60_000,
        localRatio: 0.3,
        feedMax: 100,
        pendingBackups: 3,
        processedBackups: Math.max(1, Math.round(5 * scale)),
        ...size,
    };
}

function statusText(rng: Rng): { text: string; lang: string } {
    const first = rng.pick(SENTENCES);
    const parts = [first.text];
    if (rng.chance(0.4)) parts.push(rng.pick(SENTENCES).text);
    if (rng.chance(0.3)) parts.push(rng.pick(HASHTAGS));
    return { text: parts.join(" "), lang: first.lang };
}

function writeAccounts(sink: FileSink, rng: Rng, spec: Required<SizeSpec>, domain: string, files: MediaFile[]): Account[] {
    const cols = [
        "id",
        "username",
        "domain",
        "display_name",
        "note",
        "uri",
        "url",
        "locked",
        "discoverable",
        "avatar_file_name",
        "avatar_content_type",
        "avatar_file_size",
        "avatar_updated_at",
        "created_at",
        "updated_at",
    ];
    const copy = new CopyWriter(sink, "accounts", cols);
    const accounts: Account[] = [];
    const start = BASE_MS - 2 * YEAR_MS;
    const step = YEAR_MS / spec.accounts;
    for (let i = 0; i < spec.accounts; i++) {
        const createdMs = Math.floor(start + i * step + rng.next() * (step - 1));
        const isLocal = i === 0 || rng.chance(spec.localRatio);
        const acct: Account = {
            id: snowflake(createdMs, rng.int(0, 0xffff)),
            username: `${rng.pick(USERNAME_STEMS)}${i}`,
            domain: isLocal ? null : rng.pick(REMOTE_DOMAINS),
            createdMs,
        };
        accounts.push(acct);
        const host = acct.domain ?? domain;
        const avatar = planAvatar(rng, acct, files);
        copy.row([
            acct.id,
            acct.username,
            acct.domain,
            rng.pick(DISPLAY_NAMES),
            rng.pick(NOTES),
            isLocal ? "" : `https://${host}/users/${acct.username}`,
            `https://${host}/@${acct.username}`,
            rng.chance(0.1),
            rng.chance(0.7),
            avatar?.name ?? null,
            avatar ? "image/png" : null,
            avatar?.size ?? null,
            avatar ? toTimestamp(createdMs + 1000) : null,
            toTimestamp(createdMs),
            toTimestamp(createdMs + rng.int(0, 1e9)),
        ]);
    }
    copy.end();
    return accounts;
}

function writeUsers(sink: FileSink, rng: Rng, model: Model): number {
    const cols = [
        "id",
        "email",
        "created_at",
        "updated_at",
        "encrypted_password",
        "sign_in_count",
        "current_sign_in_at",
        "last_sign_in_at",
        "confirmed_at",
        "locale",
        "otp_secret",
        "otp_required_for_login",
        "account_id",
        "disabled",
        "approved",
    ];
    const copy = new CopyWriter(sink, "users", cols);
    model.local.forEach((accountIndex, i) => {
        const a = model.accounts[accountIndex] as Account;
        const signIn = BASE_MS - rng.int(0, 90) * 86_400_000;
        const twoFactor = rng.chance(0.2);
        copy.row([
            i + 1,
            `${a.username}@example.${rng.pick(["org", "net", "fr", "jp"])}`,
            toTimestamp(a.createdMs),
            toTimestamp(signIn),
            `$2a$10$${rng.hex(53)}`,
            rng.int(1, 500),
            toTimestamp(signIn),
            toTimestamp(signIn - 86_400_000),
            toTimestamp(a.createdMs + 60_000),
            rng.pick(["en", "fr", "ja", null]),
            twoFactor ? rng.hex(32) : null,
            twoFactor,
            a.id,
            rng.chance(0.02),
            true,
        ]);
    });
    copy.end();
    return copy.rows;
}

function writeStatuses(sink: FileSink, rng: Rng, spec: Required<SizeSpec>, model: Model): void {
    const cols = [
        "id",
        "uri",
        "text",
        "created_at",
        "updated_at",
        "in_reply_to_id",
        "reblog_of_id",
        "url",
        "sensitive",
        "visibility",
        "spoiler_text",
        "reply",
        "language",
        "account_id",
        "local",
        "deleted_at",
    ];
    const copy = new CopyWriter(sink, "statuses", cols);
    const start = BASE_MS - YEAR_MS;
    const step = Math.max(2, Math.floor(YEAR_MS / spec.statuses));
    const originals: number[] = [];
    for (let i = 0; i < spec.statuses; i++) {
        const ms = start + i * step + rng.int(0, step - 1);
        const ai = rng.skewed(model.accounts.length);
        const a = model.accounts[ai] as Account;
        const id = snowflake(ms, rng.int(0, 0xffff));
        model.statusIds.push(id);
        model.statusAccount[i] = ai;
        (model.byAccount[ai] as number[]).push(i);
        const host = a.domain ?? model.domain;
        const reblogOf = originals.length > 10 && rng.chance(0.1) ? model.statusIds[rng.pick(originals)] : null;
        const replyTo = !reblogOf && originals.length > 10 && rng.chance(0.15) ? model.statusIds[rng.pick(originals)] : null;
        const sensitive = !reblogOf && rng.chance(0.05);
        const { text, lang } = reblogOf ? { text: "", lang: null } : statusText(rng);
        copy.row([
            id,
            `https://${host}/users/${a.username}/statuses/${id}`,
            text,
            toTimestamp(ms),
            toTimestamp(ms),
            replyTo ?? null,
            reblogOf ?? null,
            reblogOf ? null : `https://${host}/@${a.username}/${id}`,
            sensitive,
            reblogOf ? 0 : rng.pick([0, 0, 0, 1, 1, 2, 3]),
            sensitive ? "CW: spoilers ⚠️" : "",
            replyTo !== null,
            lang,
            a.id,
            a.domain === null,
            rng.chance(0.01) ? toTimestamp(ms + 3_600_000) : null,
        ]);
        if (!reblogOf) originals.push(i);
    }
    copy.end();
}

function writeFollows(sink: FileSink, rng: Rng, spec: Required<SizeSpec>, model: Model): number {
    const copy = new CopyWriter(sink, "follows", [
        "id",
        "created_at",
        "updated_at",
        "account_id",
        "target_account_id",
        "show_reblogs",
        "uri",
        "notify",
    ]);
    const n = model.accounts.length;
    const seen = new Set<number>();
    const wanted = Math.min(spec.follows, Math.floor(n * (n - 1) * 0.5));
    for (let attempts = 0; copy.rows < wanted && attempts < wanted * 20; attempts++) {
        const from = rng.chance(0.7) ? rng.pick(model.local) : rng.int(0, n - 1);
        const to = rng.chance(0.5) ? rng.skewed(n, 2) : rng.int(0, n - 1);
        const a = model.accounts[from] as Account;
        const b = model.accounts[to] as Account;
        if (from === to || (a.domain !== null && b.domain !== null) || seen.has(from * n + to)) continue;
        seen.add(from * n + to);
        const list = model.following.get(from) ?? [];
        list.push(to);
        model.following.set(from, list);
        const ms = Math.max(a.createdMs, b.createdMs) + rng.int(0, 1e9);
        copy.row([
            copy.rows + 1,
            toTimestamp(ms),
            toTimestamp(ms),
            a.id,
            b.id,
            rng.chance(0.9),
            `https://${a.domain ?? model.domain}/${rng.hex(32)}`,
            rng.chance(0.05),
        ]);
    }
    copy.end();
    return copy.rows;
}

const MEDIA_TYPES = [
    { ext: "jpg", mime: "image/jpeg", type: 0, weight: 6 },
    { ext: "png", mime: "image/png", type: 0, weight: 3 },
    { ext: "gif", mime: "image/gif", type: 1, weight: 1 },
    { ext: "mp4", mime: "video/mp4", type: 2, weight: 1 },
];

/** Lognormal-ish weights scaled to sum to `total`, each at least `min`. */
function spreadSizes(rng: Rng, count: number, total: number, min: number): number[] {
    const weights = Array.from({ length: count }, () => Math.exp(rng.gauss() * 0.8));
    const sum = weights.reduce((s, w) => s + w, 0) || 1;
    return weights.map(w => Math.max(min, Math.round((w / sum) * total)));
}

function mediaName(rng: Rng, index: number, ext: string): string {
    const exotic = EXOTIC_FILE_NAMES[index];
    if (exotic !== undefined) return exotic;
    return `${rng.hex(16)}.${ext}`;
}

function writeMedia(sink: FileSink, rng: Rng, spec: Required<SizeSpec>, model: Model, budget: number, files: MediaFile[]): number {
    const cols = [
        "id",
        "status_id",
        "file_file_name",
        "file_content_type",
        "file_file_size",
        "file_updated_at",
        "remote_url",
        "created_at",
        "updated_at",
        "shortcode",
        "type",
        "file_meta",
        "account_id",
        "description",
        "blurhash",
    ];
    const copy = new CopyWriter(sink, "media_attachments", cols);
    const statusPicks = Array.from({ length: spec.mediaFiles }, () => rng.int(0, model.statusIds.length - 1)).sort((x, y) => x - y);
    const sizes = spreadSizes(rng, spec.mediaFiles, budget / 1.125, 2048);
    const legacy = Math.floor(spec.mediaFiles * 0.1);
    const usedIds = new Set<string>();
    const types = MEDIA_TYPES.flatMap(t => Array<typeof t>(t.weight).fill(t));
    statusPicks.forEach((si, k) => {
        const a = model.accounts[model.statusAccount[si] as number] as Account;
        const ms = Number(BigInt(model.statusIds[si] as string) >> 16n);
        let id = k < legacy ? String(k + 1) : snowflake(ms, rng.int(0, 0xffff));
        while (usedIds.has(id)) id = snowflake(ms, rng.int(0, 0xffff));
        usedIds.add(id);
        const picked = rng.pick(types);
        const name = mediaName(rng, k, picked.ext);
        const t = MEDIA_TYPES.find(m => name.endsWith(`.${m.ext}`)) ?? picked;
        const size = sizes[k] as number;
        const base = `${a.domain === null ? "" : "cache/"}media_attachments/files/${idPartition(id)}`;
        files.push(
            { rel: `${base}/original/${name}`, size, kind: t.ext },
            { rel: `${base}/small/${name}`, size: Math.max(512, Math.round(size / 8)), kind: t.ext },
        );
        const w = rng.int(200, 4000);
        const h = rng.int(200, 3000);
        const meta = JSON.stringify({
            original: { width: w, height: h, size: `${w}x${h}`, aspect: w / h },
            small: { width: 640, height: Math.round((640 * h) / w) },
        });
        copy.row([
            id,
            model.statusIds[si] as string,
            name,
            t.mime,
            size,
            toTimestamp(ms),
            a.domain === null ? "" : `https://${a.domain}/system/media/${encodeURIComponent(name)}`,
            toTimestamp(ms),
            toTimestamp(ms),
            a.domain === null ? rng.hex(20) : null,
            t.type,
            meta,
            a.id,
            rng.pick(ALT_TEXTS),
            `U${rng.hex(27)}`,
        ]);
    });
    copy.end();
    return copy.rows;
}

/** An avatar file (local under accounts/, remote under cache/) for some accounts. */
function planAvatar(rng: Rng, a: Account, files: MediaFile[]): { name: string; size: number } | null {
    if (!rng.chance(a.domain === null ? 0.6 : 0.3)) return null;
    const name = `${rng.hex(16)}.png`;
    const size = rng.int(4_000, 40_000);
    files.push({ rel: `${a.domain === null ? "" : "cache/"}accounts/avatars/${idPartition(a.id)}/original/${name}`, size, kind: "png" });
    return { name, size };
}

function writeBackups(
    sink: FileSink,
    rng: Rng,
    spec: Required<SizeSpec>,
    users: number,
    files: MediaFile[],
): { rows: number; pending: number } {
    const copy = new CopyWriter(sink, "backups", [
        "id",
        "user_id",
        "dump_file_name",
        "dump_content_type",
        "dump_file_size",
        "dump_updated_at",
        "processed",
        "created_at",
        "updated_at",
    ]);
    const total = spec.processedBackups + spec.pendingBackups;
    for (let i = 0; i < total; i++) {
        const id = i + 1;
        const processed = i < spec.processedBackups;
        const ms = BASE_MS - (total - i) * 3_600_000;
        const name = processed ? `archive-${toTimestamp(ms).replace(/[- :]/g, "").slice(0, 14)}-${rng.hex(32)}.zip` : null;
        const size = processed ? rng.int(20_000, 100_000) : null;
        if (name !== null && size !== null) files.push({ rel: `backups/dumps/${idPartition(id)}/original/${name}`, size, kind: "zip" });
        copy.row([
            id,
            rng.int(1, Math.max(1, users)),
            name,
            processed ? "application/zip" : null,
            size,
            processed ? toTimestamp(ms + 60_000) : null,
            processed,
            toTimestamp(ms),
            toTimestamp(ms),
        ]);
    }
    copy.end();
    return { rows: copy.rows, pending: spec.pendingBackups };
}

const MAGIC: Record<string, Buffer> = {
    jpg: Buffer.from("ffd8ffe000104a46494600", "hex"),
    png: Buffer.from("89504e470d0a1a0a", "hex"),
    gif: Buffer.from("GIF89a", "latin1"),
    mp4: Buffer.from("000000206674797069736f6d", "hex"),
    zip: Buffer.from("504b0304", "hex"),
};

function writeMediaTree(publicDir: string, rng: Rng, files: MediaFile[]): number {
    let bytes = 0;
    for (const f of files) {
        const path = join(publicDir, "system", f.rel);
        mkdirSync(join(path, ".."), { recursive: true });
        const magic = MAGIC[f.kind] ?? Buffer.alloc(0);
        const body = rng.bytes(Math.max(0, f.size - magic.length));
        writeFileSync(path, Buffer.concat([magic, body]));
        bytes += magic.length + body.length;
    }
    return bytes;
}

function sequenceValues(model: Model, users: number, follows: number, backups: number, media: number): Record<string, number> {
    return {
        accounts_id_seq: model.accounts.length,
        statuses_id_seq: model.statusIds.length,
        media_attachments_id_seq: media,
        users_id_seq: users,
        follows_id_seq: follows,
        backups_id_seq: backups,
    };
}

function writeSetvals(sink: FileSink, seqs: Record<string, number>): void {
    sink.write("\n");
    for (const [name, value] of Object.entries(seqs)) {
        sink.write(
            value > 0
                ? `SELECT pg_catalog.setval('public.${name}', ${value}, true);\n`
                : `SELECT pg_catalog.setval('public.${name}', 1, false);\n`,
        );
    }
}

export function generateInstance(opts: GenerateOptions): InstanceBundle {
    const spec = resolveSize(opts.size);
    const seed = opts.seed ?? 1;
    const rng = new Rng(seed);
    const dir = opts.outDir ?? mkdtempSync(join(tmpdir(), "mastodon-instance-"));
    mkdirSync(dir, { recursive: true });
    const paths = {
        schemaSql: join(dir, "schema.sql"),
        dataSql: join(dir, "data.sql"),
        constraintsSql: join(dir, "constraints.sql"),
        publicDir: join(dir, "public"),
        redisResp: join(dir, "redis.resp"),
        envFile: join(dir, "env.production"),
    };
    rmSync(paths.publicDir, { recursive: true, force: true });
    writeFileSync(paths.schemaSql, preDataSql(rng.fork("salt").hex(32)) + MORE_TABLES_SQL);
    writeFileSync(paths.constraintsSql, postDataSql() + MORE_CONSTRAINTS_SQL);

    const data = new FileSink(paths.dataSql);
    data.write("SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n");
    const files: MediaFile[] = [];
    const accounts = writeAccounts(data, rng.fork("accounts"), spec, opts.domain, files);
    const model: Model = {
        domain: opts.domain,
        accounts,
        local: accounts.flatMap((a, i) => (a.domain === null ? [i] : [])),
        statusIds: [],
        statusAccount: new Int32Array(spec.statuses),
        byAccount: accounts.map(() => []),
        following: new Map(),
    };
    const users = writeUsers(data, rng.fork("users"), model);
    writeStatuses(data, rng.fork("statuses"), spec, model);
    const follows = writeFollows(data, rng.fork("follows"), spec, model);
    const backups = writeBackups(data, rng.fork("backups"), spec, users, files);
    const fixedBytes = files.reduce((s, f) => s + f.size, 0);
    const media = writeMedia(data, rng.fork("media"), spec, model, Math.max(spec.mediaFiles * 4096, spec.mediaBytes - fixedBytes), files);
    const more = writeMoreTables(data, rng.fork("more-tables"), model);
    const seqs = { ...sequenceValues(model, users, follows, backups.rows, media), ...more.sequences };
    writeSetvals(data, seqs);
    data.close();

    const mediaBytes = writeMediaTree(paths.publicDir, rng.fork("media-bytes"), files);
    const redis = writeRedis(paths.redisResp, rng.fork("redis"), model, spec.feedMax);
    const env = renderEnv(opts.domain, rng.fork("env"));
    writeFileSync(paths.envFile, env.content, { mode: 0o600 });

    return {
        dir,
        seed,
        domain: opts.domain,
        paths,
        secrets: env.secrets,
        summary: {
            accounts: accounts.length,
            localAccounts: model.local.length,
            users,
            statuses: model.statusIds.length,
            mediaAttachments: media,
            follows,
            backups: backups.rows,
            pendingBackups: backups.pending,
            mediaFiles: files.length,
            mediaBytes,
            redisKeys: redis.keys,
            redisCommands: redis.commands,
            sqlBytes: data.bytes,
            tables: {
                accounts: accounts.length,
                users,
                statuses: model.statusIds.length,
                media_attachments: media,
                follows,
                backups: backups.rows,
                ...more.tables,
            },
            sequences: seqs,
        },
    };
}
