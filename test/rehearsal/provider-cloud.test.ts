/**
 * The rehearsal's STAND-IN `aws` 7.48.0 and `cloudflare` 6.22.1 provider plugins (rehearsal/providers/aws,
 * /cloudflare), installed as plugins into a private PULUMI_HOME and driven by the REAL Pulumi CLI through the
 * Automation API with small inline programs.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cliRoot as toolsRoot } from "../../rehearsal/pulumi/tools";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecord, seedZone } from "../../rehearsal/providers/cloudflare/zone";
import { ArchiveBucket, UploadCredentials } from "../../components/archive-bucket";
import { Dns } from "../../components/dns";
import { Ec2Host } from "../../components/ec2-host";
import { ParkedRecords } from "../../components/parked-dns";

const REPO = path.resolve(__dirname, "..", "..");
const TSX_LOADER = path.join(REPO, "node_modules", "tsx", "dist", "loader.mjs");
const PLUGINS = [
    { name: "aws", version: "7.48.0" },
    { name: "cloudflare", version: "6.22.1" },
];
const ADDRESS = "192.0.2.10";
const REGION = "eu-central-1";
const ZONE = "0123456789abcdef0123456789abcdef";
const RECORD = "fedcba9876543210fedcba9876543210";
const KEY_1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example";
const KEY_2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LXR3by1mb3ItdGhlLXN0YW5kLWluLWF3cw admin@example";
const NOBLE = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-";

/** The real Pulumi CLI, as the rehearsal gets it (scripts/pulumi-tools.sh, or $PULUMI_ROOT). */
function pulumiCli(): string {
    return path.join(toolsRoot(), "bin", "pulumi");
}

let tmp: string;
let cliRoot: string;
let home: string;
let workDir: string;
let calls: string;
let awsState: string;
let zoneFile: string;

beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "provider-cloud-"));
    cliRoot = path.join(tmp, "cli");
    fs.mkdirSync(path.join(cliRoot, "bin"), { recursive: true });
    fs.symlinkSync(pulumiCli(), path.join(cliRoot, "bin", "pulumi"));
    home = path.join(tmp, "home");
    for (const p of PLUGINS) {
        const launcher = path.join(tmp, `pulumi-resource-${p.name}`);
        const entry = path.join(REPO, "rehearsal", "providers", p.name, "provider.ts");
        fs.writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" --import "${TSX_LOADER}" "${entry}" "$@"\n`, { mode: 0o755 });
        execFileSync(pulumiCli(), ["plugin", "install", "resource", p.name, p.version, "--file", launcher], {
            env: { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true" },
            stdio: ["ignore", "ignore", "inherit"],
        });
    }
    workDir = path.join(tmp, "work");
    fs.mkdirSync(workDir);
    fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), "name: x\nruntime: nodejs\n");
    fs.mkdirSync(path.join(tmp, "backend"));
    calls = path.join(tmp, "calls.jsonl");
    awsState = path.join(tmp, "aws.json");
    zoneFile = path.join(tmp, "cloudflare.json");
});

afterAll(() => {
    if (tmp && !process.env.KEEP_PROVIDER_CLOUD_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

async function stackOf(
    name: string,
    program: () => Promise<Record<string, unknown> | void>,
    region: string | null = REGION,
): Promise<Stack> {
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: name, projectName: "x", program },
        {
            workDir,
            pulumiHome: home,
            pulumiCommand: await PulumiCommand.get({ root: cliRoot }),
            envVars: {
                PULUMI_CONFIG_PASSPHRASE: "test",
                PULUMI_BACKEND_URL: `file://${path.join(tmp, "backend")}`,
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                REHEARSAL_PROVIDER_CALLS: calls,
                REHEARSAL_AWS_STATE: awsState,
                REHEARSAL_CLOUDFLARE_STATE: zoneFile,
                REHEARSAL_AWS_ADDRESS: ADDRESS,
            },
        },
    );
    if (region) await stack.setConfig("aws:region", { value: region });
    return stack;
}

/** What the engine did, as "op type::name" (from the step events). */
function recorder(): {
    events: EngineEvent[];
    onEvent: (e: EngineEvent) => void;
    ops: () => string[];
    step: (op: string, name: string) => any;
} {
    const events: EngineEvent[] = [];
    const pre = () => events.flatMap(e => (e.resourcePreEvent ? [e.resourcePreEvent.metadata] : []));
    return {
        events,
        onEvent: e => events.push(e),
        ops: () => pre().map(m => `${m.op} ${m.type}::${m.urn.split("::").pop()}`),
        step: (op, name) => pre().find(m => m.op === op && m.urn.endsWith(`::${name}`)),
    };
}

/** `pulumi stack export` as an admin runs it (the Automation API's exportStack adds --show-secrets). */
function exportEncrypted(stackName: string): string {
    return execFileSync(path.join(cliRoot, "bin", "pulumi"), ["stack", "export", "--stack", stackName], {
        cwd: workDir,
        env: {
            ...process.env,
            PULUMI_HOME: home,
            PULUMI_BACKEND_URL: `file://${path.join(tmp, "backend")}`,
            PULUMI_CONFIG_PASSPHRASE: "test",
            PULUMI_SKIP_UPDATE_CHECK: "true",
        },
    }).toString();
}

const cloud = () =>
    JSON.parse(fs.readFileSync(awsState, "utf8")) as {
        resources: Record<string, { type: string; id: string; outputs: Record<string, unknown> }>;
    };
const inCloud = (type: string) => Object.values(cloud().resources).filter(r => r.type === type);
const callLog = () =>
    fs
        .readFileSync(calls, "utf8")
        .split("\n")
        .filter(Boolean)
        .map(l => JSON.parse(l) as Record<string, unknown>);

describe("stand-in aws: EC2", () => {
    const args = { publicKey: KEY_1, amiName: `${NOBLE}*`, tags: { Name: "one" } };
    const program = async () => {
        const vpc = aws.ec2.getVpcOutput({ default: true });
        const sg = new aws.ec2.SecurityGroup("web", { vpcId: vpc.id, description: "test group" });
        new aws.vpc.SecurityGroupIngressRule("ssh", {
            securityGroupId: sg.id,
            cidrIpv4: "198.51.100.7/32",
            ipProtocol: "tcp",
            fromPort: 22,
            toPort: 22,
        });
        new aws.vpc.SecurityGroupEgressRule("out", { securityGroupId: sg.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" });
        const key = new aws.ec2.KeyPair("key", { publicKey: args.publicKey });
        const ami = aws.ec2.getAmiOutput({
            mostRecent: args.amiName.endsWith("*"),
            owners: ["099720109477"],
            filters: [{ name: "name", values: [args.amiName] }],
        }).id;
        const instance = new aws.ec2.Instance("server", {
            ami,
            instanceType: "t3.large",
            vpcSecurityGroupIds: [sg.id],
            keyName: key.keyName,
            userData: "#cloud-config\n",
            rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true, deleteOnTermination: false },
            metadataOptions: { httpTokens: "required" },
            tags: args.tags,
        });
        const eip = new aws.ec2.Eip("eip", { domain: "vpc" }, { protect: true });
        // allowReassociation: a replaced instance gets the address before the old association is deleted.
        new aws.ec2.EipAssociation("eip-association", {
            instanceId: instance.id,
            allocationId: eip.allocationId,
            allowReassociation: true,
        });
        return {
            address: eip.publicIp,
            eipPrivateIp: eip.privateIp,
            allocationId: eip.allocationId,
            publicIp: instance.publicIp,
            privateIp: instance.privateIp,
            instanceId: instance.id,
            arn: instance.arn,
            ipv6: instance.ipv6Addresses,
            ami,
            keyName: key.keyName,
            groupId: sg.id,
        };
    };
    let stack: Stack;

    it("creates an instance and an Elastic IP that resolve to the given address", async () => {
        stack = await stackOf("ec2", program);
        const r = await stack.up();
        const o = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
        expect(o.address).toBe(ADDRESS);
        expect(o.eipPrivateIp).toBe(ADDRESS);
        expect(o.publicIp).toBe(ADDRESS);
        expect(o.privateIp).toBe(ADDRESS);
        expect(o.instanceId).toMatch(/^i-0[0-9a-f]{16}$/);
        expect(o.arn).toBe(`arn:aws:ec2:${REGION}:123456789012:instance/${o.instanceId}`);
        expect(o.allocationId).toMatch(/^eipalloc-0[0-9a-f]{16}$/);
        expect(o.groupId).toMatch(/^sg-0[0-9a-f]{16}$/);
        expect(o.ipv6).toEqual([]);
        const amiId = `ami-0${createHash("sha256").update(`ami:${REGION}:${NOBLE}20250821`).digest("hex").slice(0, 16)}`;
        expect(o.ami).toBe(amiId);
        expect(o.keyName).toMatch(/^terraform-\d{18}[0-9a-f]{8}$/);
        const [sg] = inCloud("aws:ec2/securityGroup:SecurityGroup");
        expect(sg!.outputs.name).toMatch(/^web-[0-9a-f]{7}$/);
        expect(inCloud("aws:ec2/eip:Eip")[0]!.outputs.associationId).toMatch(/^eipassoc-0/);
    });

    it("updates an instance whose tags change", async () => {
        args.tags = { Name: "two" };
        const p = recorder();
        const pv = await stack.preview({ onEvent: p.onEvent });
        expect(pv.changeSummary.update).toBe(1);
        expect(pv.changeSummary.replace ?? 0).toBe(0);
        expect(p.step("update", "server")?.detailedDiff?.["tags.Name"]?.diffKind).toBe("update");
        const u = recorder();
        const r = await stack.up({ onEvent: u.onEvent });
        expect(r.summary.resourceChanges?.update).toBe(1);
        expect(u.step("update", "server")).toBeDefined();
        expect(inCloud("aws:ec2/instance:Instance")[0]!.outputs.tags).toEqual({ Name: "two" });
    });

    it("replaces an instance whose AMI changes (ForceNew), in the preview and the update", async () => {
        const before = inCloud("aws:ec2/instance:Instance")[0]!.id;
        args.amiName = `${NOBLE}20250610`;
        const p = recorder();
        const pv = await stack.preview({ onEvent: p.onEvent });
        expect(pv.changeSummary.replace).toBeGreaterThanOrEqual(1);
        expect(p.step("replace", "server")?.detailedDiff?.ami?.diffKind).toBe("update-replace");
        const u = recorder();
        const r = await stack.up({ onEvent: u.onEvent });
        expect(r.summary.resourceChanges?.replace).toBeGreaterThanOrEqual(1);
        expect(u.step("replace", "server")).toBeDefined();
        const instances = inCloud("aws:ec2/instance:Instance");
        expect(instances).toHaveLength(1);
        expect(instances[0]!.id).not.toBe(before);
        expect(r.outputs.address!.value).toBe(ADDRESS);
    });

    it("replaces a key pair whose public key changes, and through keyName the instance", async () => {
        const beforeKey = inCloud("aws:ec2/keyPair:KeyPair")[0]!.id;
        args.publicKey = KEY_2;
        const p = recorder();
        const pv = await stack.preview({ onEvent: p.onEvent });
        expect(p.step("replace", "key")?.detailedDiff?.publicKey?.diffKind).toBe("update-replace");
        expect(p.step("replace", "server")).toBeDefined();
        expect(pv.changeSummary.replace).toBeGreaterThanOrEqual(2);
        const r = await stack.up();
        expect(r.summary.resourceChanges?.replace).toBeGreaterThanOrEqual(2);
        const keys = inCloud("aws:ec2/keyPair:KeyPair");
        expect(keys).toHaveLength(1);
        expect(keys[0]!.id).not.toBe(beforeKey);
        expect(inCloud("aws:ec2/instance:Instance")[0]!.outputs.keyName).toBe(keys[0]!.id);
    });

    it("refuses to destroy a protected Elastic IP; --exclude-protected leaves it", async () => {
        // The engine deletes what it may before it reaches the protected resource, then fails.
        await expect(stack.destroy()).rejects.toThrow(/cannot be deleted\s+because it is protected/);
        expect(inCloud("aws:ec2/eip:Eip")).toHaveLength(1);
        await stack.destroy({ excludeProtected: true });
        expect(Object.values(cloud().resources).map(r => r.type)).toEqual(["aws:ec2/eip:Eip"]);
        const state = (await stack.exportStack()).deployment as { resources: { type: string }[] };
        expect(state.resources.map(r => r.type)).toContain("aws:ec2/eip:Eip");
        expect(state.resources.map(r => r.type)).not.toContain("aws:ec2/instance:Instance");
    });
});

describe("stand-in cloudflare: an adopted DNS record", () => {
    const OTHER = "00112233445566778899aabbccddeeff";
    const NAME = "social.example.org";
    const args = { content: "198.51.100.1", ttl: 3600, protect: true };
    const program = async () => {
        const a = new cloudflare.DnsRecord(
            "a",
            { zoneId: ZONE, name: NAME, type: "A", content: args.content, ttl: args.ttl, proxied: false },
            { import: `${ZONE}/${RECORD}`, protect: args.protect, retainOnDelete: true },
        );
        const mx = new cloudflare.DnsRecord(
            "mx",
            { zoneId: ZONE, name: NAME, type: "MX", content: ".", priority: 0, ttl: 3600 },
            { retainOnDelete: true },
        );
        return { id: a.id, name: a.name, content: a.content, ttl: a.ttl, mxId: mx.id };
    };
    const records = () =>
        (JSON.parse(fs.readFileSync(zoneFile, "utf8")) as { zones: Record<string, { records: Record<string, unknown> }> }).zones[ZONE]!
            .records;
    let stack: Stack;

    beforeAll(() => {
        seedZone(zoneFile, ZONE, { id: RECORD, name: NAME, type: "A", content: "198.51.100.1", ttl: 3600, proxied: false });
        seedZone(zoneFile, ZONE, { id: OTHER, name: "www.example.org", type: "A", content: "198.51.100.1", ttl: 3600, proxied: false });
    });

    it("imports the record when the program says what it says, and changes nothing", async () => {
        stack = await stackOf("dns", program);
        const seeded = readRecord(zoneFile, RECORD)!;
        const u = recorder();
        const r = await stack.up({ onEvent: u.onEvent });
        expect(u.step("import", "a")).toBeDefined();
        expect(u.step("update", "a")).toBeUndefined();
        expect(r.outputs.id!.value).toBe(RECORD);
        expect(r.outputs.content!.value).toBe("198.51.100.1");
        expect(r.outputs.mxId!.value).toMatch(/^[0-9a-f]{32}$/);
        expect(readRecord(zoneFile, RECORD)).toEqual(seeded);
        expect(Object.keys(records())).toHaveLength(3);
    });

    it("updates the zone when a later phase changes content and TTL", async () => {
        args.content = "203.0.113.9";
        args.ttl = 300;
        const p = recorder();
        const pv = await stack.preview({ onEvent: p.onEvent });
        expect(pv.changeSummary.update).toBe(1);
        expect(Object.keys(p.step("update", "a")?.detailedDiff ?? {}).sort()).toEqual(["content", "ttl"]);
        const r = await stack.up();
        expect(r.summary.resourceChanges?.update).toBe(1);
        expect(readRecord(zoneFile, RECORD)).toMatchObject({ content: "203.0.113.9", ttl: 300, type: "A", name: NAME });
        expect(callLog().some(c => c.provider === "cloudflare" && c.method === "update" && c.ok === true)).toBe(true);
        // A refresh reads the record back as the zone holds it: nothing drifted.
        const rf = await stack.refresh();
        expect(rf.summary.resourceChanges?.update ?? 0).toBe(0);
    });

    it("leaves retained records in the zone on destroy", async () => {
        args.protect = false;
        await stack.up();
        await stack.destroy();
        expect(readRecord(zoneFile, RECORD)).toMatchObject({ content: "203.0.113.9", ttl: 300 });
        expect(Object.keys(records())).toHaveLength(3);
        expect(callLog().filter(c => c.provider === "cloudflare" && c.method === "delete")).toEqual([]);
        const state = (await stack.exportStack()).deployment as { resources?: { type: string }[] };
        expect((state.resources ?? []).map(r => r.type)).not.toContain("cloudflare:index/dnsRecord:DnsRecord");
    });

    it("imports a record that says otherwise, THEN updates it to the program's inputs (pulumi 3.248: no import failure)", async () => {
        const other = await stackOf("dns-differ", async () => {
            const www = new cloudflare.DnsRecord(
                "www",
                { zoneId: ZONE, name: "www.example.org", type: "A", content: "203.0.113.50", ttl: 3600, proxied: false },
                { import: `${ZONE}/${OTHER}`, retainOnDelete: true },
            );
            return { content: www.content };
        });
        let out = "";
        const p = recorder();
        await other.preview({ onEvent: p.onEvent, onOutput: s => (out += s) });
        expect(p.step("import", "www")).toBeDefined();
        expect(p.step("update", "www")?.detailedDiff?.content?.diffKind).toBe("update");
        expect(out).not.toContain("inputs to import do not match");
        expect(readRecord(zoneFile, OTHER)!.content).toBe("198.51.100.1");
        const u = recorder();
        await other.up({ onEvent: u.onEvent });
        expect(u.step("import", "www")).toBeDefined();
        expect(u.step("update", "www")).toBeDefined();
        expect(readRecord(zoneFile, OTHER)!.content).toBe("203.0.113.50");
    });

    it("fails an import of a record the zone does not have", async () => {
        const missing = await stackOf("dns-missing", async () => {
            new cloudflare.DnsRecord(
                "gone",
                { zoneId: ZONE, name: NAME, type: "AAAA", content: "2001:db8::1", ttl: 3600 },
                { import: `${ZONE}/ffffffffffffffffffffffffffffffff`, retainOnDelete: true },
            );
        });
        await expect(missing.up()).rejects.toThrow(/404 Not Found .*Record does not exist/);
    });
});

describe("stand-in aws: S3 and IAM", () => {
    it("keeps an access key's secret encrypted in the state, and out of the account file and the call log", async () => {
        const stack = await stackOf("archive", async () => {
            const bucket = new aws.s3.Bucket("archive", { forceDestroy: false, tags: { purpose: "test" } });
            const named = new aws.s3.Bucket("named", { bucket: "mastodon-archive-test" });
            const child = { dependsOn: [named] };
            new aws.s3.BucketPublicAccessBlock(
                "private",
                { bucket: named.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
                child,
            );
            new aws.s3.BucketOwnershipControls("owner", { bucket: named.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
            new aws.s3.BucketVersioning("versioning", { bucket: named.id, versioningConfiguration: { status: "Enabled" } }, child);
            new aws.s3.BucketServerSideEncryptionConfiguration(
                "encryption",
                { bucket: named.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
                child,
            );
            new aws.s3.BucketLifecycleConfiguration(
                "expiry",
                {
                    bucket: named.id,
                    rules: [
                        {
                            id: "expire",
                            status: "Enabled",
                            filter: {},
                            expiration: { days: 30 },
                            noncurrentVersionExpiration: { noncurrentDays: 30 },
                        },
                    ],
                },
                child,
            );
            const user = new aws.iam.User("upload", { path: "/mastodon-migration/", forceDestroy: true });
            const policy = new aws.iam.UserPolicy("upload", {
                user: user.name,
                policy: named.arn.apply(arn =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: `${arn}/x` }],
                    }),
                ),
            });
            const key = new aws.iam.AccessKey("upload", { user: user.name }, { dependsOn: [policy] });
            return { autoBucket: bucket.bucket, bucketArn: named.arn, user: user.name, keyId: key.id, secret: key.secret };
        });
        const r = await stack.up();
        expect(r.outputs.autoBucket!.value).toMatch(/^archive-[0-9a-f]{7}$/);
        expect(r.outputs.bucketArn!.value).toBe("arn:aws:s3:::mastodon-archive-test");
        expect(r.outputs.user!.value).toMatch(/^upload-[0-9a-f]{7}$/);
        expect(r.outputs.keyId!.value).toMatch(/^AKIA[A-Z2-7]{16}$/);
        expect(r.outputs.secret!.secret).toBe(true);
        const plaintext = String(r.outputs.secret!.value);
        expect(plaintext).toHaveLength(40);
        const text = exportEncrypted("archive");
        expect(text).not.toContain(plaintext);
        const deployment = (JSON.parse(text) as { deployment: unknown }).deployment as {
            resources: { type: string; outputs?: Record<string, any> }[];
        };
        const stored = deployment.resources.find(x => x.type === "aws:iam/accessKey:AccessKey")!;
        expect(stored.outputs!.secret["4dabf18193072939515e22adb298388d"]).toBe("1b47061264138c4ac30d75fd1eb44270");
        expect(stored.outputs!.secret.ciphertext).toEqual(expect.any(String));
        expect(fs.readFileSync(awsState, "utf8")).not.toContain(plaintext);
        expect(fs.readFileSync(calls, "utf8")).not.toContain(plaintext);
        await stack.destroy();
        expect(inCloud("aws:iam/accessKey:AccessKey")).toEqual([]);
    });
});

describe("the program's components on the stand-ins", () => {
    const ADOPTED = "abcdefabcdefabcdefabcdefabcdef01";
    const args = { publicKey: KEY_1 };
    const program = async () => {
        const host = new Ec2Host("target", {
            domain: "components.example.org",
            facts: {
                mastodonVersion: "v4.3.2",
                pgMajor: 16,
                collate: "C.UTF-8",
                dbBytes: 1,
                mediaBytes: 1,
                redisPort: 6379,
                redisVersion: "7.0.15",
                pgbouncer: false,
            },
            mastodonUser: "mastodon",
            dbRole: "mastodon",
            liveDir: "/home/mastodon/live",
            ipv6: false,
            elasticsearch: false,
            instanceType: "t3.large",
            rootVolumeGb: 100,
            adminCidrs: ["198.51.100.7/32"],
            publicKey: args.publicKey,
        });
        const bucket = new ArchiveBucket("archive-bucket", {
            bucket: "mastodon-final-archive-test",
            days: 30,
            domain: "components.example.org",
        });
        const upload = new UploadCredentials("archive-bucket-upload", { bucketArn: bucket.arn, key: "archive.tar.gpg" });
        const dns = new Dns("dns", {
            zoneId: ZONE,
            name: "components.example.org",
            proxied: false,
            adopted: false,
            records: [{ suffix: "a", type: "A", recordId: ADOPTED, content: "198.51.100.1", ttl: 3600 }],
        });
        const parked = new ParkedRecords("parked", { zoneId: ZONE, name: "components.example.org" });
        return {
            address: host.address,
            ipv6: host.ipv6,
            bucket: bucket.name,
            keyId: upload.accessKey.id,
            dns: dns.state,
            parked: parked.names,
        };
    };
    let stack: Stack;

    it("deploys ec2-host, archive-bucket, dns and parked-dns", async () => {
        seedZone(zoneFile, ZONE, {
            id: ADOPTED,
            name: "components.example.org",
            type: "A",
            content: "198.51.100.1",
            ttl: 3600,
            proxied: false,
        });
        stack = await stackOf("components", program);
        const r = await stack.up();
        expect(r.outputs.address!.value).toBe(ADDRESS);
        expect(r.outputs.ipv6?.value).toBeUndefined();
        expect(r.outputs.bucket!.value).toBe("mastodon-final-archive-test");
        expect(r.outputs.keyId!.value).toMatch(/^AKIA/);
        expect(r.outputs.dns!.value).toEqual({ name: "components.example.org", content: "198.51.100.1", ttl: 3600 });
        expect(r.summary.resourceChanges?.import).toBe(1);
        const zone = Object.values(
            JSON.parse(fs.readFileSync(zoneFile, "utf8")).zones[ZONE].records as Record<string, { name: string; type: string }>,
        );
        expect(
            zone
                .filter(x => x.name.endsWith("components.example.org"))
                .map(x => x.type)
                .sort(),
        ).toEqual(["A", "MX", "TXT", "TXT"]);
    });

    it("keeps the server when the target's SSH key changes (the key pair ignores publicKey)", async () => {
        args.publicKey = KEY_2;
        const p = recorder();
        const pv = await stack.preview({ onEvent: p.onEvent });
        expect(p.ops().filter(o => !o.startsWith("same"))).toEqual([]);
        expect(pv.changeSummary.same).toBeGreaterThan(20);
    });
});

describe("stand-in aws: strict", () => {
    it("refuses a resource type it does not implement, naming it", async () => {
        const stack = await stackOf("unknown", async () => {
            new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16" });
        });
        await expect(stack.up()).rejects.toThrow(/unknown resource type aws:ec2\/vpc:Vpc/);
    });

    it("refuses a function it does not implement, naming it", async () => {
        const stack = await stackOf("unknown-fn", async () => ({
            id: aws.ec2.getInstanceOutput({ instanceId: "i-0123456789abcdef0" }).id,
        }));
        await expect(stack.up()).rejects.toThrow(/unknown function aws:ec2\/getInstance:getInstance/);
    });

    it("fails the check of a missing required input, naming the property", async () => {
        const stack = await stackOf("missing", async () => {
            // Past the SDK's own required-argument check: the provider's Check sees the missing input.
            class RawKeyPair extends pulumi.CustomResource {
                constructor(name: string) {
                    super("aws:ec2/keyPair:KeyPair", name, {});
                }
            }
            new RawKeyPair("key");
        });
        await expect(stack.up()).rejects.toThrow(/Missing required property 'publicKey'/);
    });

    it("wants aws:region, as the real provider does", async () => {
        const stack = await stackOf("no-region", async () => ({ id: aws.ec2.getVpcOutput({ default: true }).id }), null);
        await expect(stack.up()).rejects.toThrow(/missing required configuration key "aws:region"/);
    });
});
