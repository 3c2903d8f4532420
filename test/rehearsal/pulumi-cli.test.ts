/**
 * The program under the REAL Pulumi CLI (v3.248.0 through the Automation API, rehearsal/pulumi/runner.ts) where
 * no server is needed: what the CLI checks before the program runs (the Pulumi.yaml declarations), a preview
 * with every step's output unknown, the policy pack run by the CLI (`pulumi preview --policy-pack policy`) on a
 * stack that passes and on one that breaks each mandatory policy, and a saved plan (`--save-plan`) refused by
 * `pulumi up --plan` when the config changed in between. Nothing here connects to a host: previews run no
 * command, and the refused plan stops before any step.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preview, up, type UpOptions, type UpResult } from "../../rehearsal/pulumi/runner";
import { PROJECT } from "../../lib/config-keys";
import { seedZone } from "../../rehearsal/providers/cloudflare/zone";

const REPO = resolve(__dirname, "..", "..");
let dir: string;
let key: string;

beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mm-pulumi-cli-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "pulumi-cli-test", "-f", join(dir, "key")]);
    key = readFileSync(join(dir, "key"), "utf8");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A move stack's config (existing target, DNS at Cloudflare), keys without the project prefix. */
function moveConfig(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
        domain: "social.example.org",
        phase: "prepare",
        sourceHost: "192.0.2.10",
        sourceSshKey: key,
        targetKind: "existing",
        targetHost: "192.0.2.20",
        targetSshKey: key,
        cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
        cloudflareRecordId: "372e67954025e0ba6aaa6d586b9e0b59",
        cloudflareAaaaRecordId: "none",
        ...overrides,
    };
}

/** A close stack's config: no target server, so no targetSshKey. */
function closeConfig(): Record<string, string | undefined> {
    return {
        domain: "social.example.org",
        operation: "close",
        closePhase: "announce",
        closeDate: "2027-03-31",
        sourceHost: "192.0.2.10",
        sourceSshKey: key,
        cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
        cloudflareRecordId: "372e67954025e0ba6aaa6d586b9e0b59",
        cloudflareAaaaRecordId: "none",
        closeConfirmDomain: "social.example.org",
        closeAcknowledgeIrreversible: "true",
        archiveAgeRecipient: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        archiveBucket: "social-example-final",
    };
}

const ZONE = "023e105f4ecef8ad9ca31a8372d0c353";
const RECORD = "372e67954025e0ba6aaa6d586b9e0b59";
let stacks = 0;
/** One operation on a new stack (its own backend) of `project` (default: the program). */
function options(
    raw: Record<string, string | undefined>,
    opts: { secret?: string[]; project?: string; projectDir?: string; extra?: Record<string, string> } = {},
): UpOptions {
    const project = opts.project ?? PROJECT;
    const config: Record<string, string> = { ...opts.extra };
    for (const [k, v] of Object.entries(raw)) if (v !== undefined) config[`${project}:${k}`] = v;
    const n = ++stacks;
    // The instance's A record as Cloudflare has it (the program adopts it with `import`).
    seedZone(join(dir, `stack-${n}`, "cloudflare.json"), ZONE, {
        id: RECORD,
        name: "social.example.org",
        type: "A",
        content: "192.0.2.10",
        ttl: 3600,
        proxied: false,
    });
    return {
        projectDir: opts.projectDir ?? REPO,
        project,
        stack: `t${n}`,
        config,
        secretKeys: (opts.secret ?? ["sourceSshKey", "targetSshKey", "key"]).map(k => `${project}:${k}`).filter(k => k in config),
        pulumiDir: join(dir, `stack-${n}`),
        statePath: join(dir, `stack-${n}`, "state.json"),
        logPath: join(dir, `stack-${n}`, "pulumi.log"),
        env: {
            REHEARSAL_PROVIDER_CALLS: join(dir, `stack-${n}`, "calls.jsonl"),
            REHEARSAL_AWS_STATE: join(dir, `stack-${n}`, "aws.json"),
            REHEARSAL_CLOUDFLARE_STATE: join(dir, `stack-${n}`, "cloudflare.json"),
        },
    };
}

const log = (o: UpOptions) => readFileSync(o.logPath!, "utf8");
const calls = (o: UpOptions): { method: string; ran?: string }[] => {
    try {
        return readFileSync(o.env!.REHEARSAL_PROVIDER_CALLS!, "utf8")
            .split("\n")
            .filter(Boolean)
            .map(l => JSON.parse(l) as { method: string; ran?: string });
    } catch {
        return [];
    }
};
const ran = (o: UpOptions) => calls(o).filter(c => ["create", "update", "delete"].includes(c.method) && c.ran !== "none");

describe("what the real CLI checks before the program runs (Pulumi.yaml declarations)", { timeout: 120_000 }, () => {
    it("a close stack needs no targetSshKey (a declared secret without default was refused by the CLI for every close stack)", async () => {
        const o = options(closeConfig(), { extra: { "aws:region": "eu-central-1" } });
        const r = await preview(o);
        expect(log(o)).not.toContain("missing configuration value");
        expect(r.error ?? "").toBe("");
        expect(r.ok).toBe(true);
    });

    it("a move stack without sourceSshKey is refused by the CLI, naming the key, before the program runs", async () => {
        const o = options(moveConfig({ sourceSshKey: undefined }));
        const r = await preview(o);
        expect(r.ok).toBe(false);
        expect(r.error).toContain("Stack 't");
        expect(r.error).toContain("is missing configuration value 'sourceSshKey'");
        expect(r.events).toEqual([]);
    });

    it("an SSH key set without --secret is refused: the CLI for sourceSshKey, the program for targetSshKey", async () => {
        const source = options(moveConfig(), { secret: ["targetSshKey"] });
        const r1 = await preview(source);
        expect(r1.ok).toBe(false);
        expect(r1.error).toContain("configuration key 'sourceSshKey' must be encrypted as it's secret");
        const target = options(moveConfig(), { secret: ["sourceSshKey"] });
        const r2 = await preview(target);
        expect(r2.ok).toBe(false);
        expect(r2.error).toContain(
            "targetSshKey is stored in plaintext: pulumi config rm targetSshKey && pulumi config set --secret targetSshKey",
        );
        expect(r2.events.filter(e => e.type === "command:remote:Command")).toEqual([]);
    });

    it("an EC2 target without aws:region is refused by the program, naming the key (the AWS provider would not start)", async () => {
        const o = options(
            moveConfig({
                targetKind: "aws",
                targetHost: undefined,
                targetSshUser: "ubuntu",
                targetSshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc admin@example.org",
                adminCidrs: JSON.stringify(["198.51.100.7/32", "192.0.2.10/32"]),
            }),
        );
        const r = await preview(o);
        expect(r.ok).toBe(false);
        expect(r.error).toContain("aws:region is required when targetKind is aws: pulumi config set aws:region");
        expect(r.events.filter(e => e.type.startsWith("aws:"))).toEqual([]);
    });
});

describe("the environment the CLI runs in", { timeout: 120_000 }, () => {
    it("a stale SSH_AUTH_SOCK (the command provider would fail every connection with it) is refused before any step", async () => {
        const o = options(moveConfig());
        const r = await preview({ ...o, env: { ...o.env, SSH_AUTH_SOCK: join(dir, "no-agent.sock") } });
        expect(r.ok).toBe(false);
        expect(r.error).toContain(`SSH_AUTH_SOCK=${join(dir, "no-agent.sock")} cannot be reached (ENOENT)`);
        expect(r.events.filter(e => e.type === "command:remote:Command")).toEqual([]);
    });
});

describe("preview of a new stack: every step's output unknown", { timeout: 120_000 }, () => {
    let o: UpOptions;
    let r: UpResult;
    beforeAll(async () => {
        o = options(moveConfig());
        r = await preview({ ...o, policyPacks: [join(REPO, "policy")] });
    });

    it("succeeds, plans the prepare steps as creates and runs none", () => {
        expect(r.error ?? "").toBe("");
        expect(r.ok).toBe(true);
        const commands = r.events.filter(e => e.type === "command:remote:Command");
        expect(commands.length).toBeGreaterThan(5);
        expect(commands.every(e => e.planned && e.op === "create")).toBe(true);
        expect(r.events.find(e => e.name === "dns-a")?.op).toBe("import");
        expect(ran(o)).toEqual([]);
    });

    it("the policy pack ran in the CLI and passed", () => {
        expect(log(o)).toMatch(/Policies:\s*\n\s*✅ mastodon-migration-policy@v0\.1\.0/);
    });
});

describe(
    "the policy pack through pulumi preview --policy-pack policy: each mandatory policy stops a stack that breaks it",
    { timeout: 300_000 },
    () => {
        const mandatory = [
            "dns-record-protected",
            "ec2-protected",
            "cutover-data-waits-for-verification",
            "shutdown-retained-after-complete",
            "no-plaintext-secrets",
            "dns-waits-for-app-health",
            "no-private-key-in-outputs",
        ];
        it.each(mandatory)("%s", async policy => {
            const o = options(
                { violate: policy, key },
                {
                    project: "policy-violations",
                    projectDir: join(REPO, "test", "fixtures", "policy-violations"),
                    extra: { "aws:region": "eu-central-1" },
                },
            );
            const r = await preview({ ...o, policyPacks: [join(REPO, "policy")] });
            expect(r.ok).toBe(false);
            expect(log(o)).toContain(`[mandatory]  ${policy}`);
            expect(r.error).toMatch(/preview failed|policy violation|mandatory/i);
        });
    },
);

describe("a saved plan (pulumi preview --save-plan, pulumi up --plan)", { timeout: 120_000 }, () => {
    // The engine checks each step against the plan as it comes to it: steps the change leaves alone would run (and
    // connect). A change of the instance's name changes every step, so none may run.
    it("up --plan refuses a stack whose config changed since the reviewed preview, and runs no step it did not approve", async () => {
        const o = options(moveConfig());
        const plan = join(o.pulumiDir, "prepare.plan.json");
        const reviewed = await preview({ ...o, plan });
        expect(reviewed.ok).toBe(true);
        // Between review and apply, someone changes what prepare does.
        const changed = { ...o, config: { ...o.config, [`${PROJECT}:domain`]: "other.example.org" } };
        const r = await up({ ...changed, plan });
        expect(r.ok).toBe(false);
        expect(r.error).toMatch(/plan/i);
        expect(ran(o)).toEqual([]);
    });
});
