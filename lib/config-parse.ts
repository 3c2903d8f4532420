/**
 * A pure parser that validates the whole stack config before any resource is declared, reporting every
 * problem at once, each naming the key and the `pulumi config` command that fixes it.
 */
import { CONFIG_KEYS, ConfigKey, defaultOf, PHASES } from "./config-keys";
import { AwsTargetConfig, DnsConfig, MigrationConfig } from "./config-types";

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
        if (v === undefined) {
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
 * Throws ConfigError listing every problem.
 */
export function parseConfig(raw: Record<string, string | undefined>, secretKeys: Set<string>): MigrationConfig<string> {
    const r = new Reader(raw, secretKeys);

    const domain = r.required("domain", "social.example.org", "is required (LOCAL_DOMAIN of the instance)");
    r.check(
        !domain || HOSTNAME.test(domain),
        `domain must be a host name like social.example.org, got ${JSON.stringify(domain)}: ${set("domain", "social.example.org")}`,
    );
    const phase = r.oneOf("phase", PHASES);

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

    const targetKind = r.oneOf("targetKind", ["aws", "existing"] as const);
    const targetHost = r.string("targetHost");
    if (targetKind === "existing") {
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
        !(targetKind === "existing" && targetHost && targetHost === sourceHost),
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
    }

    const sourcePort = r.integer("sourcePort", 1, 65535);
    const targetPort = r.integer("targetPort", 1, 65535);
    const sourceKey = r.secret("sourceSshKey");
    const targetKey = r.secret("targetSshKey");

    let aws: AwsTargetConfig | undefined;
    if (targetKind === "aws") {
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
            if (targetKind === "existing") {
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

    const config: MigrationConfig<string> = {
        domain,
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
