import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../lib/config-parse";
import { awsOverrides, baseConfig, runProgram } from "./harness";

const secrets = new Set(["sourceSshKey", "targetSshKey"]);
const problemsOf = (raw: Record<string, string | undefined>, secretKeys = secrets): string[] => {
    try {
        parseConfig(raw, secretKeys);
        return [];
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
};

describe("config validation", () => {
    it("accepts a complete existing-target config and applies the declared defaults", () => {
        const cfg = parseConfig(baseConfig(), secrets);
        expect(cfg.source.liveDir).toBe("/home/mastodon/live");
        expect(cfg.source.dbName).toBe("mastodon_production");
        expect(cfg.target.dbRole).toBe("mastodon");
        expect(cfg.dns?.name).toBe("social.example.org");
        expect(cfg.dns?.lowTtl).toBe(300);
        expect(cfg.source.publicIp).toBe("203.0.113.10");
    });

    it("accepts an aws config", () => {
        const cfg = parseConfig(baseConfig(awsOverrides), secrets);
        expect(cfg.target.aws?.adminCidrs).toEqual(["198.51.100.7/32", "203.0.113.10/32"]);
        expect(cfg.target.aws?.rootVolumeGb).toBe(100);
    });

    // Each malformed config: the key that must be named in the message.
    const malformed: [string, Record<string, string | undefined>, string][] = [
        ["missing domain", { domain: undefined }, "domain is required"],
        ["domain not a host name", { domain: "not a domain" }, "domain must be a host name"],
        ["unknown phase", { phase: "cut-over" }, "phase must be one of prepare, cutover, complete"],
        ["missing source host", { sourceHost: undefined }, "sourceHost is required"],
        ["port out of range", { sourcePort: "70000" }, "sourcePort must be a whole number"],
        ["port not a number", { targetPort: "ssh" }, "targetPort must be a whole number"],
        ["missing SSH key", { sourceSshKey: undefined }, "sourceSshKey is required: pulumi config set --secret sourceSshKey"],
        ["SSH key not a private key", { targetSshKey: "hunter2" }, "targetSshKey is not a PEM/OpenSSH private key"],
        ["unknown target kind", { targetKind: "gcp" }, "targetKind must be one of aws, existing"],
        ["existing target without host", { targetHost: undefined }, "targetHost is required when targetKind is existing"],
        ["target equals source", { targetHost: "203.0.113.10" }, "targetHost equals sourceHost"],
        ["boolean typo", { mediaOnS3: "yes" }, "mediaOnS3 must be true or false"],
        ["bad db role", { targetDbRole: "Mastodon-Prod" }, "targetDbRole must be a lowercase PostgreSQL identifier"],
        ["relative live dir", { sourceLiveDir: "live" }, "sourceLiveDir must be an absolute path"],
        ["DNS without zone", { cloudflareZoneId: undefined }, "cloudflareZoneId is required when dnsEnabled"],
        ["malformed record id", { cloudflareRecordId: "abc" }, "cloudflareRecordId must be a 32-character Cloudflare id"],
        ["low TTL above normal", { dnsLowTtl: "7200", dnsNormalTtl: "3600" }, "dnsLowTtl (7200) must not exceed dnsNormalTtl"],
        ["DNS-only TTL below 60", { dnsLowTtl: "45" }, "dnsLowTtl must be 60..86400"],
        ["rollback address unknown", { sourceHost: "old.example.org" }, "sourcePublicIp must be the IPv4"],
        ["unknown key (typo)", { dbRestorejobs: "4" }, "dbRestorejobs: unknown key (did you mean dbRestoreJobs?)"],
        ["aws without admin CIDRs", { ...awsOverrides, adminCidrs: undefined }, "adminCidrs is required when targetKind is aws"],
        [
            "aws SSH open to the world",
            { ...awsOverrides, adminCidrs: JSON.stringify(["0.0.0.0/0"]) },
            "adminCidrs must not open SSH to the world",
        ],
        ["aws with a target host", { ...awsOverrides, targetHost: "198.51.100.20" }, "targetHost must be empty when targetKind is aws"],
        ["aws AMI malformed", { ...awsOverrides, awsAmi: "ubuntu-24.04" }, "awsAmi must be an AMI id"],
        [
            "ssh-rsa host key pinned (the command provider then offers only SHA-1 ssh-rsa, refused by OpenSSH >= 8.8)",
            { sourceHostKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" },
            "sourceHostKey pins an ssh-rsa key: the command provider would then accept only SHA-1 ssh-rsa signatures",
        ],
    ];
    it.each(malformed)("rejects %s, naming the key", (_, overrides, expected) => {
        const problems = problemsOf(baseConfig(overrides));
        expect(problems.join("\n")).toContain(expected);
    });

    it("rejects an EC2 target without the AWS provider's region (aws:region or AWS_REGION), naming the key", () => {
        const problems = (env: { awsRegion?: string }) => {
            try {
                parseConfig(baseConfig(awsOverrides), secrets, env);
                return [];
            } catch (e) {
                return (e as ConfigError).problems;
            }
        };
        expect(problems({}).join("\n")).toContain("aws:region is required when targetKind is aws: pulumi config set aws:region");
        expect(problems({ awsRegion: "eu-central-1" })).toEqual([]);
    });

    it("rejects an SSH key stored in plaintext", () => {
        expect(problemsOf(baseConfig(), new Set(["targetSshKey"])).join("\n")).toContain(
            "sourceSshKey is stored in plaintext: pulumi config rm sourceSshKey && pulumi config set --secret sourceSshKey",
        );
    });

    it("reports every problem at once, each with its fix", () => {
        const problems = problemsOf(baseConfig({ domain: undefined, sourcePort: "0", targetKind: "gcp", dnsProxied: "maybe" }));
        expect(problems.length).toBeGreaterThanOrEqual(4);
        for (const p of problems) expect(p).toMatch(/pulumi config (set|rm)/);
    });

    it.each(malformed.slice(0, 12))("fails before any resource registers: %s", async (_, overrides) => {
        const run = await runProgram(baseConfig(overrides));
        expect(run.error).toBeInstanceOf(ConfigError);
        expect(run.resources).toEqual([]);
    });
});
