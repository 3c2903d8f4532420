/**
 * The policy pack (policy/): each policy called directly with arguments built the way @pulumi/policy 1.21.0
 * builds them (props behind its unknown-checking proxy, secrets unwrapped for validations and wrapped in
 * `Secret` for remediations, dependencies as resource objects), then the pack itself started as the Pulumi CLI
 * starts it and driven over its gRPC analyzer protocol.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as P from "../../policy/policies";
import { awsOverrides, baseConfig, Declared, runProgram } from "./harness";

const policyDir = join(__dirname, "..", "..", "policy");
// The runtime modules as the pack resolves them (the same copy of @pulumi/policy, so `Secret` is the same class).
const packRequire = createRequire(join(policyDir, "policies.ts"));
const policyLib = packRequire("@pulumi/policy") as typeof import("@pulumi/policy");
const { secretsPreservingProxy } = packRequire("@pulumi/policy/secret") as { secretsPreservingProxy: (v: unknown) => Record<string, any> };
/** The runtime's own deserializer: `proxySecrets` false for validations (secrets unwrapped), true for remediations. */
const { deserializeProperties } = packRequire("@pulumi/policy/deserialize") as {
    deserializeProperties: (struct: { toJavaScript(): unknown }, proxySecrets: boolean) => Record<string, any>;
};

/** The engine's placeholder for a value unknown during a preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey mastodon-migration@social.example.org";
const DNS = P.TYPES.dnsRecord;
const CMD = P.TYPES.command;

// ---------------------------------------------------------------------------------------------------------
// Arguments as the runtime builds them
// ---------------------------------------------------------------------------------------------------------

class NotApplicable extends Error {}

interface Outcome {
    violations: { message: string; urn?: string }[];
    /** The reason given to `args.notApplicable`, when the policy called it. */
    notApplicable?: string;
}

const urnOf = (type: string, name: string) => `urn:pulumi:test::mastodon-migration::${type}::${name}`;

function options(o: Partial<PolicyResourceOptions> & { retainOnDelete?: boolean } = {}): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        additionalSecretOutputs: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        ...o,
    };
}

const common = {
    stackTags: new Map<string, string>() as ReadonlyMap<string, string>,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
        throw new NotApplicable(reason ?? "");
    },
};

async function collect(run: (report: (message: string, urn?: string) => void) => Promise<void> | void): Promise<Outcome> {
    const violations: Outcome["violations"] = [];
    try {
        await run((message, urn) => violations.push({ message, urn }));
    } catch (e) {
        if (e instanceof NotApplicable) return { violations, notApplicable: e.message };
        throw e;
    }
    return { violations };
}

interface ResourceSpec {
    type: string;
    name: string;
    props?: Record<string, unknown>;
    opts?: Partial<PolicyResourceOptions> & { retainOnDelete?: boolean };
}

function resourceArgs(r: ResourceSpec): ResourceValidationArgs {
    const props = policyLib.unknownCheckingProxy(r.props ?? {});
    return {
        ...common,
        type: r.type,
        name: r.name,
        urn: urnOf(r.type, r.name),
        props,
        opts: options(r.opts),
        isType: () => false,
        asType: () => undefined,
    };
}

function validateResource(policy: ResourceValidationPolicy, r: ResourceSpec): Promise<Outcome> {
    const args = resourceArgs(r);
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    return collect(async report => {
        for (const v of validations) await v(args, report);
    });
}

interface StackSpec extends ResourceSpec {
    /** Names of the resources it depends on directly (the `dependsOn` of the program). */
    deps?: string[];
    /** Property → names, for dependencies that come from inputs. */
    propertyDeps?: Record<string, string[]>;
    parent?: string;
}

/** PolicyResources with parent and dependencies resolved to resource objects, as `analyzeStack` does. */
function stackArgs(specs: StackSpec[]): StackValidationArgs {
    const byName = new Map<string, PolicyResource>();
    const resources = specs.map(s => {
        const r = {
            type: s.type,
            name: s.name,
            urn: urnOf(s.type, s.name),
            props: policyLib.unknownCheckingProxy(s.props ?? {}),
            opts: options(s.opts),
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        } as unknown as PolicyResource;
        byName.set(s.name, r);
        return r;
    });
    const resolve = (names: string[]) => names.map(n => byName.get(n)).filter((r): r is PolicyResource => r !== undefined);
    specs.forEach((s, i) => {
        const r = resources[i];
        r.dependencies = resolve(s.deps ?? []);
        r.propertyDependencies = Object.fromEntries(Object.entries(s.propertyDeps ?? {}).map(([k, v]) => [k, resolve(v)]));
        if (s.parent) r.parent = byName.get(s.parent);
    });
    return { ...common, resources };
}

const validateStack = (policy: StackValidationPolicy, specs: StackSpec[]) =>
    collect(report => policy.validateStack(stackArgs(specs), report));

// ---------------------------------------------------------------------------------------------------------
// What the program declares, by phase
// ---------------------------------------------------------------------------------------------------------

interface Shape {
    aws?: boolean;
    mediaOnS3?: boolean;
    elasticsearch?: boolean;
    dns?: boolean;
    ipv6?: boolean;
}

/** The resources of a deployment of the program in `phase`, with the ordering the brief describes. */
function declared(phase: P.Phase, shape: Shape = {}): StackSpec[] {
    const { aws = false, mediaOnS3 = false, elasticsearch = false, dns = true, ipv6 = false } = shape;
    const cutover = phase !== "prepare";
    const specs: StackSpec[] = [{ type: P.TYPES.stack, name: "mastodon-migration-test", props: { phase } }];
    const component = (name: string, type: string) =>
        specs.push({ type: `mastodon-migration:index:${type}`, name, parent: "mastodon-migration-test" });
    const step = (parent: string, suffix: string, deps: string[] = [], opts: StackSpec["opts"] = {}) =>
        specs.push({
            type: CMD,
            name: `${parent}-${suffix}`,
            parent,
            deps,
            opts: { additionalSecretOutputs: ["connection"], ...opts },
            props: {
                connection: { host: "203.0.113.10", port: 22, user: "root", privateKey: KEY },
                create: `echo ${suffix}`,
                stdout: `step ${suffix}`,
            },
        });

    component("preflight", "Preflight");
    step("preflight", "source");
    component("target", "TargetServer");
    if (aws) {
        specs.push({ type: "aws:ec2/securityGroup:SecurityGroup", name: "target-sg", parent: "target" });
        specs.push({ type: "aws:ec2/keyPair:KeyPair", name: "target-key", parent: "target", props: { publicKey: PUBLIC_KEY } });
        specs.push({
            type: P.TYPES.ec2Instance,
            name: "target-instance",
            parent: "target",
            deps: ["target-sg", "target-key"],
            opts: { protect: true },
        });
        specs.push({ type: P.TYPES.eip, name: "target-eip", parent: "target", opts: { protect: true } });
        specs.push({
            type: "aws:ec2/eipAssociation:EipAssociation",
            name: "target-eip-association",
            parent: "target",
            deps: ["target-instance", "target-eip"],
        });
        step("target", "cloud-init", ["target-eip-association"]);
    }
    step("target", "ready", aws ? ["target-cloud-init"] : []);
    if (phase !== "complete") {
        component("migration-key", "MigrationKey");
        step("migration-key", "generate", ["target-ready"]);
        step("migration-key", "authorize", ["migration-key-generate"]);
    }
    const keyReady = phase !== "complete" ? ["target-ready", "migration-key-authorize"] : ["target-ready"];
    component("config", "ConfigFiles");
    for (const s of ["env", "nginx", "systemd", "pgbouncer"]) step("config", s, keyReady);
    if (cutover) {
        // The program declares these with retainOnDelete: true in complete; the runtime does not report that option.
        component("maintenance", "Maintenance");
        step("maintenance", "page", ["target-ready", "config-env"]);
        component("source-services", "StopServices");
        step("source-services", "stop", ["maintenance-page"]);
    }
    if (!mediaOnS3) {
        component("media", "Media");
        step("media", "presync", keyReady);
        if (cutover) step("media", "final", ["media-presync", "source-services-stop"]);
    }
    if (cutover) {
        component("database", "Database");
        step("database", "dump", ["source-services-stop", ...keyReady]);
        step("database", "transfer", ["database-dump"]);
        step("database", "restore", ["database-transfer", "target-ready"]);
        component("redis", "Redis");
        step("redis", "copy", ["source-services-stop", "config-env", ...keyReady]);
    }
    component("app", "Application");
    step("app", "precompile", ["config-env"]);
    if (cutover) {
        step("app", "start", ["app-precompile", "database-restore", "redis-copy", ...(mediaOnS3 ? [] : ["media-final"])]);
        step("app", "health", ["app-start"]);
        step("app", "feeds", ["app-health"]);
        if (elasticsearch) step("app", "search", ["app-health"]);
        component("verify", "Verify");
        step("verify", "counts", ["database-restore", ...(mediaOnS3 ? [] : ["media-final"]), ...keyReady]);
    }
    if (dns) {
        component("dns", "Dns");
        const records = ipv6 ? ["a", "aaaa"] : ["a"];
        for (const r of records) {
            specs.push({
                type: DNS,
                name: `dns-${r}`,
                parent: "dns",
                opts: { protect: true },
                deps: cutover ? ["app-health", "verify-counts"] : [],
                propertyDeps: aws ? { content: ["target-eip"] } : {},
            });
        }
    }
    return specs;
}

/** `specs` with the named resource changed (or removed, when `change` returns undefined). */
function edit(specs: StackSpec[], name: string, change: (s: StackSpec) => StackSpec | undefined): StackSpec[] {
    expect(specs.map(s => s.name)).toContain(name);
    return specs.flatMap(s => (s.name === name ? [change(s)].filter((x): x is StackSpec => x !== undefined) : [s]));
}
const without = (specs: StackSpec[], name: string) => edit(specs, name, () => undefined);
const withoutDep = (specs: StackSpec[], name: string, dep: string) =>
    edit(specs, name, s => ({ ...s, deps: (s.deps ?? []).filter(d => d !== dep) }));

const ALL_SHAPES: [string, Shape][] = [
    ["existing target", {}],
    ["aws target with IPv6", { aws: true, ipv6: true }],
    ["media on S3 with Elasticsearch", { mediaOnS3: true, elasticsearch: true }],
    ["DNS disabled", { dns: false }],
];

// ---------------------------------------------------------------------------------------------------------
// The policies
// ---------------------------------------------------------------------------------------------------------

describe("policy pack: the pack", () => {
    it("lists each policy once, with the enforcement the brief asks for", () => {
        expect(P.policies.map(p => p.name)).toEqual([
            "dns-record-protected",
            "ec2-protected",
            "cutover-data-waits-for-verification",
            "shutdown-retained-after-complete",
            "no-plaintext-secrets",
            "ssh-connection-sealed",
            "dns-waits-for-app-health",
            "no-private-key-in-outputs",
        ]);
        for (const p of P.policies) expect(p.enforcementLevel).toBe(p.name === "ssh-connection-sealed" ? "remediate" : "mandatory");
    });

    it.each(["prepare", "cutover", "complete"] as const)(
        "a well-formed %s deployment passes every stack policy, in every shape",
        async phase => {
            for (const [, shape] of ALL_SHAPES) {
                for (const p of P.policies.filter((x): x is StackValidationPolicy => "validateStack" in x)) {
                    expect((await validateStack(p, declared(phase, shape))).violations, `${p.name} ${JSON.stringify(shape)}`).toEqual([]);
                }
            }
        },
    );

    it("a well-formed deployment passes every resource policy", async () => {
        for (const phase of ["prepare", "cutover", "complete"] as const) {
            for (const spec of declared(phase, { aws: true, ipv6: true })) {
                for (const p of P.policies.filter(
                    (x): x is ResourceValidationPolicy => "validateResource" in x && x.validateResource !== undefined,
                )) {
                    expect((await validateResource(p, spec)).violations, `${p.name} on ${spec.name}`).toEqual([]);
                }
            }
        }
    });
});

describe("policy dns-record-protected", () => {
    const record = (opts: ResourceSpec["opts"]): ResourceSpec => ({
        type: DNS,
        name: "dns-a",
        props: { name: "social.example.org", type: "A", content: UNKNOWN },
        opts,
    });

    it("passes a protected record (content unknown during the preview)", async () => {
        expect(await validateResource(P.dnsRecordProtected, record({ protect: true }))).toEqual({ violations: [] });
    });

    it("rejects an unprotected record, naming it and the fix", async () => {
        const out = await validateResource(P.dnsRecordProtected, record({ protect: false }));
        expect(out.violations).toHaveLength(1);
        expect(out.violations[0].message).toMatch(/Cloudflare DNS record dns-a .* is not protected/);
        expect(out.violations[0].message).toContain("protect: true and retainOnDelete: true");
    });

    it("would also reject retainOnDelete: false, if a runtime reported the option (1.21.0 does not: the key is absent)", async () => {
        const out = await validateResource(P.dnsRecordProtected, record({ protect: true, retainOnDelete: false }));
        expect(out.violations.map(v => v.message)).toEqual([
            expect.stringContaining(
                "dns-a (urn:pulumi:test::mastodon-migration::cloudflare:index/dnsRecord:DnsRecord::dns-a) has retainOnDelete: false",
            ),
        ]);
        expect(P.retainOnDeleteOf(options({ protect: true }))).toBeUndefined();
    });

    it("does not apply to other types", async () => {
        const out = await validateResource(P.dnsRecordProtected, { type: P.TYPES.eip, name: "target-eip" });
        expect(out.violations).toEqual([]);
        expect(out.notApplicable).toContain(DNS);
    });
});

describe("policy ec2-protected", () => {
    it("passes a protected instance and Elastic IP", async () => {
        for (const type of [P.TYPES.ec2Instance, P.TYPES.eip]) {
            expect((await validateResource(P.ec2Protected, { type, name: "x", opts: { protect: true } })).violations).toEqual([]);
        }
    });

    it("rejects an unprotected instance and an unprotected Elastic IP", async () => {
        const instance = await validateResource(P.ec2Protected, { type: P.TYPES.ec2Instance, name: "target-instance" });
        expect(instance.violations.map(v => v.message)).toEqual([
            expect.stringMatching(/^EC2 instance target-instance .* is not protected: .*protect: true/),
        ]);
        const eip = await validateResource(P.ec2Protected, { type: P.TYPES.eip, name: "target-eip" });
        expect(eip.violations.map(v => v.message)).toEqual([expect.stringMatching(/^Elastic IP target-eip .* is not protected/)]);
    });

    it("does not apply to the security group, key pair or association", async () => {
        for (const type of ["aws:ec2/securityGroup:SecurityGroup", "aws:ec2/keyPair:KeyPair", "aws:ec2/eipAssociation:EipAssociation"]) {
            const out = await validateResource(P.ec2Protected, { type, name: "x" });
            expect(out).toMatchObject({ violations: [], notApplicable: expect.stringContaining(P.TYPES.ec2Instance) });
        }
    });
});

describe("policy cutover-data-waits-for-verification", () => {
    const policy = P.cutoverDataWaitsForVerification;

    it("does not apply in prepare: no data moves", async () => {
        const out = await validateStack(policy, declared("prepare"));
        expect(out).toEqual({ violations: [], notApplicable: expect.stringContaining("no cutover data step") });
    });

    it.each(ALL_SHAPES)("passes cutover and complete (%s)", async (_, shape) => {
        for (const phase of ["cutover", "complete"] as const) {
            expect(await validateStack(policy, declared(phase, shape))).toEqual({ violations: [] });
        }
    });

    it("rejects data steps without verify-counts", async () => {
        const out = await validateStack(policy, without(declared("cutover"), "verify-counts"));
        expect(out.violations).toHaveLength(1);
        expect(out.violations[0].message).toMatch(
            /database-dump, database-transfer, database-restore, media-final, redis-copy are declared but verify-counts is not/,
        );
        expect(out.violations[0].urn).toBe(urnOf(CMD, "database-dump"));
    });

    it("rejects verify-counts that does not wait for database-restore", async () => {
        const out = await validateStack(policy, withoutDep(declared("cutover"), "verify-counts", "database-restore"));
        expect(out.violations).toEqual([
            { message: expect.stringContaining("verify-counts does not depend on database-restore"), urn: urnOf(CMD, "verify-counts") },
        ]);
    });

    it("rejects verify-counts that does not wait for media-final", async () => {
        const out = await validateStack(policy, withoutDep(declared("complete"), "verify-counts", "media-final"));
        expect(out.violations.map(v => v.message)).toEqual([expect.stringContaining("verify-counts does not depend on media-final")]);
    });

    it("rejects data steps without database-restore for verify-counts to wait for", async () => {
        const out = await validateStack(policy, without(declared("cutover"), "database-restore"));
        expect(out.violations.map(v => v.message)).toEqual([expect.stringContaining("declared without database-restore")]);
    });

    it("rejects each DNS record that does not depend on verify-counts", async () => {
        const specs = withoutDep(
            withoutDep(declared("cutover", { aws: true, ipv6: true }), "dns-a", "verify-counts"),
            "dns-aaaa",
            "verify-counts",
        );
        const out = await validateStack(policy, specs);
        expect(out.violations.map(v => v.urn)).toEqual([urnOf(DNS, "dns-a"), urnOf(DNS, "dns-aaaa")]);
        expect(out.violations[0].message).toContain("DNS record dns-a does not depend on verify-counts");
    });

    it("counts only direct dependencies: DNS after app-health after verify-counts is not enough", async () => {
        let specs = withoutDep(declared("cutover"), "dns-a", "verify-counts");
        specs = edit(specs, "app-health", s => ({ ...s, deps: [...(s.deps ?? []), "verify-counts"] }));
        expect((await validateStack(policy, specs)).violations.map(v => v.urn)).toEqual([urnOf(DNS, "dns-a")]);
    });

    it("accepts a dependency that comes from an input (propertyDependencies)", async () => {
        const specs = edit(withoutDep(declared("cutover"), "dns-a", "verify-counts"), "dns-a", s => ({
            ...s,
            propertyDeps: { comment: ["verify-counts"] },
        }));
        expect((await validateStack(policy, specs)).violations).toEqual([]);
    });
});

describe("policy shutdown-retained-after-complete", () => {
    const policy = P.shutdownRetainedAfterComplete;

    it("infers the phase from the steps: database-restore, and migration-key-generate only before complete", () => {
        for (const phase of ["prepare", "cutover", "complete"] as const) {
            expect(P.inferPhase(stackArgs(declared(phase)).resources)).toBe(phase);
        }
    });

    it.each(["prepare", "cutover"] as const)("does not apply in %s (the shutdown may still be rolled back)", async phase => {
        expect(await validateStack(policy, declared(phase))).toEqual({
            violations: [],
            notApplicable: expect.stringContaining(`phase ${phase}`),
        });
    });

    it.each(ALL_SHAPES)("passes complete with both shutdown steps kept (%s)", async (_, shape) => {
        expect(await validateStack(policy, declared("complete", shape))).toEqual({ violations: [] });
    });

    it.each(["maintenance-page", "source-services-stop"])("rejects complete without %s: removing it would run its undo now", async name => {
        const out = await validateStack(policy, without(declared("complete"), name));
        expect(out.violations).toHaveLength(1);
        expect(out.violations[0].message).toContain(`phase complete without the step ${name}`);
        expect(out.violations[0].message).toContain(
            name === "maintenance-page" ? "original error page back" : "starts Mastodon again on the old server",
        );
    });

    it("applies when the stack's phase output says complete, even if the key steps are still declared", async () => {
        const specs = without(
            edit(declared("cutover"), "mastodon-migration-test", s => ({ ...s, props: { phase: "complete" } })),
            "source-services-stop",
        );
        expect((await validateStack(policy, specs)).violations.map(v => v.message)).toEqual([
            expect.stringContaining("without the step source-services-stop"),
        ]);
    });

    it("takes an unknown phase output as no evidence", async () => {
        const specs = edit(declared("cutover"), "mastodon-migration-test", s => ({ ...s, props: { phase: UNKNOWN } }));
        expect(P.stackOutputPhase(stackArgs(specs).resources)).toBeUndefined();
        expect((await validateStack(policy, specs)).notApplicable).toBeDefined();
    });

    it("would reject complete with retainOnDelete: false, if a runtime reported the option (1.21.0 does not)", async () => {
        const specs = edit(declared("complete"), "source-services-stop", s => ({ ...s, opts: { ...s.opts, retainOnDelete: false } }));
        const out = await validateStack(policy, specs);
        expect(out.violations).toEqual([
            {
                message: expect.stringContaining("source-services-stop has retainOnDelete: false in phase complete"),
                urn: urnOf(CMD, "source-services-stop"),
            },
        ]);
    });
});

describe("policy no-plaintext-secrets", () => {
    const step = (
        props: Record<string, unknown>,
        opts: ResourceSpec["opts"] = { additionalSecretOutputs: ["connection"] },
    ): ResourceSpec => ({
        type: CMD,
        name: "database-dump",
        props: { connection: { host: "203.0.113.10", user: "root", privateKey: KEY }, addPreviousOutputInEnv: false, ...props },
        opts,
    });

    it("passes a step whose key is only in connection.privateKey and whose connection is a secret output", async () => {
        expect(await validateResource(P.noPlaintextSecrets, step({ create: "pg_dump ...", triggers: ["x"] }))).toEqual({ violations: [] });
    });

    it("does not stop on values unknown during a preview", async () => {
        expect((await validateResource(P.noPlaintextSecrets, step({ connection: UNKNOWN, create: UNKNOWN }))).violations).toEqual([]);
    });

    it("rejects a remote command whose connection is not a secret output", async () => {
        const out = await validateResource(P.noPlaintextSecrets, step({}, {}));
        expect(out.violations.map(v => v.message)).toEqual([
            expect.stringContaining('database-dump does not list "connection" in additionalSecretOutputs'),
        ]);
    });

    it("rejects key material in any other input: a script, a trigger (even without its armour lines)", async () => {
        const body = KEY.split("\n")[1];
        const out = await validateResource(
            P.noPlaintextSecrets,
            step({ create: `cat > /root/.ssh/id <<'EOF'\n${KEY}EOF`, triggers: ["a", body] }),
        );
        expect(out.violations.map(v => v.message)).toEqual([
            expect.stringContaining('database-dump carries private key material in its input "create"'),
            expect.stringContaining('in its input "triggers.1"'),
        ]);
        for (const v of out.violations) expect(v.message).not.toContain(body);
    });

    it("rejects key material in the inputs of any resource type, and passes public keys", async () => {
        const instance = await validateResource(P.noPlaintextSecrets, {
            type: P.TYPES.ec2Instance,
            name: "target-instance",
            props: { userData: `#!/bin/sh\necho '${KEY}'` },
        });
        expect(instance.violations.map(v => v.message)).toEqual([
            expect.stringContaining('target-instance carries private key material in its input "userData"'),
        ]);
        const keyPair = await validateResource(P.noPlaintextSecrets, {
            type: "aws:ec2/keyPair:KeyPair",
            name: "target-key",
            props: { publicKey: PUBLIC_KEY },
        });
        expect(keyPair.violations).toEqual([]);
    });

    it("exempts connection.privateKey only on remote commands", async () => {
        const out = await validateResource(P.noPlaintextSecrets, {
            type: "custom:index:Thing",
            name: "thing",
            props: { connection: { privateKey: KEY } },
        });
        expect(out.violations.map(v => v.message)).toEqual([expect.stringContaining('"connection.privateKey"')]);
    });

    it("recognises PEM, OpenSSH and PuTTY private keys, not public keys", () => {
        expect(P.looksLikePrivateKey("-----BEGIN RSA PRIVATE KEY-----\nMIIE")).toBe(true);
        expect(P.looksLikePrivateKey("-----BEGIN PRIVATE KEY-----")).toBe(true);
        expect(P.looksLikePrivateKey("PuTTY-User-Key-File-3: ssh-ed25519")).toBe(true);
        expect(P.looksLikePrivateKey(KEY.split("\n")[1])).toBe(true);
        expect(P.looksLikePrivateKey(PUBLIC_KEY)).toBe(false);
        expect(P.looksLikePrivateKey("-----BEGIN PUBLIC KEY-----")).toBe(false);
    });
});

describe("policy ssh-connection-sealed (remediation)", () => {
    /** Inputs as the runtime hands them to remediations: secrets kept as `Secret`, behind both proxies. */
    const remediationProps = (raw: Record<string, unknown>) => policyLib.unknownCheckingProxy(secretsPreservingProxy(raw));
    const remediate = (type: string, raw: Record<string, unknown>) =>
        P.sshConnectionSealed.remediateResource!({ ...resourceArgs({ type, name: "database-dump" }), props: remediationProps(raw) });

    it("sees the secret marker a validation cannot: a sealed connection is left alone", async () => {
        const props = remediationProps({ connection: new policyLib.Secret({ host: "h", privateKey: KEY }) });
        expect(props.connection.privateKey).toBe(KEY); // what a validation sees: the plain value
        expect(await remediate(CMD, { connection: new policyLib.Secret({ host: "h", privateKey: KEY }), create: UNKNOWN })).toBeUndefined();
        expect(await remediate(CMD, { connection: { host: "h", privateKey: new policyLib.Secret(KEY) } })).toBeUndefined();
    });

    it("seals a connection that arrived with a plaintext key, keeping every other input as it was", async () => {
        const env = new policyLib.Secret({ TOKEN: "t" });
        const out = (await remediate(CMD, {
            connection: { host: "h", password: new policyLib.Secret("pw"), privateKey: KEY },
            create: UNKNOWN,
            environment: env,
        })) as Record<string, unknown>;
        expect(out.connection).toBeInstanceOf(policyLib.Secret);
        expect((out.connection as InstanceType<typeof policyLib.Secret>).value).toEqual({ host: "h", password: "pw", privateKey: KEY });
        expect(out.create).toBe(UNKNOWN);
        expect(out.environment).toBe(env);
    });

    it("leaves other resource types and connections without credentials alone", async () => {
        expect(await remediate("custom:index:Thing", { connection: { privateKey: KEY } })).toBeUndefined();
        expect(await remediate(CMD, { connection: { host: "h" } })).toBeUndefined();
        expect(await remediate(CMD, { connection: UNKNOWN })).toBeUndefined();
    });
});

describe("policy dns-waits-for-app-health", () => {
    it("does not apply before the new server is started", async () => {
        expect((await validateStack(P.dnsWaitsForAppHealth, declared("prepare"))).notApplicable).toContain("no app-health step");
    });

    it("passes cutover, rejects a record that does not wait for the health check", async () => {
        expect((await validateStack(P.dnsWaitsForAppHealth, declared("cutover"))).violations).toEqual([]);
        const out = await validateStack(P.dnsWaitsForAppHealth, withoutDep(declared("complete"), "dns-a", "app-health"));
        expect(out.violations).toEqual([
            { message: expect.stringContaining("DNS record dns-a does not depend on app-health"), urn: urnOf(DNS, "dns-a") },
        ]);
    });
});

describe("policy no-private-key-in-outputs", () => {
    it("passes public keys and unknown output", async () => {
        const specs = edit(declared("prepare"), "migration-key-generate", s => ({ ...s, props: { ...s.props, stdout: PUBLIC_KEY } }));
        expect(
            (
                await validateStack(
                    P.noPrivateKeyInOutputs,
                    edit(specs, "preflight-source", s => ({ ...s, props: { stdout: UNKNOWN } })),
                )
            ).violations,
        ).toEqual([]);
    });

    it("rejects a step that printed a private key, and a stack output holding one", async () => {
        let specs = edit(declared("prepare"), "migration-key-generate", s => ({
            ...s,
            props: { ...s.props, stdout: `${PUBLIC_KEY}\n${KEY}` },
        }));
        specs = edit(specs, "mastodon-migration-test", s => ({ ...s, props: { ...s.props, debug: { key: KEY } } }));
        const out = await validateStack(P.noPrivateKeyInOutputs, specs);
        expect(out.violations).toEqual([
            {
                message: expect.stringContaining("the stack output debug.key contains private key material"),
                urn: urnOf(P.TYPES.stack, "mastodon-migration-test"),
            },
            {
                message: expect.stringContaining("migration-key-generate printed to stdout contains private key material"),
                urn: urnOf(CMD, "migration-key-generate"),
            },
        ]);
    });
});

// ---------------------------------------------------------------------------------------------------------
// The program itself (test/unit/harness.ts runs it under mocks): every phase passes every policy
// ---------------------------------------------------------------------------------------------------------

describe("policy pack against the program", () => {
    /** What the engine would hand the policies: inputs deserialized by the runtime, dependsOn as dependencies. */
    const toSpecs = (resources: Declared[], outputs: Record<string, unknown> | undefined, proxySecrets = false): StackSpec[] => [
        { type: P.TYPES.stack, name: "mastodon-migration-test", props: outputs ?? {} },
        ...resources.map(r => ({
            type: r.type,
            name: r.name,
            props: deserializeProperties({ toJavaScript: () => JSON.parse(JSON.stringify(r.inputs ?? {})) }, proxySecrets),
            deps: r.dependsOn,
            // additionalSecretOutputs: what the @pulumi/command SDK sets on every remote command (tested below).
            opts: {
                protect: r.protect ?? false,
                additionalSecretOutputs: r.type.startsWith(P.COMMAND_REMOTE_PREFIX) ? ["connection"] : [],
            },
        })),
    ];
    const PHASES = [
        ["prepare", undefined],
        ["cutover", "prepare"],
        ["complete", "cutover"],
    ] as const;

    it.each([
        ["existing target", {}],
        ["aws target, media on S3, Elasticsearch", { ...awsOverrides, mediaOnS3: "true", elasticsearch: "true" }],
    ])("%s: every phase passes every policy, and the steps are where the policies look for them", async (_, overrides) => {
        for (const [phase, previousPhase] of PHASES) {
            const run = await runProgram(baseConfig({ phase, ...overrides }), { previousPhase });
            expect(run.error).toBeUndefined();
            const specs = toSpecs(run.resources, run.outputs);
            const args = stackArgs(specs);
            expect(P.inferPhase(args.resources)).toBe(phase);
            expect(P.stackOutputPhase(args.resources)).toBe(phase);
            for (const p of P.policies.filter((x): x is StackValidationPolicy => "validateStack" in x)) {
                const out = await validateStack(p, specs);
                expect(out.violations, `${p.name} in ${phase}`).toEqual([]);
                // Each rule applies in the phases it is about.
                const applies = {
                    "cutover-data-waits-for-verification": phase !== "prepare",
                    "shutdown-retained-after-complete": phase === "complete",
                    "dns-waits-for-app-health": phase !== "prepare",
                    "no-private-key-in-outputs": true,
                }[p.name];
                expect(out.notApplicable === undefined, `${p.name} applies in ${phase}`).toBe(applies);
            }
            for (const spec of specs) {
                for (const p of P.policies.filter(
                    (x): x is ResourceValidationPolicy => "validateResource" in x && x.validateResource !== undefined,
                )) {
                    expect((await validateResource(p, spec)).violations, `${p.name} on ${spec.name} in ${phase}`).toEqual([]);
                }
            }
            // The remediation sees every step's connection sealed by the program, so it changes nothing.
            for (const spec of toSpecs(run.resources, run.outputs, true).filter(s => s.type === CMD)) {
                expect(
                    P.sealConnection({ type: spec.type, props: policyLib.unknownCheckingProxy(spec.props!) }),
                    spec.name,
                ).toBeUndefined();
            }
        }
    });

    it("the @pulumi/command SDK marks a remote command's connection as a secret output (what no-plaintext-secrets checks)", async () => {
        pulumi.runtime.setMocks(
            { newResource: async a => ({ id: `${a.name}-id`, state: a.inputs }), call: async a => a.inputs },
            "p",
            "s",
            false,
        );
        const seen: string[][] = [];
        await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation(a => {
                if (a.type === CMD)
                    seen.push([...(((a.opts as pulumi.CustomResourceOptions).additionalSecretOutputs as string[] | undefined) ?? [])]);
                return undefined;
            });
            new command.remote.Command("step", { connection: { host: "h", privateKey: KEY }, create: "true" });
            return {};
        });
        expect(seen).toEqual([["connection"]]);
    });
});

// ---------------------------------------------------------------------------------------------------------
// The pack as the Pulumi CLI runs it: `run-policy-pack` in policy/, then the analyzer gRPC protocol
// ---------------------------------------------------------------------------------------------------------

describe("policy pack over the analyzer protocol", () => {
    const grpc = packRequire("@grpc/grpc-js");
    const analyzerproto = packRequire("@pulumi/pulumi/proto/analyzer_pb");
    const analyzerrpc = packRequire("@pulumi/pulumi/proto/analyzer_grpc_pb");
    const structproto = packRequire("google-protobuf/google/protobuf/struct_pb");
    const emptyproto = packRequire("google-protobuf/google/protobuf/empty_pb");
    const SECRET_SIG = "4dabf18193072939515e22adb298388d";
    const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
    const secret = (value: unknown) => ({ [SECRET_SIG]: SECRET_VALUE, value });

    let child: ChildProcess | undefined;
    let client: any;
    let stderr = "";
    const call = (method: string, request: unknown): Promise<any> =>
        new Promise((resolve, reject) => client[method](request, (e: Error | null, v: unknown) => (e ? reject(e) : resolve(v))));

    beforeAll(async () => {
        const runPolicyPack = packRequire.resolve("@pulumi/pulumi/cmd/run-policy-pack");
        child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", "."], { cwd: policyDir, stdio: ["ignore", "pipe", "pipe"] });
        child.stderr!.on("data", d => (stderr += String(d)));
        const port = await new Promise<string>((resolve, reject) => {
            child!.stdout!.once("data", d => resolve(String(d).trim()));
            child!.once("exit", code => reject(new Error(`the policy pack exited (${code}): ${stderr}`)));
        });
        client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    afterAll(() => {
        client?.close();
        if (child?.pid !== undefined && child.exitCode === null) child.kill("SIGTERM");
    });

    const resourceOptions = (protect: boolean, secretOutputs: string[] = []) => {
        const o = new analyzerproto.AnalyzerResourceOptions();
        o.setProtect(protect);
        o.setAdditionalsecretoutputsList(secretOutputs);
        return o;
    };
    const analyzeRequest = (type: string, name: string, props: Record<string, unknown>, opts: unknown) => {
        const r = new analyzerproto.AnalyzeRequest();
        r.setType(type);
        r.setName(name);
        r.setUrn(urnOf(type, name));
        r.setProperties(structproto.Struct.fromJavaScript(props));
        r.setOptions(opts);
        return r;
    };
    const diagnostics = (resp: any) =>
        resp.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel(), message: d.getMessage() }));
    const MANDATORY = 1;

    it("starts from PulumiPolicy.yaml, package.json and index.ts, and lists its policies", async () => {
        const info = await call("getAnalyzerInfo", new emptyproto.Empty());
        expect(info.getName()).toBe("mastodon-migration-policy");
        expect(info.getVersion()).toBe("0.1.0");
        expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(P.policies.map(p => p.name));
    });

    it("analyze: an unprotected DNS record is a mandatory violation; a protected one passes", async () => {
        const bad = await call(
            "analyze",
            analyzeRequest(DNS, "dns-a", { name: "social.example.org", content: UNKNOWN }, resourceOptions(false)),
        );
        expect(diagnostics(bad)).toEqual([{ policy: "dns-record-protected", level: MANDATORY, message: expect.stringContaining("dns-a") }]);
        const good = await call(
            "analyze",
            analyzeRequest(DNS, "dns-a", { name: "social.example.org", content: UNKNOWN }, resourceOptions(true)),
        );
        expect(diagnostics(good)).toEqual([]);
    });

    it("analyze: a secret connection reaches the validation unwrapped; a key in the script is a violation", async () => {
        const props = { connection: secret({ host: "h", privateKey: KEY }), create: UNKNOWN };
        expect(
            diagnostics(await call("analyze", analyzeRequest(CMD, "database-dump", props, resourceOptions(false, ["connection"])))),
        ).toEqual([]);
        const leaked = await call(
            "analyze",
            analyzeRequest(CMD, "database-dump", { ...props, create: `echo '${KEY}'` }, resourceOptions(false, ["connection"])),
        );
        expect(diagnostics(leaked)).toEqual([
            { policy: "no-plaintext-secrets", level: MANDATORY, message: expect.stringContaining('input "create"') },
        ]);
    });

    it("remediate: a plaintext connection comes back as a secret, a secret one is left alone", async () => {
        const plain = await call(
            "remediate",
            analyzeRequest(CMD, "database-dump", { connection: { host: "h", privateKey: KEY }, create: UNKNOWN }, resourceOptions(false)),
        );
        const [r] = plain.getRemediationsList();
        expect(r.getPolicyname()).toBe("ssh-connection-sealed");
        expect(r.getProperties().toJavaScript()).toEqual({ connection: secret({ host: "h", privateKey: KEY }), create: UNKNOWN });
        const sealed = await call(
            "remediate",
            analyzeRequest(CMD, "database-dump", { connection: secret({ host: "h", privateKey: KEY }) }, resourceOptions(false)),
        );
        expect(sealed.getRemediationsList()).toEqual([]);
    });

    it("analyzeStack: dependencies arrive as URNs and are resolved; complete without source-services-stop is a violation", async () => {
        const toProto = (specs: StackSpec[]) => {
            const req = new analyzerproto.AnalyzeStackRequest();
            req.setResourcesList(
                specs.map(s => {
                    const r = new analyzerproto.AnalyzerResource();
                    r.setType(s.type);
                    r.setName(s.name);
                    r.setUrn(urnOf(s.type, s.name));
                    r.setProperties(structproto.Struct.fromJavaScript(s.props ?? {}));
                    r.setOptions(resourceOptions(s.opts?.protect ?? false, s.opts?.additionalSecretOutputs ?? []));
                    const urnByName = (n: string) => specs.filter(x => x.name === n).map(x => urnOf(x.type, n));
                    r.setDependenciesList((s.deps ?? []).flatMap(urnByName));
                    if (s.parent) r.setParent(urnByName(s.parent)[0]);
                    return r;
                }),
            );
            return req;
        };
        expect(diagnostics(await call("analyzeStack", toProto(declared("complete", { aws: true }))))).toEqual([]);
        const broken = withoutDep(without(declared("complete"), "source-services-stop"), "verify-counts", "database-restore");
        expect(diagnostics(await call("analyzeStack", toProto(broken)))).toEqual([
            {
                policy: "cutover-data-waits-for-verification",
                level: MANDATORY,
                message: expect.stringContaining("verify-counts does not depend on database-restore"),
            },
            {
                policy: "shutdown-retained-after-complete",
                level: MANDATORY,
                message: expect.stringContaining("without the step source-services-stop"),
            },
        ]);
        expect(stderr).toBe("");
    });
});
