/**
 * The stack configuration: one table of keys (the single source of truth; `Pulumi.yaml` declares the
 * same keys and a test keeps the two equal), and a pure parser that validates the whole stack config
 * before any resource is declared, reporting every problem at once, each naming the key and the fix.
 */
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "mastodon-migration";

export const PHASES = ["prepare", "cutover", "complete"] as const;
export type Phase = (typeof PHASES)[number];

type KeyType = "string" | "integer" | "boolean" | "array";
interface KeySpec {
    type: KeyType;
    description: string;
    /** Declared default; secrets have none (the CLI refuses defaults for secret keys). */
    default?: string | number | boolean | string[];
    secret?: true;
}

/** Every config key of the project, in the order `Pulumi.yaml` lists them. */
export const CONFIG_KEYS = {
    domain: { type: "string", default: "", description: "LOCAL_DOMAIN of the instance (never changes). Required." },
    phase: { type: "string", default: "prepare", description: "prepare (days ahead, no downtime), cutover (maintenance window) or complete (after DNS settled)." },

    sourceHost: { type: "string", default: "", description: "Address the admin machine (Pulumi) uses to SSH into the old server. Required." },
    sourcePort: { type: "integer", default: 22, description: "SSH port of the old server." },
    sourceSshUser: { type: "string", default: "root", description: "SSH user on the old server: root, or a user with passwordless sudo." },
    sourceSshKey: { type: "string", secret: true, description: "Private SSH key for sourceSshUser (pulumi config set --secret sourceSshKey < key)." },
    sourceHostKey: { type: "string", default: "", description: "Pinned SSH host key of the old server (\"ssh-ed25519 AAAA...\"); empty = not checked." },
    sourcePublicIp: { type: "string", default: "", description: "IPv4 the DNS A record points to today; empty = sourceHost (must then be an IPv4)." },
    sourcePublicIpv6: { type: "string", default: "", description: "IPv6 the AAAA record points to today (only with cloudflareAaaaRecordId)." },
    sourceMastodonUser: { type: "string", default: "mastodon", description: "Unix user that runs Mastodon on the old server." },
    sourceLiveDir: { type: "string", default: "/home/mastodon/live", description: "Mastodon checkout on the old server." },
    sourceDbName: { type: "string", default: "mastodon_production", description: "Database name (DB_NAME); the new server uses the same name." },
    sourceDbRole: { type: "string", default: "mastodon", description: "Database role (DB_USER) on the old server." },
    mediaOnS3: { type: "boolean", default: false, description: "true when media is in object storage (S3_ENABLED=true): no media transfer." },
    elasticsearch: { type: "boolean", default: false, description: "true when ES_ENABLED=true: the search index is rebuilt with tootctl search deploy." },

    targetKind: { type: "string", default: "aws", description: "aws (an EC2 instance is created) or existing (any host reachable over SSH)." },
    targetHost: { type: "string", default: "", description: "existing: address of the new server (SSH and DNS). aws: leave empty (the Elastic IP is used)." },
    targetPort: { type: "integer", default: 22, description: "SSH port of the new server." },
    targetSshUser: { type: "string", default: "root", description: "SSH user on the new server: root, or a user with passwordless sudo (aws: ubuntu)." },
    targetSshKey: { type: "string", secret: true, description: "Private SSH key for targetSshUser (pulumi config set --secret targetSshKey < key)." },
    targetSshPublicKey: { type: "string", default: "", description: "aws: public half of targetSshKey, installed as the EC2 key pair." },
    targetHostKey: { type: "string", default: "", description: "Pinned SSH host key of the new server; empty = not checked." },
    targetPublicIpv6: { type: "string", default: "", description: "existing: IPv6 for the AAAA record (only with cloudflareAaaaRecordId)." },
    targetMastodonUser: { type: "string", default: "mastodon", description: "Unix user that runs Mastodon on the new server." },
    targetLiveDir: { type: "string", default: "/home/mastodon/live", description: "Mastodon checkout on the new server." },
    targetDbRole: { type: "string", default: "mastodon", description: "Database role on the new server (may differ; DB_USER is rewritten)." },

    awsInstanceType: { type: "string", default: "t3.large", description: "aws: EC2 instance type." },
    awsAmi: { type: "string", default: "", description: "aws: pinned AMI id; empty = Ubuntu 24.04 lookup that never replaces a running instance." },
    awsRootVolumeGb: { type: "integer", default: 100, description: "aws: root volume size in GiB (database x3 + media)." },
    awsSubnetId: { type: "string", default: "", description: "aws: subnet for the instance; empty = the default VPC." },
    adminCidrs: { type: "array", default: [], description: "aws: CIDRs allowed to SSH (the admin/CI and the OLD SERVER's address, which pushes the data)." },

    dnsEnabled: { type: "boolean", default: true, description: "false for a rehearsal stack: no DNS record is adopted or changed." },
    cloudflareZoneId: { type: "string", default: "", description: "Cloudflare zone id of the domain (required when dnsEnabled)." },
    cloudflareRecordId: { type: "string", default: "", description: "Id of the existing A record to adopt (required when dnsEnabled)." },
    cloudflareAaaaRecordId: { type: "string", default: "", description: "Id of the existing AAAA record to adopt; empty = no AAAA." },
    dnsRecordName: { type: "string", default: "", description: "Fully qualified record name; empty = domain." },
    dnsLowTtl: { type: "integer", default: 300, description: "TTL (s) during the move, set in prepare at least dnsNormalTtl before cutover." },
    dnsNormalTtl: { type: "integer", default: 3600, description: "TTL (s) restored in complete." },
    dnsProxied: { type: "boolean", default: false, description: "Cloudflare proxy on; TTL is then Auto (1)." },

    workDir: { type: "string", default: "/var/lib/mastodon-migration", description: "Directory of ours on both servers (dump, migration key, locks)." },
    dbRestoreJobs: { type: "integer", default: 2, description: "pg_restore parallel jobs (CPUs of the new server)." },
    dbAllowNonEmptyTarget: { type: "boolean", default: false, description: "Allow restoring when the database already exists with tables on the new server (it is renamed aside, not dropped)." },
    mediaPresyncRun: { type: "integer", default: 1, description: "Bump to run the prepare media pre-sync again." },
    mediaBwLimitKBps: { type: "integer", default: 0, description: "Bandwidth limit of the media pre-sync in KiB/s, so the live old server keeps serving; 0 = none (the final pass is never limited)." },
    feedsBuildConcurrency: { type: "integer", default: 5, description: "tootctl feeds build --concurrency." },
    healthTimeoutSeconds: { type: "integer", default: 300, description: "How long the health check waits for the new server." },
    nginxSite: { type: "string", default: "/etc/nginx/sites-available/mastodon", description: "nginx site file of the instance (same path on both servers)." },
    tlsDir: { type: "string", default: "/etc/nginx/tls", description: "Directory of our own on the new server for the certificate files." },
    maintenanceMessage: { type: "string", default: "This server is moving to a new machine. We will be back shortly.", description: "Text of the maintenance page shown by the old server." },
} satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The declared default of a key (undefined for secrets). */
export function defaultOf(key: ConfigKey): KeySpec["default"] {
    return (CONFIG_KEYS[key] as KeySpec).default;
}

/** SSH access to one server, as Pulumi (the admin machine) sees it. */
export interface SshAccess<K = pulumi.Output<string>> {
    host: string;
    port: number;
    user: string;
    privateKey: K;
    hostKey?: string;
}

/** One Mastodon server (either side). */
export interface ServerConfig<K = pulumi.Output<string>> {
    ssh: SshAccess<K>;
    mastodonUser: string;
    liveDir: string;
    dbRole: string;
    workDir: string;
}

export interface SourceConfig<K = pulumi.Output<string>> extends ServerConfig<K> {
    publicIp: string;
    publicIpv6?: string;
    dbName: string;
    mediaOnS3: boolean;
    elasticsearch: boolean;
}

export interface AwsTargetConfig {
    instanceType: string;
    ami?: string;
    rootVolumeGb: number;
    subnetId?: string;
    adminCidrs: string[];
    publicKey: string;
}

export interface TargetConfig<K = pulumi.Output<string>> extends ServerConfig<K> {
    kind: "aws" | "existing";
    publicIpv6?: string;
    aws?: AwsTargetConfig;
}

export interface DnsConfig {
    zoneId: string;
    recordId: string;
    aaaaRecordId?: string;
    name: string;
    lowTtl: number;
    normalTtl: number;
    proxied: boolean;
}

export interface MigrationConfig<K = pulumi.Output<string>> {
    domain: string;
    phase: Phase;
    source: SourceConfig<K>;
    /** target.ssh.host is "" for aws: the Elastic IP is known only once it exists. */
    target: TargetConfig<K>;
    /** undefined when dnsEnabled is false (rehearsal stacks). */
    dns?: DnsConfig;
    database: { restoreJobs: number; allowNonEmptyTarget: boolean };
    media: { presyncRun: number; bwLimitKBps: number };
    app: { feedsConcurrency: number; healthTimeoutSeconds: number; nginxSite: string; tlsDir: string; maintenanceMessage: string };
}

/** Thrown with every problem found, each naming the key and the fix. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
            problems.map(p => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

const set = (key: ConfigKey, example: string) => `pulumi config set ${key} ${example}`;

/** Reads raw values with declared defaults and type checks; collects problems instead of throwing. */
class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: Record<string, string | undefined>, private readonly secretKeys: Set<string>) {
        for (const key of Object.keys(raw)) {
            if (!(key in CONFIG_KEYS)) {
                const near = Object.keys(CONFIG_KEYS).find(k => k.toLowerCase() === key.toLowerCase());
                this.problems.push(`${key}: unknown key${near ? ` (did you mean ${near}?)` : ""}; ` +
                    `remove it with pulumi config rm ${key}`);
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
            this.problems.push(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}: ` +
                set(key, String(defaultOf(key) ?? min)));
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
        } catch { /* reported below */ }
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
        if (v === undefined) {
            this.problems.push(`${key} is required: pulumi config set --secret ${key} < path/to/private_key`);
            return "";
        }
        if (!this.secretKeys.has(key)) {
            this.problems.push(`${key} is stored in plaintext: pulumi config rm ${key} && pulumi config set --secret ${key} < path/to/private_key`);
        }
        if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v)) {
            this.problems.push(`${key} is not a PEM/OpenSSH private key (it must contain "-----BEGIN ... PRIVATE KEY-----"): ` +
                `pulumi config set --secret ${key} < ~/.ssh/id_ed25519`);
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
 * Throws ConfigError listing every problem.
 */
export function parseConfig(raw: Record<string, string | undefined>, secretKeys: Set<string>): MigrationConfig<string> {
    const r = new Reader(raw, secretKeys);

    const domain = r.required("domain", "social.example.org", "is required (LOCAL_DOMAIN of the instance)");
    r.check(!domain || HOSTNAME.test(domain), `domain must be a host name like social.example.org, got ${JSON.stringify(domain)}: ${set("domain", "social.example.org")}`);
    const phase = r.oneOf("phase", PHASES);

    const sourceHost = r.required("sourceHost", "203.0.113.10");
    r.check(!sourceHost || isHostOrIp(sourceHost), `sourceHost must be an IP address or host name, got ${JSON.stringify(sourceHost)}: ${set("sourceHost", "203.0.113.10")}`);
    const sourcePublicIp = r.string("sourcePublicIp") || (IPV4.test(sourceHost) ? sourceHost : "");
    const dnsEnabled = r.boolean("dnsEnabled");
    if (dnsEnabled) {
        r.check(IPV4.test(sourcePublicIp), `sourcePublicIp must be the IPv4 the A record points to today (rollback puts it back)` +
            `${r.string("sourcePublicIp") ? `, got ${JSON.stringify(r.string("sourcePublicIp"))}` : ""}: ${set("sourcePublicIp", "203.0.113.10")}`);
    }

    const targetKind = r.oneOf("targetKind", ["aws", "existing"] as const);
    const targetHost = r.string("targetHost");
    if (targetKind === "existing") {
        r.check(!!targetHost, `targetHost is required when targetKind is existing: ${set("targetHost", "198.51.100.20")}`);
        r.check(!targetHost || isHostOrIp(targetHost), `targetHost must be an IP address or host name, got ${JSON.stringify(targetHost)}: ${set("targetHost", "198.51.100.20")}`);
        if (dnsEnabled) {
            r.check(!targetHost || IPV4.test(targetHost), `targetHost must be an IPv4 when dnsEnabled (the A record points to it), got ${JSON.stringify(targetHost)}: ${set("targetHost", "198.51.100.20")}`);
        }
    } else {
        r.check(!targetHost, `targetHost must be empty when targetKind is aws (the Elastic IP is used): pulumi config rm targetHost`);
    }
    r.check(!(targetKind === "existing" && targetHost && targetHost === sourceHost),
        `targetHost equals sourceHost (${targetHost}): the new server must be another machine: ${set("targetHost", "198.51.100.20")}`);

    for (const key of ["sourceSshUser", "targetSshUser", "sourceMastodonUser", "targetMastodonUser"] as const) {
        const v = r.string(key);
        r.check(UNIX_USER.test(v), `${key} must be a Unix user name, got ${JSON.stringify(v)}: ${set(key, String(defaultOf(key)))}`);
    }
    for (const key of ["sourceDbName", "sourceDbRole", "targetDbRole"] as const) {
        const v = r.string(key);
        r.check(PG_IDENT.test(v), `${key} must be a lowercase PostgreSQL identifier, got ${JSON.stringify(v)}: ${set(key, String(defaultOf(key)))}`);
    }
    for (const key of ["sourceLiveDir", "targetLiveDir", "workDir", "nginxSite", "tlsDir"] as const) {
        const v = r.string(key);
        r.check(ABS_PATH.test(v) && !v.includes("..") && v !== "/", `${key} must be an absolute path without quotes or "..", got ${JSON.stringify(v)}: ${set(key, String(defaultOf(key)))}`);
    }
    for (const key of ["sourceHostKey", "targetHostKey"] as const) {
        const v = r.string(key);
        r.check(!v || /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+$/.test(v.trim()), `${key} must look like "ssh-ed25519 AAAA..." (ssh-keyscan output without the host name): ${set(key, "'ssh-ed25519 AAAA...'")}`);
    }

    const sourcePort = r.integer("sourcePort", 1, 65535);
    const targetPort = r.integer("targetPort", 1, 65535);
    const sourceKey = r.secret("sourceSshKey");
    const targetKey = r.secret("targetSshKey");

    let aws: AwsTargetConfig | undefined;
    if (targetKind === "aws") {
        const adminCidrs = r.stringArray("adminCidrs", "198.51.100.7/32");
        r.check(adminCidrs.length > 0, `adminCidrs is required when targetKind is aws (SSH is open to these only; include the old server's address): pulumi config set --path 'adminCidrs[0]' 198.51.100.7/32`);
        for (const c of adminCidrs) {
            r.check(CIDR4.test(c), `adminCidrs entry ${JSON.stringify(c)} is not an IPv4 CIDR like 198.51.100.7/32`);
            r.check(c !== "0.0.0.0/0", `adminCidrs must not open SSH to the world (0.0.0.0/0): list the admin and old-server addresses`);
        }
        const ami = r.string("awsAmi");
        r.check(!ami || /^ami-[0-9a-f]{8,17}$/.test(ami), `awsAmi must be an AMI id like ami-0123456789abcdef0, got ${JSON.stringify(ami)}: ${set("awsAmi", "ami-0123456789abcdef0")}`);
        const subnetId = r.string("awsSubnetId");
        r.check(!subnetId || /^subnet-[0-9a-f]{8,17}$/.test(subnetId), `awsSubnetId must be a subnet id like subnet-0123abcd, got ${JSON.stringify(subnetId)}: ${set("awsSubnetId", "subnet-0123456789abcdef0")}`);
        const publicKey = r.required("targetSshPublicKey", "\"$(cat ~/.ssh/id_ed25519.pub)\"", "is required when targetKind is aws (the EC2 key pair)");
        r.check(!publicKey || /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) /.test(publicKey), `targetSshPublicKey must be an OpenSSH public key ("ssh-ed25519 AAAA..."): ${set("targetSshPublicKey", "\"$(cat ~/.ssh/id_ed25519.pub)\"")}`);
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
        const zoneId = r.required("cloudflareZoneId", "0123456789abcdef0123456789abcdef", "is required when dnsEnabled (set dnsEnabled false for a rehearsal stack)");
        const recordId = r.required("cloudflareRecordId", "0123456789abcdef0123456789abcdef", "is required when dnsEnabled (the A record to adopt)");
        for (const key of ["cloudflareZoneId", "cloudflareRecordId", "cloudflareAaaaRecordId"] as const) {
            const v = r.string(key);
            r.check(!v || /^[0-9a-f]{32}$/.test(v), `${key} must be a 32-character Cloudflare id, got ${JSON.stringify(v)}: ${set(key, "0123456789abcdef0123456789abcdef")}`);
        }
        const aaaaRecordId = r.string("cloudflareAaaaRecordId") || undefined;
        if (aaaaRecordId) {
            const v6 = r.string("sourcePublicIpv6");
            r.check(IPV6.test(v6) && v6.includes(":"), `sourcePublicIpv6 is required with cloudflareAaaaRecordId (the AAAA rollback address): ${set("sourcePublicIpv6", "2001:db8::10")}`);
            if (targetKind === "existing") {
                const t6 = r.string("targetPublicIpv6");
                r.check(IPV6.test(t6) && t6.includes(":"), `targetPublicIpv6 is required with cloudflareAaaaRecordId when targetKind is existing: ${set("targetPublicIpv6", "2001:db8::20")}`);
            }
        }
        const name = r.string("dnsRecordName") || domain;
        r.check(!domain || name === domain || name.endsWith(`.${domain}`) || domain.endsWith(`.${name}`) || HOSTNAME.test(name),
            `dnsRecordName must be a fully qualified name: ${set("dnsRecordName", domain || "social.example.org")}`);
        const proxied = r.boolean("dnsProxied");
        const lowTtl = r.integer("dnsLowTtl", 30, 86400);
        const normalTtl = r.integer("dnsNormalTtl", 30, 86400);
        r.check(proxied || lowTtl >= 60 || lowTtl === 30, `dnsLowTtl must be 60..86400 (30 only on Enterprise zones)`);
        r.check(lowTtl <= normalTtl, `dnsLowTtl (${lowTtl}) must not exceed dnsNormalTtl (${normalTtl}): ${set("dnsLowTtl", "300")}`);
        dns = { zoneId, recordId, aaaaRecordId, name, lowTtl, normalTtl, proxied };
    }

    const config: MigrationConfig<string> = {
        domain,
        phase,
        source: {
            ssh: { host: sourceHost, port: sourcePort, user: r.string("sourceSshUser"), privateKey: sourceKey, hostKey: r.string("sourceHostKey") || undefined },
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
            ssh: { host: targetHost, port: targetPort, user: r.string("targetSshUser"), privateKey: targetKey, hostKey: r.string("targetHostKey") || undefined },
            mastodonUser: r.string("targetMastodonUser"),
            liveDir: r.string("targetLiveDir"),
            dbRole: r.string("targetDbRole"),
            workDir: r.string("workDir"),
            publicIpv6: r.string("targetPublicIpv6") || undefined,
            aws,
        },
        dns,
        database: { restoreJobs: r.integer("dbRestoreJobs", 1, 64), allowNonEmptyTarget: r.boolean("dbAllowNonEmptyTarget") },
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

/**
 * Read the stack config from the Pulumi runtime and validate it. Secret values (the SSH keys) are
 * wrapped with `pulumi.secret` so they reach state only encrypted.
 */
export function loadConfig(): MigrationConfig {
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    const secretKeys = new Set<string>();
    // The runtime knows which keys were set with --secret; this accessor is internal to the SDK.
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = value;
        if (isSecret?.(key)) secretKeys.add(name);
    }
    const parsed = parseConfig(raw, secretKeys);
    return {
        ...parsed,
        source: { ...parsed.source, ssh: { ...parsed.source.ssh, privateKey: pulumi.secret(parsed.source.ssh.privateKey) } },
        target: { ...parsed.target, ssh: { ...parsed.target.ssh, privateKey: pulumi.secret(parsed.target.ssh.privateKey) } },
    };
}
