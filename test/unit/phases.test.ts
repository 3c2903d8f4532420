import { describe, expect, it } from "vitest";
import { recordFor } from "../../lib/phase";
import { awsOverrides, baseConfig, runProgram } from "./harness";

const commands = (names: string[]) =>
    names.filter(
        n =>
            ![
                "preflight",
                "target",
                "migration-key",
                "config",
                "maintenance",
                "source-services",
                "media",
                "database",
                "redis",
                "app",
                "verify",
                "dns",
            ].includes(n),
    );
const CUTOVER_ONLY = [
    "maintenance-page",
    "source-services-stop",
    "database-dump",
    "database-transfer",
    "database-restore",
    "redis-copy",
    "media-final",
    "app-start",
    "app-health",
    "app-feeds",
    "verify-counts",
];

describe("phases", () => {
    it("prepare declares the preparation steps and nothing of the cutover", async () => {
        const run = await runProgram(baseConfig({ phase: "prepare" }));
        expect(run.error).toBeUndefined();
        expect(commands(run.names())).toEqual(
            expect.arrayContaining([
                "preflight-source",
                "target-ready",
                "migration-key-generate",
                "migration-key-authorize",
                "config-env",
                "config-nginx",
                "config-systemd",
                "config-pgbouncer",
                "media-presync",
                "app-precompile",
                "dns-a",
            ]),
        );
        for (const step of CUTOVER_ONLY) expect(run.names()).not.toContain(step);
        expect(run.byName("dns-a").inputs).toMatchObject({ content: "203.0.113.10", ttl: 300, type: "A", name: "social.example.org" });
    });

    it("cutover adds every downtime step and points DNS at the target server", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        expect(run.error).toBeUndefined();
        for (const step of CUTOVER_ONLY) expect(run.names()).toContain(step);
        expect(run.byName("dns-a").inputs).toMatchObject({ content: "198.51.100.20", ttl: 300 });
        expect(run.outputs?.verification).toMatchObject({ identical: true });
    });

    it("the steps that take the source server down have a delete that puts it back (rollback)", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        const del = (n: string) => String(run.byName(n).inputs.delete ?? "");
        expect(del("maintenance-page")).toContain("original page restored");
        expect(del("source-services-stop")).toContain('systemctl start "${units[@]}"');
        expect(del("redis-copy")).toContain("systemctl start redis-server");
        expect(del("app-start")).toContain('systemctl disable --now "${unit_list[@]}"');
        expect(del("database-restore")).toContain(`db_set_aside "$DB" rolled_back`);
        expect(del("database-restore")).not.toMatch(/DROP DATABASE/);
    });

    it("complete removes the migration key, restores the TTL and retains the source server's shutdown", async () => {
        const run = await runProgram(baseConfig({ phase: "complete" }), { previousPhase: "cutover" });
        expect(run.error).toBeUndefined();
        expect(run.names()).not.toContain("migration-key-generate");
        expect(run.names()).not.toContain("migration-key-authorize");
        expect(run.byName("dns-a").inputs).toMatchObject({ content: "198.51.100.20", ttl: 3600 });
        expect(run.byName("maintenance-page").retainOnDelete).toBe(true);
        expect(run.byName("source-services-stop").retainOnDelete).toBe(true);
        for (const step of CUTOVER_ONLY) expect(run.names()).toContain(step);
    });

    it("refuses to go back from complete, before any step is declared", async () => {
        const run = await runProgram(baseConfig({ phase: "prepare" }), { previousPhase: "complete" });
        expect(run.error?.message).toContain("phase prepare refused: this stack completed the move");
        expect(run.resources.map(r => r.type)).toEqual(["pulumi:pulumi:StackReference"]);
    });

    it("refuses complete before a cutover", async () => {
        const run = await runProgram(baseConfig({ phase: "complete" }), { previousPhase: "prepare" });
        expect(run.error?.message).toContain("phase complete refused: the cutover has not been deployed yet");
    });

    it("allows the rollback cutover -> prepare", async () => {
        const run = await runProgram(baseConfig({ phase: "prepare" }), { previousPhase: "cutover" });
        expect(run.error).toBeUndefined();
        expect(run.byName("dns-a").inputs.content).toBe("203.0.113.10");
    });

    it("adopts the existing DNS record by import id, protected and retained", async () => {
        const run = await runProgram(baseConfig());
        const a = run.byName("dns-a");
        expect(a.importId).toBe("023e105f4ecef8ad9ca31a8372d0c353/372e67954025e0ba6aaa6d586b9e0b59");
        expect(a.protect).toBe(true);
        expect(a.retainOnDelete).toBe(true);
    });

    it("a rehearsal stack (dnsEnabled false) declares no DNS record", async () => {
        const run = await runProgram(baseConfig({ dnsEnabled: "false", phase: "cutover" }), { previousPhase: "prepare" });
        expect(run.error).toBeUndefined();
        expect(run.resources.filter(r => r.type.startsWith("cloudflare:"))).toEqual([]);
        expect(run.outputs?.dns).toContain("disabled");
    });

    it("media on S3: no media step at all", async () => {
        const run = await runProgram(baseConfig({ mediaOnS3: "true", phase: "cutover" }), { previousPhase: "prepare" });
        expect(run.error).toBeUndefined();
        expect(run.names().filter(n => n.startsWith("media"))).toEqual([]);
        expect(run.byName("verify-counts").dependsOn).toContain("database-restore");
    });

    it("proxied records use TTL 1 in every phase", () => {
        for (const phase of ["prepare", "cutover", "complete"] as const) {
            expect(recordFor(phase, { lowTtl: 300, normalTtl: 3600, proxied: true }, "old", "new").ttl).toBe(1);
        }
    });

    it("aws: EC2 with a separate EIP association, SG rules for admin CIDRs only, AMI that never replaces", async () => {
        const run = await runProgram(baseConfig(awsOverrides));
        expect(run.error).toBeUndefined();
        const types = run.resources.map(r => r.type);
        expect(types).toEqual(
            expect.arrayContaining([
                "aws:ec2/instance:Instance",
                "aws:ec2/eip:Eip",
                "aws:ec2/eipAssociation:EipAssociation",
                "aws:ec2/securityGroup:SecurityGroup",
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "aws:ec2/keyPair:KeyPair",
            ]),
        );
        const ssh = run.resources.filter(
            r => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.inputs.fromPort === 22,
        );
        expect(ssh.map(r => r.inputs.cidrIpv4).sort()).toEqual(["198.51.100.7/32", "203.0.113.10/32"]);
        const instance = run.byName("target-instance");
        expect(instance.inputs.ami).toBe("ami-0lookup");
        expect(instance.inputs.rootBlockDevice).toMatchObject({ volumeSize: 100, encrypted: true });
        expect(instance.inputs.securityGroups).toBeUndefined();
        const userData = Buffer.from(String(instance.inputs.userData).match(/content: (\S+)/)![1], "base64").toString();
        expect(userData).toContain("VERSION='v4.5.2'");
        expect(userData).not.toContain("mastodon:setup");
        expect(run.byName("target-cloud-init").dependsOn).toContain("target-eip-association");
        expect(run.byName("target-ready").dependsOn).toContain("target-cloud-init");
        expect(run.outputs?.targetAddress).toBe("192.0.2.50");
    });
});
