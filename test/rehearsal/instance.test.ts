import { createHash } from "node:crypto";
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InstanceBundle, generateInstance } from "../../rehearsal/instance/generate";
import { Run, shQuote } from "../../rehearsal/instance/host";
import { countPendingBackups, loadInstance } from "../../rehearsal/instance/load";
import { LocalServices, startLocalServices } from "../../rehearsal/instance/local-services";
import { idPartition } from "../../rehearsal/instance/model";
import { Fingerprint, compareFingerprints, fingerprint, formatParityReport } from "../../rehearsal/instance/parity";

const tempDirs: string[] = [];
function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "instance-test-"));
    tempDirs.push(dir);
    return dir;
}

/** sha256 of every artefact file, keyed by relative path. */
function treeDigest(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string): void => {
        for (const name of readdirSync(dir)) {
            const p = join(dir, name);
            if (statSync(p).isDirectory()) walk(p);
            else out[relative(root, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
        }
    };
    walk(root);
    return out;
}

function sampleFingerprint(): Fingerprint {
    return {
        db: {
            encoding: "UTF8",
            collate: "C.UTF-8",
            schemaHash: "aa",
            tables: { statuses: { rows: 10, checksum: "c1", owner: "mastodon" }, accounts: { rows: 3, checksum: "c2", owner: "mastodon" } },
            sequences: { statuses_id_seq: { lastValue: "10", isCalled: true } },
            matviews: { instances: 2 },
            matviewContents: { instances: "m1" },
            maxIds: { statuses: "10", accounts: "3" },
            above: {},
            owners: {
                "schema public": "mastodon",
                "sequence statuses_id_seq": "mastodon",
                "function timestamp_id(table_name text)": "mastodon",
            },
        },
        media: {
            "media_attachments/files/000/000/001/original/été photo.jpg": {
                sha256: "f".repeat(64),
                size: 100,
                owner: "mastodon",
                mode: "644",
            },
        },
        mediaDirs: { ".": { owner: "mastodon", mode: "755" }, media_attachments: { owner: "mastodon", mode: "755" } },
        redis: { "feed:home:1": { type: "zset", hash: "1".repeat(40), length: 5, volatile: false } },
        env: { sha256: "e".repeat(64), mode: "600", owner: "mastodon" },
    };
}

describe("compareFingerprints (hand-built)", () => {
    it("identical fingerprints have no differences", () => {
        const cmp = compareFingerprints(sampleFingerprint(), sampleFingerprint());
        expect(cmp).toEqual({ identical: true, differences: [] });
    });

    const cases: [string, (fp: Fingerprint) => void, RegExp][] = [
        [
            "one row changed",
            fp => void ((fp.db as NonNullable<Fingerprint["db"]>).tables.statuses = { rows: 10, checksum: "c9", owner: "mastodon" }),
            /^table statuses: content checksum differs$/,
        ],
        [
            "one row missing",
            fp => void ((fp.db as NonNullable<Fingerprint["db"]>).tables.statuses = { rows: 9, checksum: "c9", owner: "mastodon" }),
            /^table statuses: rows 10 != 9$/,
        ],
        [
            "one sequence value",
            fp => void ((fp.db as NonNullable<Fingerprint["db"]>).sequences.statuses_id_seq = { lastValue: "11", isCalled: true }),
            /^sequence statuses_id_seq: lastValue 10 != 11$/,
        ],
        [
            "one media byte",
            fp =>
                void ((fp.media as NonNullable<Fingerprint["media"]>)["media_attachments/files/000/000/001/original/été photo.jpg"] = {
                    sha256: "0".repeat(64),
                    size: 100,
                    owner: "mastodon",
                    mode: "644",
                }),
            /^media "media_attachments.*été photo\.jpg": sha256 differs$/,
        ],
        [
            "one redis member",
            fp =>
                void ((fp.redis as NonNullable<Fingerprint["redis"]>)["feed:home:1"] = {
                    type: "zset",
                    hash: "2".repeat(40),
                    length: 5,
                    volatile: false,
                }),
            /^redis key feed:home:1: content differs$/,
        ],
        [
            "env owner",
            fp => void ((fp.env as NonNullable<Fingerprint["env"]>).owner = "root"),
            /^\.env\.production owner mastodon != root$/,
        ],
        [
            "extra redis key",
            fp =>
                void ((fp.redis as NonNullable<Fingerprint["redis"]>)["queue:push"] = {
                    type: "list",
                    hash: "3".repeat(40),
                    length: 1,
                    volatile: false,
                }),
            /^redis key queue:push: only on second$/,
        ],
        ["missing media tree", fp => void (fp.media = null), /^media tree: absent on second$/],
        [
            "one file mode",
            fp =>
                void ((fp.media as NonNullable<Fingerprint["media"]>)["media_attachments/files/000/000/001/original/été photo.jpg"]!.mode =
                    "600"),
            /^media ".*été photo\.jpg": mode 644 != 600$/,
        ],
        [
            "one directory mode",
            fp => void (fp.mediaDirs!.media_attachments!.mode = "700"),
            /^media directory media_attachments: mode 755 != 700$/,
        ],
        ["the tree's own owner", fp => void (fp.mediaDirs!["."]!.owner = "root"), /^media directory \.: owner mastodon != root$/],
        [
            "a sequence owner",
            fp => void (fp.db!.owners["sequence statuses_id_seq"] = "postgres"),
            /^owner of "sequence statuses_id_seq": mastodon != postgres$/,
        ],
        [
            "the schema owner",
            fp => void (fp.db!.owners["schema public"] = "pg_database_owner"),
            /^owner of "schema public": mastodon != pg_database_owner$/,
        ],
        [
            "a function owner",
            fp => void (fp.db!.owners["function timestamp_id(table_name text)"] = "postgres"),
            /^owner of "function timestamp_id\(table_name text\)": mastodon != postgres$/,
        ],
        ["matview content, same row count", fp => void (fp.db!.matviewContents.instances = "m2"), /^matview instances: content differs$/],
    ];
    for (const [name, mutate, expected] of cases) {
        it(`detects exactly one difference: ${name}`, () => {
            const b = sampleFingerprint();
            mutate(b);
            const cmp = compareFingerprints(sampleFingerprint(), b);
            expect(cmp.identical).toBe(false);
            expect(cmp.differences).toHaveLength(1);
            expect(cmp.differences[0]).toMatch(expected);
        });
    }

    it("formats a compact report", () => {
        const b = sampleFingerprint();
        (b.redis as NonNullable<Fingerprint["redis"]>)["feed:home:1"] = { type: "zset", hash: "2".repeat(40), length: 6, volatile: false };
        const report = formatParityReport(sampleFingerprint(), b);
        expect(report).toMatch(/tables\s+2 \(13 rows\)\s+2 \(13 rows\)\s+ok/);
        expect(report).toMatch(/redis keys\s+1\s+1\s+DIFF/);
        expect(report).toContain("PARITY: 1 difference(s)");
        expect(report).toContain("redis key feed:home:1: length 5 != 6");
        expect(report).not.toContain("e".repeat(64));
    });
});

describe("generateInstance", () => {
    it("is deterministic for a seed and differs across seeds", () => {
        const a = generateInstance({ size: "tiny", seed: 42, domain: "source.example", outDir: tempDir() });
        const b = generateInstance({ size: "tiny", seed: 42, domain: "source.example", outDir: tempDir() });
        const c = generateInstance({ size: "tiny", seed: 43, domain: "source.example", outDir: tempDir() });
        expect(treeDigest(a.dir)).toEqual(treeDigest(b.dir));
        expect(a.secrets).toEqual(b.secrets);
        expect(treeDigest(a.dir)).not.toEqual(treeDigest(c.dir));
        expect(a.secrets.some(s => c.secrets.includes(s))).toBe(false);
    });

    it("writes Mastodon-shaped artefacts", () => {
        const b = generateInstance({ size: "tiny", seed: 5, domain: "source.example", outDir: tempDir() });
        const schema = readFileSync(b.paths.schemaSql, "utf8");
        expect(schema).toMatch(/CREATE FUNCTION public\.timestamp_id\(table_name text\) RETURNS bigint/);
        expect(schema).toMatch(/CREATE MATERIALIZED VIEW public\.instances/);
        expect(readFileSync(b.paths.dataSql, "utf8")).toMatch(/COPY public\.statuses .* FROM stdin;/);
        const env = readFileSync(b.paths.envFile, "utf8");
        expect(env).toContain("LOCAL_DOMAIN=source.example\n");
        expect(env).toMatch(/^SECRET_KEY_BASE=[0-9a-f]{128}$/m);
        expect(b.secrets).toHaveLength(7);
        for (const s of b.secrets) expect(env).toContain(s);
        const files = Object.keys(treeDigest(join(b.paths.publicDir, "system")));
        expect(files.some(f => f.endsWith("/original/été photo.jpg"))).toBe(true);
        expect(files.some(f => /media_attachments\/files\/000\/000\/\d{3}\/small\//.test(f))).toBe(true);
        expect(files.some(f => f.includes("写真 1.png"))).toBe(true);
        expect(files.some(f => f.includes("\n"))).toBe(true);
        expect(files.some(f => f.startsWith("accounts/avatars/"))).toBe(true);
        expect(files).toHaveLength(b.summary.mediaFiles);
        expect(idPartition(123)).toBe("000/000/123");
        expect(idPartition("109348792421453168")).toBe("109/348/792/421/453/168");
    });
});

describe("load + fingerprint against throwaway PostgreSQL and Redis", () => {
    let svc: LocalServices;
    let bundle: InstanceBundle;
    const transcript: string[] = [];
    let run: Run;
    let base: Fingerprint;

    beforeAll(async () => {
        svc = await startLocalServices({ pgPort: 55432 });
        run = (cmd, input) => {
            const r = svc.run(cmd, input);
            transcript.push(cmd, r.stdout, r.stderr);
            return r;
        };
        bundle = generateInstance({ size: "tiny", seed: 11, domain: "source.example", outDir: tempDir() });
        loadInstance(bundle, run, svc.target);
        base = fingerprint(run, svc.target);
    }, 120_000);

    /** Runs one statement in the loaded database as postgres; returns unaligned output. */
    const sql = (statement: string): string => {
        const cmd = `runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -h '${svc.target.pgHost}' -p ${svc.target.pgPort} -d mastodon_production -c ${shQuote(statement)}`;
        const r = svc.run(cmd);
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout;
    };

    afterAll(async () => {
        await svc?.stop();
        for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });

    it("loads everything the generator produced, owned by mastodon", () => {
        const db = base.db as NonNullable<Fingerprint["db"]>;
        for (const [table, rows] of Object.entries(bundle.summary.tables)) {
            expect(db.tables[table]).toMatchObject({ rows, owner: "mastodon" });
        }
        for (const [seq, value] of Object.entries(bundle.summary.sequences)) expect(db.sequences[seq]?.lastValue).toBe(String(value));
        expect(db.matviews.instances).toBeGreaterThan(0);
        expect(Object.keys(base.media ?? {})).toHaveLength(bundle.summary.mediaFiles);
        expect(Object.keys(base.redis ?? {})).toHaveLength(bundle.summary.redisKeys);
        expect(base.redis?.["queue:default"]?.type).toBe("list");
        expect(base.env).toMatchObject({ mode: "600", owner: svc.target.osUser });
        expect(countPendingBackups(run, svc.target)).toBe(bundle.summary.pendingBackups);
    });

    it("is shaped like Mastodon: 20+ tables, a join table without a primary key, Rails' tables, several populated materialized views", () => {
        const db = base.db as NonNullable<Fingerprint["db"]>;
        expect(Object.keys(db.tables).length).toBeGreaterThanOrEqual(20);
        for (const t of ["schema_migrations", "ar_internal_metadata", "statuses_tags"]) expect(db.tables[t]?.rows, t).toBeGreaterThan(0);
        expect(sql("SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.statuses_tags'::regclass AND contype = 'p'").trim()).toBe(
            "0",
        );
        expect(Object.keys(db.matviews).length).toBeGreaterThanOrEqual(3);
        for (const [name, rows] of Object.entries(db.matviews)) expect(rows, name).toBeGreaterThan(0);
        expect(Object.keys(db.matviewContents).sort()).toEqual(Object.keys(db.matviews).sort());
        expect(db.owners["schema public"]).toBeDefined();
        expect(db.owners["function timestamp_id(table_name text)"]).toBe("mastodon");
        expect(base.mediaDirs?.["."]).toMatchObject({ owner: svc.target.osUser });
    });

    it("fingerprints twice to the same result", () => {
        const again = fingerprint(run, svc.target);
        expect(compareFingerprints(base, again)).toEqual({ identical: true, differences: [] });
        expect(formatParityReport(base, again)).toContain("PARITY: identical");
    });

    it("detects one changed row, one sequence step, one media byte and one redis member", () => {
        const steps: [string, () => void, RegExp][] = [
            [
                "row",
                () =>
                    void sql("UPDATE statuses SET text = text || '!' WHERE id = (SELECT max(id) FROM statuses WHERE reblog_of_id IS NULL)"),
                /^table statuses: content checksum differs$/,
            ],
            ["sequence", () => void sql("SELECT nextval('users_id_seq')"), /^sequence users_id_seq: lastValue \d+ != \d+$/],
            ["media", () => flipOneByte(join(svc.target.liveDir as string, "public/system")), /^media .*: sha256 differs$/],
            ["redis", () => void svc.run(redisMutation(svc.target.redisPort as number)), /^redis key feed:home:\d+: content differs$/],
        ];
        let previous = base;
        for (const [name, mutate, expected] of steps) {
            mutate();
            const current = fingerprint(run, svc.target);
            const cmp = compareFingerprints(previous, current);
            expect(cmp.differences, name).toHaveLength(1);
            expect(cmp.differences[0], name).toMatch(expected);
            previous = current;
        }
    });

    it("gives new rows Mastodon-style ids through the timestamp_id() column default", () => {
        const out = sql(
            "INSERT INTO statuses (text, created_at, updated_at, account_id) SELECT 'nouveau 🐘', now(), now(), min(id) FROM accounts RETURNING id",
        );
        const id = BigInt(out.trim());
        expect(Math.abs(Number(id >> 16n) - Date.now())).toBeLessThan(60_000);
    });

    it("leaves out rows beyond a given id and counts them; reads materialized views as stored or fresh", () => {
        const first = fingerprint(run, svc.target);
        const max = first.db!.maxIds.statuses!;
        expect(max).toMatch(/^\d+$/);
        sql("INSERT INTO statuses (text, created_at, updated_at, account_id) SELECT 'plus tard 🐘', now(), now(), min(id) FROM accounts");
        const later = fingerprint(run, { ...svc.target, excludeAbove: { statuses: max } });
        expect(later.db!.above).toEqual({ statuses: 1 });
        expect(later.db!.tables.statuses).toEqual(first.db!.tables.statuses);
        expect(compareFingerprints(first, fingerprint(run, svc.target)).differences).toContainEqual(
            expect.stringMatching(/^table statuses: rows \d+ != \d+$/),
        );
        sql("INSERT INTO accounts (username, domain, created_at, updated_at) VALUES ('neu', 'nouveau.example', now(), now())");
        const stored = fingerprint(run, svc.target);
        const fresh = fingerprint(run, { ...svc.target, matviews: "fresh" });
        expect(fresh.db!.matviews.instances).toBe(stored.db!.matviews.instances! + 1);
        expect(compareFingerprints(stored, fresh).differences).toEqual([
            "matview instances: rows " + stored.db!.matviews.instances + " != " + fresh.db!.matviews.instances,
        ]);
    });

    it("never lets a secret reach a command, an output or a fingerprint", () => {
        const haystack = transcript.join("\n") + JSON.stringify(base) + formatParityReport(base, base);
        for (const secret of bundle.secrets) expect(haystack.includes(secret)).toBe(false);
    });
});

/** Flips the last byte of the lexically first file that has an exotic name, in place. */
function flipOneByte(root: string): void {
    const files = Object.keys(treeDigest(root))
        .filter(f => f.includes("été"))
        .sort();
    const path = join(root, files[0] as string);
    const buf = readFileSync(path);
    buf[buf.length - 1] = (buf[buf.length - 1] as number) ^ 0xff;
    writeFileSync(path, buf);
}

/** Bumps the score of one existing member of the first home feed (by 4096: scores ~1e17 are doubles). */
function redisMutation(port: number): string {
    const cli = `redis-cli -p ${port}`;
    return `k=$(${cli} --scan --pattern 'feed:home:*' | sort | head -1); m=$(${cli} ZRANGE "$k" 0 0); ${cli} ZINCRBY "$k" 4096 "$m"`;
}
