/**
 * A rehearsal of closing an instance (operation close): the sandbox's *source* host runs the instance, the
 * UNCHANGED program runs each closing phase through the real Pulumi CLI, with the notice, download and
 * tombstone periods shortened by the test-only key `closeTestPeriodSeconds`. Around it, the stand-ins of what
 * lies outside (`servers.ts`, on the sandbox bridge): the remote servers that receive the `Delete`
 * activities, and an S3-compatible server (s3rver) for the archive upload.
 *
 * Reports per phase: real requests through nginx per path class (`statusTable`), the backups gate, the
 * deletion progress, the archive downloaded, decrypted with age and restored into a scratch database
 * (`restoreArchive`), and the final state of the services and DNS.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Fault, readState, stateResource, up } from "../pulumi/runner";
import { PhaseRun, Rehearsal, RUNS_DIR } from "../rehearsal";
import { BRIDGE_ADDR, DEFAULT_DOMAIN, HostName, onHost, REPO_ROOT, SANDBOX_ID } from "../sandbox/sandbox";
import { SizeName } from "../instance/generate";
import { PROJECT } from "../../lib/config-keys";

export const FEDERATION_PORT = 18080 + SANDBOX_ID;
export const S3_PORT = 19000 + SANDBOX_ID;
export const ARCHIVE_BUCKET = "mastodon-archive-rehearsal";
const LIVE = "/home/mastodon/live";

export interface ClosureOptions {
    size?: SizeName;
    /** More local accounts than the instance has, so the self-destruct scheduler needs several ticks of 50. */
    extraLocalAccounts?: number;
    /** Seconds of the notice, download and tombstone periods (the test-only override). */
    periodSeconds?: number;
    /** The pending archives the instance had keep their Sidekiq jobs (false: one is orphaned, the gate waits). */
    pendingJobs?: boolean;
    /** More stack config. */
    config?: Record<string, string>;
    echo?: boolean;
    dir?: string;
}

/** One request through nginx: the path class, the request and the HTTP status. */
export interface PathStatus {
    what: string;
    request: string;
    status: number;
}

export class Closure {
    readonly r: Rehearsal;
    readonly dir: string;
    private servers?: ChildProcess;
    ageRecipient = "";
    /** A local account and a media file and (after closing) an archive, for the status table. */
    private sample = { user: "", media: "", archive: "" };

    constructor(readonly opts: ClosureOptions = {}) {
        this.dir = opts.dir ?? join(RUNS_DIR, "close");
        this.r = new Rehearsal({ size: opts.size ?? "tiny", targetKind: "existing", dir: this.dir, echo: opts.echo });
    }

    /** Fresh sandbox and instance, the outside stand-ins, and the age key pair of the archive. */
    async setup(): Promise<void> {
        this.r.setup();
        const extra = this.opts.extraLocalAccounts ?? 0;
        if (extra > 0) {
            this.psql(
                `INSERT INTO accounts (username, domain, created_at, updated_at) SELECT 'extra_' || g, NULL, now(), now() FROM generate_series(1, ${extra}) g;` +
                    `INSERT INTO users (email, created_at, updated_at, account_id, confirmed_at) SELECT username || '@example.org', now(), now(), id, now() FROM accounts WHERE username LIKE 'extra\\_%';`,
            );
        }
        // Registrations are open, as on most instances.
        this.psql("INSERT INTO settings (var, value, created_at, updated_at) VALUES ('registrations_mode', E'--- open\\n', now(), now())");
        // The stand-ins' knobs: where the remote servers are, a 2 s scheduler tick instead of 60 s.
        this.r.onSource(
            `printf '%s\\n' 'STANDIN_FEDERATION_ADDR=${BRIDGE_ADDR}:${FEDERATION_PORT}' 'STANDIN_SELF_DESTRUCT_TICK=2' 'STANDIN_BACKUP_SECONDS=0.2' >> ${LIVE}/.env.production && runuser -u mastodon -- touch ${LIVE}/tmp/standin-writes-paused && systemctl restart mastodon-web mastodon-sidekiq`,
        );
        // The Sidekiq stand-in of this checkout runs only the jobs of closing: the instance's other queued jobs
        // are dropped, so that its queues show the closure's work alone: after the restart above, so the paused
        // web cannot queue one more in between (a job left in queue:default kept self-destruct "enqueued 1"
        // for ever). The pending archives keep their jobs (or, for the gate scenario, all but one).
        this.r.onSource(
            "redis-cli --scan --pattern 'queue:*' | xargs -r redis-cli DEL >/dev/null; redis-cli DEL retry schedule >/dev/null",
        );
        const pending = this.psql("SELECT id FROM backups WHERE NOT processed ORDER BY id").split("\n").filter(Boolean);
        const queued = this.opts.pendingJobs === false ? pending.slice(1) : pending;
        for (const id of queued) this.pushBackupJob(Number(id));
        this.sample.user = this.psql(
            "SELECT username FROM accounts a JOIN users u ON u.account_id = a.id WHERE a.domain IS NULL ORDER BY a.id LIMIT 1",
        );
        this.sample.media = this.r
            .onSource(
                `cd ${LIVE}/public && find system/media_attachments -type f -regextype posix-extended -regex '[A-Za-z0-9._/-]+' | LC_ALL=C sort | head -n 1`,
            )
            .trim();
        await this.startServers();
        mkdirSync(this.dir, { recursive: true });
        const keygen = spawnSync("age-keygen", ["-o", join(this.dir, "archive.key")], { encoding: "utf8" });
        if (keygen.status !== 0) throw new Error(`age-keygen failed: ${keygen.stderr}`);
        this.ageRecipient = (keygen.stderr.match(/age1[0-9a-z]+/) ?? [""])[0];
    }

    /** Queue Sidekiq's BackupWorker for a backups row, as Mastodon does when an archive is requested. */
    pushBackupJob(id: number): void {
        const job = JSON.stringify({ retry: true, queue: "pull", class: "BackupWorker", args: [id], jid: `rehearsal${id}`, created_at: 0 });
        this.r.onSource(`redis-cli SADD queues pull >/dev/null && redis-cli LPUSH queue:pull '${job}' >/dev/null`);
    }

    private startServers(): Promise<void> {
        const child = spawn(
            process.execPath,
            [
                "--import",
                "tsx",
                join(__dirname, "servers.ts"),
                BRIDGE_ADDR,
                String(FEDERATION_PORT),
                String(S3_PORT),
                join(this.dir, "outside"),
                ARCHIVE_BUCKET,
            ],
            { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
        );
        this.servers = child;
        return new Promise((resolve, reject) => {
            child.stdout!.on("data", (d: Buffer) => (d.toString().includes("ready") ? resolve() : undefined));
            child.on("exit", code => reject(new Error(`the outside stand-ins exited with ${code}`)));
        });
    }

    /** Stop the outside stand-ins (call at the end); resolves once they exited. */
    stop(): Promise<void> {
        const child = this.servers;
        this.servers = undefined;
        if (!child || child.exitCode !== null) return Promise.resolve();
        return new Promise(resolve => {
            child.removeAllListeners("exit");
            child.on("exit", () => resolve());
            child.kill();
        });
    }

    /** The stack config of a closing phase. */
    stackConfig(closePhase: string): { config: Record<string, string>; secretKeys: string[] } {
        const base = this.r.stackConfig("prepare");
        const values: Record<string, string> = {
            operation: "close",
            closePhase,
            closeDate: "2026-12-31",
            closeSuccessor: "successor.example",
            closeTestPeriodSeconds: String(this.opts.periodSeconds ?? 4),
            closeBackupTimeoutSeconds: "240",
            closePollTimeoutSeconds: "300",
            closeConfirmDomain: DEFAULT_DOMAIN,
            closeAcknowledgeIrreversible: "true",
            archiveAgeRecipient: this.ageRecipient,
            archiveBucket: ARCHIVE_BUCKET,
            archiveEndpoint: `http://${BRIDGE_ADDR}:${S3_PORT}`,
            ...this.opts.config,
        };
        const config = { ...base.config };
        for (const [k, v] of Object.entries(values)) config[`${PROJECT}:${k}`] = v;
        // The archive bucket's region, as an admin sets it (the AWS provider refuses to start without one).
        config["aws:region"] = "us-east-1";
        return { config, secretKeys: base.secretKeys };
    }

    /** `pulumi config set closePhase <phase> && pulumi up`, through the real CLI. */
    async phase(closePhase: string, faults: Fault[] = []): Promise<PhaseRun> {
        const { config, secretKeys } = this.stackConfig(closePhase);
        const result = await up({ ...this.r.operation(Closure.STACK, config, secretKeys), echo: this.opts.echo, faults });
        const run = { phase: closePhase, ...result };
        this.r.runs.push(run);
        return run;
    }

    psql(sql: string): string {
        return this.r.psql("source", "mastodon_production", sql);
    }

    /** Real requests through the source server's nginx, one per path class. */
    statusTable(): PathStatus[] {
        const d = DEFAULT_DOMAIN;
        const u = this.sample.user;
        const ap = "-H 'Accept: application/activity+json'";
        const post = "-X POST -H 'Content-Type: application/activity+json' --data '{}'";
        const rows: [string, string][] = [
            ["web: home page", "/"],
            ["web: profile", `/@${u}`],
            ["API: instance", "/api/v2/instance"],
            ["API: timeline", "/api/v1/timelines/public"],
            ["health", "/health"],
            ["ActivityPub: actor", `${ap} /users/${u}`],
            ["ActivityPub: shared inbox", `${post} /inbox`],
            ["ActivityPub: user inbox", `${post} /users/${u}/inbox`],
            ["WebFinger", `/.well-known/webfinger?resource=acct:${u}@${d}`],
            ["NodeInfo", "/.well-known/nodeinfo"],
            ["streaming", "/api/v1/streaming/health"],
            ["media", `/${this.sample.media}`],
        ];
        if (this.sample.archive) rows.push(["export archive", `/${this.sample.archive}`]);
        return rows.map(([what, request]) => {
            const parts = request.split(" ");
            const path = parts.pop()!;
            const out = onHost(
                "source",
                `curl -sk -o /dev/null -w '%{http_code}' --max-time 5 --resolve ${d}:443:127.0.0.1 ${parts.join(" ")} 'https://${d}${path}'`,
            );
            return {
                what,
                request: `${parts.length ? (parts[0] === "-H" ? "GET(AP) " : "POST ") : "GET "}${path}`,
                status: Number(out.stdout.trim() || 0),
            };
        });
    }

    /** Remember one export archive the stand-in Sidekiq built, for the status table. */
    pickArchive(): string {
        const name = this.psql(
            "SELECT id || ' ' || dump_file_name FROM backups WHERE processed AND dump_file_name IS NOT NULL ORDER BY id DESC LIMIT 1",
        );
        const [id, file] = name.split(" ");
        const part = String(id).padStart(9, "0").match(/\d{3}/g)!.join("/");
        this.sample.archive = `system/backups/dumps/${part}/original/${file}`;
        return this.sample.archive;
    }

    /** The Delete activities the remote servers received. */
    deliveries(): { host: string; type: string; actor: string; object: string }[] {
        const file = join(this.dir, "outside", "deliveries.jsonl");
        if (!existsSync(file)) return [];
        return readFileSync(file, "utf8")
            .split("\n")
            .filter(Boolean)
            .map(l => JSON.parse(l));
    }

    /** Wait until no Delete has arrived for `quietSeconds` (the deliveries Sidekiq has in hand when the queues are empty). */
    async deliveriesSettled(quietSeconds = 4): Promise<number> {
        let last = -1;
        for (;;) {
            const n = this.deliveries().length;
            if (n === last) return n;
            last = n;
            await new Promise(r => setTimeout(r, quietSeconds * 1000));
        }
    }

    /**
     * Every local account deleted exactly once on every remote server, and no remote account touched.
     * Returns the problems found (none when the closure is right) and the counts.
     */
    deletionCheck(): { problems: string[]; locals: number; hosts: number; deliveries: number } {
        const locals = this.psql("SELECT username FROM accounts WHERE domain IS NULL ORDER BY id").split("\n").filter(Boolean);
        const hosts = this.psql("SELECT DISTINCT domain FROM accounts WHERE domain IS NOT NULL ORDER BY 1").split("\n").filter(Boolean);
        const deliveries = this.deliveries();
        const problems: string[] = [];
        const count = new Map<string, number>();
        for (const d of deliveries) {
            if (d.type !== "Delete") continue;
            const m = d.actor.match(/^https:\/\/([^/]+)\/users\/([^/]+)$/);
            if (!m || m[1] !== DEFAULT_DOMAIN) problems.push(`a Delete for an account that is not local: ${d.actor} (to ${d.host})`);
            if (d.object !== d.actor) problems.push(`a Delete whose object is not its actor: ${d.object}`);
            const key = `${d.host} ${d.actor}`;
            count.set(key, (count.get(key) ?? 0) + 1);
        }
        for (const host of hosts) {
            for (const u of locals) {
                const n = count.get(`${host} https://${DEFAULT_DOMAIN}/users/${u}`) ?? 0;
                if (n !== 1) problems.push(`${host} received ${n} Delete for ${u}`);
            }
        }
        const remoteTouched = this.psql("SELECT count(*) FROM accounts WHERE domain IS NOT NULL AND suspended_at IS NOT NULL");
        if (remoteTouched !== "0") problems.push(`${remoteTouched} remote accounts were suspended`);
        const localLeft = this.psql("SELECT count(*) FROM accounts WHERE domain IS NULL AND suspended_at IS NULL");
        if (localLeft !== "0") problems.push(`${localLeft} local accounts were not deleted`);
        return { problems, locals: locals.length, hosts: hosts.length, deliveries: deliveries.length };
    }

    /** The access key ids the S3 server saw, and whether an upload was cut. */
    s3Requests(): { method?: string; url?: string; accessKeyId?: string | null; cut?: string }[] {
        const file = join(this.dir, "outside", "s3-requests.jsonl");
        return existsSync(file)
            ? readFileSync(file, "utf8")
                  .split("\n")
                  .filter(Boolean)
                  .map(l => JSON.parse(l))
            : [];
    }

    /** Cut the next PUT to the S3 server after 8 KiB (the upload is interrupted). */
    cutNextUpload(): void {
        writeFileSync(join(this.dir, "outside", "cut-next-put"), "");
    }

    /**
     * Download the archive from the S3 server, decrypt it with the age identity, restore it into a scratch
     * database on the *target* host, and compare it with the instance: every table's row count.
     */
    restoreArchive(key: string): { bytes: number; tables: number; rows: number; mismatches: string[]; accounts: number } {
        const file = join(this.dir, "archive.dump.age");
        const get = spawnSync(
            "curl",
            [
                "-sS",
                "--fail",
                "-o",
                file,
                "--user",
                "S3RVER:S3RVER",
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
                "-H",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                `http://${BRIDGE_ADDR}:${S3_PORT}/${ARCHIVE_BUCKET}/${key}`,
            ],
            { encoding: "utf8" },
        );
        if (get.status !== 0) throw new Error(`downloading the archive failed: ${get.stderr}`);
        const plain = spawnSync("age", ["-d", "-i", join(this.dir, "archive.key"), file]);
        if (plain.status !== 0) throw new Error(`age -d failed: ${plain.stderr}`);
        const restore = onHost(
            "target",
            "cd / && runuser -u postgres -- dropdb --if-exists archive_check && runuser -u postgres -- createdb archive_check && " +
                "runuser -u postgres -- pg_restore --no-owner -d archive_check",
            plain.stdout,
        );
        if (restore.code !== 0) throw new Error(`pg_restore of the archive failed: ${restore.stderr}`);
        const exact = (host: HostName, db: string) => {
            const tables = this.r.psql(host, db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").split("\n");
            return Object.fromEntries(tables.map(t => [t, Number(this.r.psql(host, db, `SELECT count(*) FROM public.${t}`))]));
        };
        const restored = exact("target", "archive_check");
        const expected = this.expectedCounts ?? {};
        const mismatches = Object.keys({ ...expected, ...restored })
            .filter(t => expected[t] !== restored[t])
            .map(t => `${t}: instance ${expected[t]}, archive ${restored[t]}`);
        return {
            bytes: readFileSync(file).length,
            tables: Object.keys(restored).length,
            rows: Object.values(restored).reduce((a, b) => a + b, 0),
            mismatches,
            accounts: Number(
                this.r.psql("target", "archive_check", "SELECT count(*) FROM accounts WHERE domain IS NULL AND suspended_at IS NOT NULL"),
            ),
        };
    }

    /** Row counts of the instance's tables, taken just before the tombstone (the archive must hold them). */
    expectedCounts?: Record<string, number>;
    countInstance(): Record<string, number> {
        const tables = this.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").split("\n");
        this.expectedCounts = Object.fromEntries(tables.map(t => [t, Number(this.psql(`SELECT count(*) FROM public.${t}`))]));
        return this.expectedCounts;
    }

    /** The services of the source server: active and enabled, per unit. */
    services(): Record<string, string> {
        const units = ["nginx", "postgresql", "redis-server", "mastodon-web", "mastodon-sidekiq", "mastodon-streaming"];
        const out: Record<string, string> = {};
        for (const u of units) {
            const active = onHost("source", `systemctl is-active ${u}`).stdout.trim();
            const enabled = onHost("source", `systemctl is-enabled ${u}`).stdout.trim();
            out[u] = `${active}, ${enabled}`;
        }
        return out;
    }

    /** The stack of the closing rehearsal. */
    static readonly STACK = "rehearsal-close";
    private uploadSecretSeen = "";

    /**
     * The upload credentials' secret (the IAM access key's secret output, which the stand-in AWS account never
     * writes to its file): from the checkpoint decrypted, remembered once seen (the parked phase deletes the key).
     */
    uploadSecret(): string {
        const key = stateResource(this.r.revealedState(Closure.STACK), "aws:iam/accessKey:AccessKey", "archive-upload");
        const secret = key?.outputs.secret;
        if (typeof secret === "string" && secret) this.uploadSecretSeen = secret;
        return this.uploadSecretSeen;
    }

    /**
     * Where the upload credentials' secret shows in plaintext: the log, the checkpoint (where Pulumi keeps it
     * encrypted), the stack's files and backend. Empty when it never leaked.
     */
    uploadSecretLeaks(): string[] {
        const secret = this.uploadSecret();
        if (!secret) return [];
        const found: string[] = [];
        if (readFileSync(this.r.logPath, "utf8").includes(secret)) found.push("pulumi log");
        for (const r of readState(this.r.statePath).resources)
            if (JSON.stringify([r.inputs, r.outputs]).includes(secret)) found.push(r.name);
        const files = (dir: string): string[] =>
            existsSync(dir)
                ? readdirSync(dir, { withFileTypes: true }).flatMap(e =>
                      e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
                  )
                : [];
        for (const f of files(this.r.pulumiDir)) if (!f.endsWith("passphrase") && readFileSync(f, "utf8").includes(secret)) found.push(f);
        if (JSON.stringify(this.r.runs.map(r => [r.outputs, r.error, r.events])).includes(secret)) found.push("operation results");
        return found;
    }

    /** DNS records in the checkpoint. */
    dnsState(): string[] {
        return readState(this.r.statePath)
            .resources.filter(x => x.type === "cloudflare:index/dnsRecord:DnsRecord")
            .map(x => `${x.name}: ${x.inputs.type} ${x.inputs.name} ${x.inputs.content}`);
    }

    /** Lines of the Pulumi log from one step (its output, `    <step> | <line>`). */
    stepLog(step: string): string[] {
        return readFileSync(this.r.logPath, "utf8")
            .split("\n")
            .filter(l => l.includes(`${step} |`));
    }
}

/** The status table as text. */
export function formatStatusTable(rows: PathStatus[]): string {
    return rows.map(r => `  ${r.what.padEnd(26)} ${String(r.status).padStart(3)}  ${r.request}`).join("\n");
}
