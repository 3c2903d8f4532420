/**
 * Runs the program under `pulumi.runtime.setMocks` and records what it declares: every resource with its
 * type, inputs (secrets still marked) and its direct `dependsOn`, in registration order.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../../lib/config-keys";

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface Declared {
    type: string;
    name: string;
    inputs: Record<string, any>;
    dependsOn: string[];
    importId?: string;
    retainOnDelete?: boolean;
    protect?: boolean;
    ignoreChanges?: string[];
    deleteBeforeReplace?: boolean;
    replaceOnChanges?: string[];
}

export interface ProgramRun {
    resources: Declared[];
    outputs?: Record<string, unknown>;
    error?: Error;
    byName(name: string): Declared;
    names(): string[];
}

/** The script inside `bash -c '<script>'` (optionally behind `sudo -n`). */
export function unwrapRemote(command: string): string {
    const m = command.match(/^(?:sudo -n )?bash -c '([\s\S]*)'$/);
    if (!m) throw new Error(`not a wrapped step: ${command.slice(0, 80)}`);
    return m[1].replace(/'\\''/g, "'");
}

const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";

/** A complete, valid config for an `existing` target with DNS enabled. */
export function baseConfig(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
        domain: "social.example.org",
        phase: "prepare",
        sourceHost: "203.0.113.10",
        sourceSshKey: FAKE_KEY,
        targetKind: "existing",
        targetHost: "198.51.100.20",
        targetSshKey: FAKE_KEY,
        cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
        cloudflareRecordId: "372e67954025e0ba6aaa6d586b9e0b59",
        cloudflareAaaaRecordId: "none",
        ...overrides,
    };
}

export const awsOverrides = {
    targetKind: "aws",
    targetHost: undefined,
    targetSshUser: "ubuntu",
    targetSshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc admin@example.org",
    adminCidrs: JSON.stringify(["198.51.100.7/32", "203.0.113.10/32"]),
};

/** What the fake source server prints: the facts line, a public key, a dump checksum, a verification line. */
function fakeStdout(name: string): string {
    // The closing steps' report lines (operation close).
    if (name === "announcement-publish") return 'ANNOUNCED {"at":"2026-09-01T10:00:00Z","id":1}';
    if (name === "archives-ready") return 'ARCHIVES_READY {"at":"2026-12-01T10:00:00Z","processed":3}';
    if (name === "tombstone-dump") return `ARCHIVE {"name":"db.final.dump.age","sha256":"${"b".repeat(64)}","bytes":1234}`;
    if (name === "tombstone-stop") return 'STOPPED {"at":"2026-12-20T10:00:00Z"}';
    if (name.startsWith("preflight") && name.endsWith("-source")) {
        return 'FACTS {"mastodonVersion":"v4.5.2","pgMajor":15,"collate":"C.UTF-8","dbBytes":1000,"mediaBytes":2000,"redisPort":6379,"redisVersion":"7.0.15","pgbouncer":false}\nmastodon-migration step=preflight-source seconds=1';
    }
    if (name.endsWith("-generate")) return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey mastodon-migration@social.example.org";
    if (name.endsWith("-dump")) return `DUMP_SHA256=${"a".repeat(64)}\nmastodon-migration step=${name} seconds=3`;
    if (name.endsWith("-counts"))
        return 'VERIFY {"identical":true,"tables":6,"rows":10,"media":"changed paths","mediaFiles":2,"mediaBytes":20,"mismatches":[]}';
    if (name.endsWith("replication-wal-level")) return `SOURCE_PG_ADDRESS=203.0.113.10\nmastodon-migration step=${name} seconds=4`;
    if (name.endsWith("replication-access")) return `SOURCE_PG_SSLMODE=require\nmastodon-migration step=${name} seconds=1`;
    if (name.endsWith("replication-lag") || name.endsWith("replication-ready"))
        return 'REPLICATION {"state":"streaming","tables":8,"copying":0,"lagBytes":120}';
    if (name.endsWith("-catchup")) return 'CATCHUP {"lsn":"0/1A2D8D8","waitedMs":193,"lagBytesAtStop":0,"sequences":6}';
    return `mastodon-migration step=${name} seconds=2`;
}

const isCustom = (type: string) => !type.startsWith("mastodon-migration:") && type !== "pulumi:pulumi:Stack";

export async function runProgram(
    config: Record<string, string | undefined>,
    options: { previousPhase?: string; plainKeys?: string[]; previousOutputs?: Record<string, unknown> } = {},
): Promise<ProgramRun> {
    const resources: Declared[] = [];
    const urnToName = new Map<unknown, string>();
    const resolved = new Map<string, Record<string, any>>();
    pulumi.runtime.setMocks(
        {
            newResource: async args => {
                resolved.set(`${args.type}::${args.name}`, args.inputs);
                if (args.type === "pulumi:pulumi:StackReference") {
                    const outputs = { ...(options.previousPhase ? { phase: options.previousPhase } : {}), ...options.previousOutputs };
                    return { id: args.name, state: { outputs } };
                }
                const state: Record<string, unknown> = { ...args.inputs };
                if (args.type === "command:remote:Command") {
                    state.stdout = fakeStdout(args.name);
                    state.stderr = "";
                }
                if (args.type === "aws:ec2/eip:Eip") state.publicIp = "192.0.2.50";
                if (args.type === "aws:s3/bucket:Bucket") state.arn = `arn:aws:s3:::${args.inputs.bucket}`;
                if (args.type === "aws:iam/accessKey:AccessKey") state.secret = "mock-upload-secret";
                if (args.type === "aws:ec2/instance:Instance") state.ipv6Addresses = args.inputs.ipv6AddressCount ? ["2001:db8::50"] : [];
                return { id: args.id ?? `${args.name}-id`, state };
            },
            call: async args =>
                args.token === "aws:ec2/getAmi:getAmi"
                    ? { id: "ami-0lookup", imageId: "ami-0lookup" }
                    : { id: "vpc-0default", vpcId: "vpc-0default" },
        },
        PROJECT,
        "test",
        false,
        "organization",
    );

    const secretKeys = ["sourceSshKey", "targetSshKey"].filter(k => !(options.plainKeys ?? []).includes(k));
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) if (v !== undefined) all[`${PROJECT}:${k}`] = v;
    // The AWS provider's region, as an admin sets it (an EC2 target is refused without it).
    all["aws:region"] = "eu-central-1";
    pulumi.runtime.setAllConfig(
        all,
        secretKeys.map(k => `${PROJECT}:${k}`),
    );

    const capture = () =>
        pulumi.runtime.registerStackTransformation(args => {
            const deps = (args.opts.dependsOn ?? []) as pulumi.Resource[];
            const entry: Declared = {
                type: args.type,
                name: args.name,
                inputs: args.props,
                dependsOn: [],
                importId: (args.opts as pulumi.CustomResourceOptions).import,
                retainOnDelete: args.opts.retainOnDelete,
                protect: args.opts.protect,
                ignoreChanges: args.opts.ignoreChanges,
                deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
                replaceOnChanges: args.opts.replaceOnChanges,
            };
            entry.dependsOn = (Array.isArray(deps) ? deps : [deps]).map(d => urnToName.get(d) ?? "?");
            urnToName.set(args.resource, args.name);
            resources.push(entry);
            return undefined;
        });

    // Resources register in the constructor; map each object to its name when it is constructed.
    const run: ProgramRun = {
        resources,
        byName(name) {
            const r = resources.find(x => x.name === name);
            if (!r) throw new Error(`no resource ${name}; declared: ${resources.map(x => x.name).join(", ")}`);
            return r;
        },
        names: () => resources.map(r => r.name),
    };
    try {
        const main = (await import("../../index")).default as unknown as () => Promise<Record<string, pulumi.Input<unknown>>>;
        // The program runs inside a root stack, as under the CLI, so stack transformations apply.
        let failure: Error | undefined;
        const outputs = await pulumi.runtime.runInPulumiStack(async () => {
            capture();
            try {
                return await main();
            } catch (e) {
                failure = e as Error;
                return {};
            }
        });
        if (failure) throw failure;
        run.outputs = await new Promise(resolve => pulumi.output(outputs).apply(v => resolve(v as Record<string, unknown>)));
        // Every custom resource's inputs, as the engine receives them (resolved; secrets still marked).
        for (let i = 0; i < 3000 && resources.some(r => !resolved.has(`${r.type}::${r.name}`) && isCustom(r.type)); i++) {
            await new Promise(r => setTimeout(r, 10));
        }
        for (const r of resources) r.inputs = resolved.get(`${r.type}::${r.name}`) ?? r.inputs;
    } catch (e) {
        run.error = e as Error;
    }
    // Let the stack's last RPCs finish before the next run replaces the mocks.
    await (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs?.().catch(() => undefined);
    return run;
}
