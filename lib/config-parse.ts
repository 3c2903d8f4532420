/**
 * A pure parser that validates the whole stack config before any resource is declared, reporting every
 * problem at once, each naming the key and the `pulumi config` command that fixes it.
 */
import { CLOSE_PHASES, CONFIG_KEYS, ConfigKey, defaultOf, OPERATIONS, PHASES } from "./config-keys";
import { AwsTargetConfig, CloseConfig, DB_STRATEGIES, DnsConfig, MigrationConfig } from "./config-types";

/** Thrown with every problem found, each naming the key and the fix. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map(p => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

const set = (key: ConfigKey, example: string) => `pulumi config set ${key} ${example}`;

/** Reads raw values with declared defaults and type checks; collects problems instead of throwing. */
class Reader {
    readonly problems: string[] = [];
    constructor(
        private readonly raw: Record<string, string | undefined>,
        private readonly secretKeys: Set<string>,
    ) {
        for (const key of Object.keys(raw)) {
            if (!(key in CONFIG_KEYS)) {
                const near = Object.keys(CONFIG_KEYS).find(k => k.toLowerCase() === key.toLowerCase());
                this.problems.push(
                    `${key}: unknown key${near ? ` (did you mean ${near}?)` : ""}; ` + `remove it with pulumi config rm ${key}`,
                );
            }
        }
    }

    private value(key: ConfigKey): string | undefined {
        const v = this.raw[key];
        return v === undefined || v === "" ? undefined : v;
    }

    string(key: ConfigKey): string {
        return this.value(key) ?? String(defaultOf(key) ?? "");
    }

    required(key: ConfigKey, example: string, why = "is required"): string {
        const v = this.string(key);
        if (!v) this.problems.push(`${key} ${why}: ${set(key, example)}`);
        return v;
    }

    integer(key: ConfigKey, min: number, max: number): number {
        const raw = this.value(key);
        if (raw === undefined) return Number(defaultOf(key));
        if (!/^-?\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
            this.problems.push(
                `${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}: ` +
                    set(key, String(defaultOf(key) ?? min)),
            );
            return Number(defaultOf(key) ?? min);
        }
        return Number(raw);
    }

    boolean(key: ConfigKey): boolean {
        const raw = this.value(key);
        if (raw === undefined) return Boolean(defaultOf(key));
        if (raw !== "true" && raw !== "false") {
            this.problems.push(`${key} must be true or false, got ${JSON.stringify(raw)}: ${set(key, "false")}`);
            return false;
        }
        return raw === "true";
    }

    stringArray(key: ConfigKey, example: string): string[] {
        const raw = this.value(key);
        if (raw === undefined) return [];
        try {
            const parsed: unknown = JSON.parse(raw);
            if (Array.isArray(parsed) && parsed.every(x => typeof x === "string")) return parsed;
        } catch {
            /* reported below */
        }
        this.problems.push(`${key} must be a list of strings: pulumi config set --path '${key}[0]' ${example}`);
        return [];
    }

    oneOf<T extends string>(key: ConfigKey, allowed: readonly T[]): T {
        const v = this.string(key);
        if (!(allowed as readonly string[]).includes(v)) {
            this.problems.push(`${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}: ${set(key, allowed[0])}`);
            return allowed[0];
        }
        return v as T;
    }

    secret(key: ConfigKey): string {
        const v = this.value(key);
        // "" is the declared default of a key only some operations need (targetSshKey): not set.
        if (v === undefined || v === "") {
            this.problems.push(`${key} is required: pulumi config set --secret ${key} < path/to/private_key`);
            return "";
        }
        if (!this.secretKeys.has(key)) {
            this.problems.push(
                `${key} is stored in plaintext: pulumi config rm ${key} && pulumi config set --secret ${key} < path/to/private_key`,
            );
        }
        if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v)) {
            this.problems.push(
                `${key} is not a PEM/OpenSSH private key (it must contain "-----BEGIN ... PRIVATE KEY-----"): ` +
                    `pulumi config set --secret ${key} < ~/.ssh/id_ed25519`,
            );
        }
        return v;
    }

    check(ok: boolean, problem: string): void {
        if (!ok) this.problems.push(problem);
    }
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9a-f:]+$/i;
const CIDR4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(3[0-2]|[12]?\d)$/;
const ABS_PATH = /^\/[^\0'"\n]*$/;
const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

function isHostOrIp(v: string): boolean {
    return IPV4.test(v) || HOSTNAME.test(v) || (v.includes(":") && IPV6.test(v));
}

/**
 * Parse and validate the raw stack config (keys without the project prefix, values as the CLI stores
 * them: strings, JSON for arrays). Pure: secrets are returned as plain strings, `loadConfig` wraps them.
 * Throws ConfigError listing every problem. `env.awsRegion` is the AWS provider's region (`aws:region`, or
 * AWS_REGION / AWS_DEFAULT_REGION as the provider reads them), which an EC2 target needs.
 */
export function parseConfig(
    raw: Record<string, string | undefined>,
    secretKeys: Set<string>,
    env: { awsRegion?: string } = { awsRegion: "us-east-1" },
): MigrationConfig<string> {
    const r = new Reader(raw, secretKeys);

    const domain = r.required("domain", "social.example.org", "is required (LOCAL_DOMAIN of the instance)");
    r.check(
        !domain || HOSTNAME.test(domain),
        `domain must be a host name like social.example.org, got ${JSON.stringify(domain)}: ${set("domain", "social.example.org")}`,
    );
    const operation = r.oneOf("operation", OPERATIONS);
    const closing = operation === "close";
    const phase = r.oneOf("phase", PHASES);
    const dbStrategy = r.oneOf("dbStrategy", DB_STRATEGIES);

    const sourceHost = r.required("sourceHost", "203.0.113.10");
    r.check(
        !sourceHost || isHostOrIp(sourceHost),
        `sourceHost must be an IP address or host name, got ${JSON.stringify(sourceHost)}: ${set("sourceHost", "203.0.113.10")}`,
    );
    const sourcePublicIp = r.string("sourcePublicIp") || (IPV4.test(sourceHost) ? sourceHost : "");
    const dnsEnabled = r.boolean("dnsEnabled");
    if (dnsEnabled) {
        r.check(
            IPV4.test(sourcePublicIp),
            `sourcePublicIp must be the IPv4 the A record points to today (rollback puts it back)` +
                `${r.string("sourcePublicIp") ? `, got ${JSON.stringify(r.string("sourcePublicIp"))}` : ""}: ${set("sourcePublicIp", "203.0.113.10")}`,
        );
    }

    // Closing has no target server: its keys are neither required nor checked.
    const targetKind = closing ? "existing" : r.oneOf("targetKind", ["aws", "existing"] as const);
    const targetHost = r.string("targetHost");
    if (closing) {
        /* no target server */
    } else if (targetKind === "existing") {
        r.check(!!targetHost, `targetHost is required when targetKind is existing: ${set("targetHost", "198.51.100.20")}`);
        r.check(
            !targetHost || isHostOrIp(targetHost),
            `targetHost must be an IP address or host name, got ${JSON.stringify(targetHost)}: ${set("targetHost", "198.51.100.20")}`,
        );
        if (dnsEnabled) {
            r.check(
                !targetHost || IPV4.test(targetHost),
                `targetHost must be an IPv4 when dnsEnabled (the A record points to it), got ${JSON.stringify(targetHost)}: ${set("targetHost", "198.51.100.20")}`,
            );
        }
    } else {
        r.check(!targetHost, `targetHost must be empty when targetKind is aws (the Elastic IP is used): pulumi config rm targetHost`);
    }
    r.check(
        closing || !(targetKind === "existing" && targetHost && targetHost === sourceHost),
        `targetHost equals sourceHost (${targetHost}): the target server must be another machine: ${set("targetHost", "198.51.100.20")}`,
    );

    for (const key of ["sourceSshUser", "targetSshUser", "sourceMastodonUser", "targetMastodonUser"] as const) {
        const v = r.string(key);
        r.check(UNIX_USER.test(v), `${key} must be a Unix user name, got ${JSON.stringify(v)}: ${set(key, String(defaultOf(key)))}`);
    }
    for (const key of ["sourceDbName", "sourceDbRole", "targetDbRole"] as const) {
        const v = r.string(key);
        r.check(
            PG_IDENT.test(v),
            `${key} must be a lowercase PostgreSQL identifier, got ${JSON.stringify(v)}: ${set(key, String(defaultOf(key)))}`,
        );
    }
    for (const key of ["sourceLiveDir", "targetLiveDir", "workDir", "nginxSite", "tlsDir"] as const) {
        const v = r.string(key);
        r.check(
            ABS_PATH.test(v) && !v.includes("..") && v !== "/",
            `${key} must be an absolute path without quotes or "..", got ${JSON.stringify(v)}: ${set(key, String(defaultOf(key)))}`,
        );
    }
    for (const key of ["sourceHostKey", "targetHostKey"] as const) {
        const v = r.string(key);
        r.check(
            !v || /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+$/.test(v.trim()),
            `${key} must look like "ssh-ed25519 AAAA..." (ssh-keyscan output without the host name): ${set(key, "'ssh-ed25519 AAAA...'")}`,
        );
        // pulumi-resource-command offers only the pinned key's type as host key algorithm: for ssh-rsa that is the
        // SHA-1 `ssh-rsa` signature, which OpenSSH 8.8 and later refuse, so every connection would fail.
        r.check(
            !/^ssh-rsa /.test(v.trim()),
            `${key} pins an ssh-rsa key: the command provider would then accept only SHA-1 ssh-rsa signatures, which OpenSSH 8.8 and later refuse (every connection fails). ` +
                `Pin the server's ed25519 key instead: ssh-keyscan -t ed25519 <host>, then ${set(key, "'ssh-ed25519 AAAA...'")}`,
        );
    }

    const sourcePort = r.integer("sourcePort", 1, 65535);
    const targetPort = r.integer("targetPort", 1, 65535);
    const sourceKey = r.secret("sourceSshKey");
    const targetKey = closing ? (r.string("targetSshKey") ?? "") : r.secret("targetSshKey");

    let aws: AwsTargetConfig | undefined;
    if (!closing && targetKind === "aws") {
        r.check(
            !!env.awsRegion,
            "aws:region is required when targetKind is aws: pulumi config set aws:region eu-central-1 (the AWS provider refuses to start without a region; AWS_REGION works too)",
        );
        const adminCidrs = r.stringArray("adminCidrs", "198.51.100.7/32");
        r.check(
            adminCidrs.length > 0,
            `adminCidrs is required when targetKind is aws (SSH is open to these only; include the source server's address): pulumi config set --path 'adminCidrs[0]' 198.51.100.7/32`,
        );
        for (const c of adminCidrs) {
            r.check(CIDR4.test(c), `adminCidrs entry ${JSON.stringify(c)} is not an IPv4 CIDR like 198.51.100.7/32`);
            r.check(c !== "0.0.0.0/0", `adminCidrs must not open SSH to the world (0.0.0.0/0): list the admin and source-server addresses`);
        }
        const ami = r.string("awsAmi");
        r.check(
            !ami || /^ami-[0-9a-f]{8,17}$/.test(ami),
            `awsAmi must be an AMI id like ami-0123456789abcdef0, got ${JSON.stringify(ami)}: ${set("awsAmi", "ami-0123456789abcdef0")}`,
        );
        const subnetId = r.string("awsSubnetId");
        r.check(
            !subnetId || /^subnet-[0-9a-f]{8,17}$/.test(subnetId),
            `awsSubnetId must be a subnet id like subnet-0123abcd, got ${JSON.stringify(subnetId)}: ${set("awsSubnetId", "subnet-0123456789abcdef0")}`,
        );
        const publicKey = r.required(
            "targetSshPublicKey",
            '"$(cat ~/.ssh/id_ed25519.pub)"',
            "is required when targetKind is aws (the EC2 key pair)",
        );
        r.check(
            !publicKey || /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) /.test(publicKey),
            `targetSshPublicKey must be an OpenSSH public key ("ssh-ed25519 AAAA..."): ${set("targetSshPublicKey", '"$(cat ~/.ssh/id_ed25519.pub)"')}`,
        );
        aws = {
            instanceType: r.string("awsInstanceType"),
            ami: ami || undefined,
            rootVolumeGb: r.integer("awsRootVolumeGb", 20, 16384),
            subnetId: subnetId || undefined,
            adminCidrs,
            publicKey,
        };
    }

    let dns: DnsConfig | undefined;
    if (dnsEnabled) {
        const zoneId = r.required(
            "cloudflareZoneId",
            "0123456789abcdef0123456789abcdef",
            "is required when dnsEnabled (set dnsEnabled false for a rehearsal stack)",
        );
        const recordId = r.required(
            "cloudflareRecordId",
            "0123456789abcdef0123456789abcdef",
            "is required when dnsEnabled (the A record to adopt)",
        );
        // An AAAA record left out of the move keeps IPv6 users on the stopped source server: the stack must
        // say which record it is, or that there is none.
        const aaaaSetting = r.string("cloudflareAaaaRecordId");
        r.check(
            aaaaSetting !== "",
            `cloudflareAaaaRecordId is required when dnsEnabled: the id of the name's AAAA record, or none when it has no AAAA record ` +
                `(check with dig AAAA; an AAAA record left out keeps IPv6 users on the stopped source server): ` +
                `${set("cloudflareAaaaRecordId", "none")}`,
        );
        for (const key of ["cloudflareZoneId", "cloudflareRecordId", "cloudflareAaaaRecordId"] as const) {
            const v = r.string(key);
            if (key === "cloudflareAaaaRecordId" && v === "none") continue;
            r.check(
                !v || /^[0-9a-f]{32}$/.test(v),
                `${key} must be a 32-character Cloudflare id, got ${JSON.stringify(v)}: ${set(key, "0123456789abcdef0123456789abcdef")}`,
            );
        }
        const aaaaRecordId = aaaaSetting && aaaaSetting !== "none" ? aaaaSetting : undefined;
        if (aaaaRecordId) {
            const v6 = r.string("sourcePublicIpv6");
            r.check(
                IPV6.test(v6) && v6.includes(":"),
                `sourcePublicIpv6 is required with cloudflareAaaaRecordId (the AAAA rollback address): ${set("sourcePublicIpv6", "2001:db8::10")}`,
            );
            if (targetKind === "existing" && !closing) {
                const t6 = r.string("targetPublicIpv6");
                r.check(
                    IPV6.test(t6) && t6.includes(":"),
                    `targetPublicIpv6 is required with cloudflareAaaaRecordId when targetKind is existing: ${set("targetPublicIpv6", "2001:db8::20")}`,
                );
            }
        }
        const name = r.string("dnsRecordName") || domain;
        r.check(
            !domain || name === domain || name.endsWith(`.${domain}`) || domain.endsWith(`.${name}`) || HOSTNAME.test(name),
            `dnsRecordName must be a fully qualified name: ${set("dnsRecordName", domain || "social.example.org")}`,
        );
        const proxied = r.boolean("dnsProxied");
        const lowTtl = r.integer("dnsLowTtl", 30, 86400);
        const normalTtl = r.integer("dnsNormalTtl", 30, 86400);
        r.check(proxied || lowTtl >= 60 || lowTtl === 30, `dnsLowTtl must be 60..86400 (30 only on Enterprise zones)`);
        r.check(lowTtl <= normalTtl, `dnsLowTtl (${lowTtl}) must not exceed dnsNormalTtl (${normalTtl}): ${set("dnsLowTtl", "300")}`);
        dns = { zoneId, recordId, aaaaRecordId, name, lowTtl, normalTtl, proxied };
    }

    const close = closing ? parseClose(r, domain) : undefined;

    const config: MigrationConfig<string> = {
        domain,
        operation,
        close,
        phase,
        source: {
            ssh: {
                host: sourceHost,
                port: sourcePort,
                user: r.string("sourceSshUser"),
                privateKey: sourceKey,
                hostKey: r.string("sourceHostKey") || undefined,
            },
            mastodonUser: r.string("sourceMastodonUser"),
            liveDir: r.string("sourceLiveDir"),
            dbRole: r.string("sourceDbRole"),
            dbName: r.string("sourceDbName"),
            workDir: r.string("workDir"),
            publicIp: sourcePublicIp,
            publicIpv6: r.string("sourcePublicIpv6") || undefined,
            mediaOnS3: r.boolean("mediaOnS3"),
            elasticsearch: r.boolean("elasticsearch"),
        },
        target: {
            kind: targetKind,
            ssh: {
                host: targetHost,
                port: targetPort,
                user: r.string("targetSshUser"),
                privateKey: targetKey,
                hostKey: r.string("targetHostKey") || undefined,
            },
            mastodonUser: r.string("targetMastodonUser"),
            liveDir: r.string("targetLiveDir"),
            dbRole: r.string("targetDbRole"),
            workDir: r.string("workDir"),
            publicIpv6: r.string("targetPublicIpv6") || undefined,
            aws,
        },
        dns,
        rollbackAfterDnsMoved: r.boolean("rollbackAfterDnsMoved"),
        database: {
            restoreJobs: r.integer("dbRestoreJobs", 1, 64),
            allowNonEmptyTarget: r.boolean("dbAllowNonEmptyTarget"),
            strategy: dbStrategy,
            replicationMaxWaitSeconds: r.integer("dbReplicationMaxWaitSeconds", 0, 86_400),
            replicationRun: r.integer("dbReplicationRun", 0, 1_000_000),
        },
        media: { presyncRun: r.integer("mediaPresyncRun", 0, 1_000_000), bwLimitKBps: r.integer("mediaBwLimitKBps", 0, 10_000_000) },
        app: {
            feedsConcurrency: r.integer("feedsBuildConcurrency", 1, 64),
            healthTimeoutSeconds: r.integer("healthTimeoutSeconds", 10, 7200),
            nginxSite: r.string("nginxSite"),
            tlsDir: r.string("tlsDir"),
            maintenanceMessage: r.string("maintenanceMessage"),
        },
    };
    if (r.problems.length > 0) throw new ConfigError(r.problems);
    return config;
}

const DAY = 86_400;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The keys of operation close, with the double confirmation before self-destruct. */
function parseClose(r: Reader, domain: string): CloseConfig {
    const phase = r.oneOf("closePhase", CLOSE_PHASES);
    const reached = (p: (typeof CLOSE_PHASES)[number]) => CLOSE_PHASES.indexOf(phase) >= CLOSE_PHASES.indexOf(p);
    const date = r.required("closeDate", "2026-12-31", "is required with operation close (the closing date in the announcement)");
    r.check(
        !date || (DATE.test(date) && !Number.isNaN(Date.parse(`${date}T00:00:00Z`))),
        `closeDate must be a date like 2026-12-31, got ${JSON.stringify(date)}: ${set("closeDate", "2026-12-31")}`,
    );
    const successor = r.string("closeSuccessor");
    r.check(
        !successor || HOSTNAME.test(successor),
        `closeSuccessor must be a domain like social.example.net, got ${JSON.stringify(successor)}: ${set("closeSuccessor", "social.example.net")}`,
    );
    const message = r.string("closeMessage");
    r.check(message.trim().length > 0, `closeMessage must not be empty: ${set("closeMessage", "'This server will close on {date}.'")}`);
    const announcement =
        message.replace(/\{date\}/g, date) + (successor ? ` Our successor is https://${successor}: you can move your account there.` : "");

    const noticeDays = r.integer("closeNoticeDays", 0, 3650);
    r.check(
        noticeDays >= 90 || r.boolean("closeShortNotice"),
        `closeNoticeDays is ${noticeDays}, shorter than the 90 days the Mastodon Server Covenant asks: ` +
            `${set("closeNoticeDays", "90")}, or acknowledge the shorter notice with ${set("closeShortNotice", "true")}`,
    );
    const downloadDays = r.integer("closeDownloadDays", 0, 365);
    const testSeconds = r.integer("closeTestPeriodSeconds", 0, 86400);

    const users = r.stringArray("closeBackupUsers", "alice");
    for (const u of users)
        r.check(/^[A-Za-z0-9_]{1,30}$/.test(u), `closeBackupUsers entry ${JSON.stringify(u)} is not a Mastodon username`);

    if (reached("self-destruct")) {
        const typed = r.string("closeConfirmDomain");
        r.check(
            typed === domain,
            `closeConfirmDomain must be the domain typed again before self-destruct` +
                `${typed ? ` (got ${JSON.stringify(typed)}, expected ${JSON.stringify(domain)})` : ""}: ${set("closeConfirmDomain", domain || "social.example.org")}`,
        );
        r.check(
            r.boolean("closeAcknowledgeIrreversible"),
            `closeAcknowledgeIrreversible must be true before self-destruct: every account is deleted on every server that knows it, ` +
                `and nothing can undo it: ${set("closeAcknowledgeIrreversible", "true")}`,
        );
    }

    let archive: CloseConfig["archive"];
    const recipient = r.string("archiveAgeRecipient");
    const endpoint = r.string("archiveEndpoint");
    r.check(
        !endpoint || /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(endpoint),
        `archiveEndpoint must look like http://127.0.0.1:4569 (test only): pulumi config rm archiveEndpoint`,
    );
    const bucket = r.string("archiveBucket") || `mastodon-archive-${domain.replace(/\./g, "-")}`.slice(0, 63);
    r.check(
        BUCKET.test(bucket),
        `archiveBucket must be a valid S3 bucket name, got ${JSON.stringify(bucket)}: ${set("archiveBucket", "mastodon-archive-example")}`,
    );
    const days = r.integer("archiveDays", 1, 36500);
    if (reached("tombstone")) {
        r.check(
            AGE_RECIPIENT.test(recipient),
            `archiveAgeRecipient must be an age public key (age1...) before the tombstone phase (the final dump is encrypted to it): ` +
                `age-keygen -o archive.key, then ${set("archiveAgeRecipient", "age1...")}`,
        );
    }
    if (recipient || reached("tombstone")) archive = { ageRecipient: recipient, bucket, days, endpoint: endpoint || undefined };

    return {
        phase,
        date,
        announcement,
        noticeSeconds: testSeconds > 0 ? testSeconds : noticeDays * DAY,
        downloadSeconds: testSeconds > 0 ? testSeconds : downloadDays * DAY,
        backupUsers: users,
        backupTimeoutSeconds: r.integer("closeBackupTimeoutSeconds", 10, 7 * DAY),
        pollTimeoutSeconds: r.integer("closePollTimeoutSeconds", 10, 7 * DAY),
        archive,
        tombstoneSeconds: testSeconds > 0 ? testSeconds : r.integer("tombstoneDays", 1, 365) * DAY,
    };
}
