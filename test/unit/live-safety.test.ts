/**
 * What keeps a live target server safe after the cutover, under mocks (the resource options are captured by
 * the harness's stack transformation): steps that never run again, a destroy that undoes nothing, an EC2
 * server that is never replaced, a workDir per stack, and DNS records that cannot leave IPv6 users behind.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../lib/config-parse";
import { stackWorkDir } from "../../lib/config";
import { renderKeep, renderStep } from "../../lib/step-script";
import { awsOverrides, baseConfig, runProgram, unwrapRemote } from "./harness";

const COMMAND = "command:remote:Command";

describe("data steps never run again against the live target server", () => {
    it("from the cutover on, every step has a keep-update and ignores its triggers", async () => {
        for (const [phase, previous] of [
            ["cutover", "prepare"],
            ["complete", "cutover"],
        ]) {
            const run = await runProgram(baseConfig({ phase }), { previousPhase: previous });
            expect(run.error).toBeUndefined();
            const steps = run.resources.filter(r => r.type === COMMAND);
            expect(steps.length).toBeGreaterThan(10);
            for (const s of steps) {
                // A change of create, delete or connection runs `update` (keep.sh), never `create` again.
                expect(String(s.inputs.update), `${phase} ${s.name}`).toContain("lib/sh/keep.sh");
                expect(String(s.inputs.update)).not.toContain("rsync");
                // A change of triggers would replace the step (its create again): ignored.
                expect(s.ignoreChanges, `${phase} ${s.name}`).toEqual(["triggers"]);
            }
        }
    });

    it("in prepare the copies run again when their inputs change (no keep-update)", async () => {
        const run = await runProgram(baseConfig());
        for (const s of run.resources.filter(r => r.type === COMMAND)) {
            expect(s.inputs.update, s.name).toBeUndefined();
            expect(s.ignoreChanges, s.name).toBeUndefined();
        }
    });

    it("the keep-update prints the output the step kept, and runs nothing else", () => {
        const work = mkdtempSync(join(tmpdir(), "mm-keep-"));
        const probe = join(work, "probe");
        const file = join(work, "dump.sh");
        // A step that prints a result line, does some work, and is then "changed".
        writeFileSync(file, `# inputs: PROBE\nlog working\nresult "DUMP_SHA256=${"b".repeat(64)}"\necho ran >>"$PROBE"\n`);
        const first = spawnSync(
            "bash",
            ["-c", renderStep({ name: "database-dump", workDir: work, script: { file, vars: { PROBE: probe } } })],
            {
                encoding: "utf8",
            },
        );
        expect(first.status, first.stderr).toBe(0);
        const kept = readFileSync(join(work, "database-dump.result"), "utf8");
        expect(kept).toMatch(new RegExp(`^DUMP_SHA256=b{64}\\nmastodon-migration step=database-dump seconds=\\d+\\n$`));
        const update = spawnSync("bash", ["-c", renderKeep({ name: "database-dump", workDir: work })], { encoding: "utf8" });
        expect(update.status, update.stderr).toBe(0);
        expect(update.stdout).toBe(kept);
        expect(readFileSync(probe, "utf8")).toBe("ran\n");
    });

    it("the rendered keep-update is a wrapped remote command (sudo for non-root users)", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover", targetSshUser: "admin" }), { previousPhase: "prepare" });
        const update = String(run.byName("database-restore").inputs.update);
        expect(update.startsWith("sudo -n bash -c ")).toBe(true);
        expect(unwrapRemote(update)).toContain("STEP='database-restore'");
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: unwrapRemote(update), encoding: "utf8" });
        expect(r.stdout + r.stderr).toBe("");
    });
});

describe("pulumi destroy after complete undoes nothing", () => {
    it("every step is retained on delete once the move is complete", async () => {
        const run = await runProgram(baseConfig({ phase: "complete" }), { previousPhase: "cutover" });
        expect(run.error).toBeUndefined();
        const steps = run.resources.filter(r => r.type === COMMAND);
        for (const name of ["database-restore", "redis-copy", "app-start", "maintenance-page", "source-services-stop"]) {
            expect(run.byName(name).retainOnDelete, name).toBe(true);
        }
        expect(steps.filter(s => s.retainOnDelete !== true).map(s => s.name)).toEqual([]);
    });

    it("before complete, a rollback still runs the undo (not retained)", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        expect(run.byName("redis-copy").retainOnDelete).toBeFalsy();
        expect(run.byName("database-restore").retainOnDelete).toBeFalsy();
    });
});

describe("the EC2 server is never replaced or destroyed by accident", () => {
    it("protected, retained, and a new key pair, AMI, user data or subnet never replaces it", async () => {
        const run = await runProgram(baseConfig({ ...awsOverrides, phase: "complete" }), { previousPhase: "cutover" });
        expect(run.error).toBeUndefined();
        const instance = run.byName("target-instance");
        expect(instance.protect).toBe(true);
        expect(instance.retainOnDelete).toBe(true);
        expect(instance.ignoreChanges).toEqual(expect.arrayContaining(["ami", "userData", "keyName", "subnetId"]));
        expect(instance.deleteBeforeReplace).toBeFalsy();
        expect(instance.inputs.rootBlockDevice).toMatchObject({ deleteOnTermination: false });
        expect(run.byName("target-key").ignoreChanges).toEqual(["publicKey"]);
        expect(run.byName("target-eip").protect).toBe(true);
        expect(run.byName("target-eip-association").protect).toBe(true);
        const aws = run.resources.filter(r => r.type.startsWith("aws:"));
        expect(aws.filter(r => r.retainOnDelete !== true).map(r => r.name)).toEqual([]);
    });
});

describe("one workDir per stack", () => {
    it("every step works in <workDir>/<stack>", async () => {
        const run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        for (const s of run.resources.filter(r => r.type === COMMAND)) {
            expect(unwrapRemote(String(s.inputs.create)), s.name).toContain("WORK='/var/lib/mastodon-migration/test'");
        }
        expect(stackWorkDir("/var/lib/mastodon-migration/", "prod")).toBe("/var/lib/mastodon-migration/prod");
        expect(() => stackWorkDir("/x", "../etc")).toThrow(/cannot name a directory/);
    });
});

describe("DNS records that leave nobody on the stopped server", () => {
    const problems = (raw: Record<string, string | undefined>) => {
        try {
            parseConfig(raw, new Set(["sourceSshKey", "targetSshKey"]));
            return [];
        } catch (e) {
            expect(e).toBeInstanceOf(ConfigError);
            return (e as ConfigError).problems;
        }
    };

    it("the AAAA record must be named, or declared absent with none", () => {
        expect(problems(baseConfig({ cloudflareAaaaRecordId: undefined })).join("\n")).toContain(
            "cloudflareAaaaRecordId is required when dnsEnabled",
        );
        expect(problems(baseConfig({ cloudflareAaaaRecordId: "none" }))).toEqual([]);
        expect(problems(baseConfig({ dnsEnabled: "false", cloudflareAaaaRecordId: undefined }))).toEqual([]);
    });

    it("aws with an AAAA record: the instance gets IPv6 and the record points at it, without an unhandled rejection", async () => {
        const rejections: unknown[] = [];
        const onRejection = (e: unknown) => rejections.push(e);
        process.on("unhandledRejection", onRejection);
        try {
            const aaaa = { cloudflareAaaaRecordId: "0123456789abcdef0123456789abcdef", sourcePublicIpv6: "2001:db8::10" };
            const prepare = await runProgram(baseConfig({ ...awsOverrides, ...aaaa }));
            expect(prepare.error).toBeUndefined();
            expect(prepare.byName("target-instance").inputs.ipv6AddressCount).toBe(1);
            expect(prepare.byName("dns-aaaa").inputs.content).toBe("2001:db8::10");
            const cutover = await runProgram(baseConfig({ ...awsOverrides, ...aaaa, phase: "cutover" }), { previousPhase: "prepare" });
            expect(cutover.error).toBeUndefined();
            expect(cutover.byName("dns-aaaa").inputs.content).toBe("2001:db8::50");
            await new Promise(r => setTimeout(r, 50));
        } finally {
            process.off("unhandledRejection", onRejection);
        }
        expect(rejections).toEqual([]);
    });
});

describe("rollback after DNS moved", () => {
    const movedDns = { dns: { name: "social.example.org", content: "198.51.100.20", ttl: 300 } };

    it("is refused with what would be set aside, before any step is declared", async () => {
        const run = await runProgram(baseConfig({ phase: "prepare" }), { previousPhase: "cutover", previousOutputs: movedDns });
        expect(run.error?.message).toContain("rollback refused: DNS has pointed at the target server (198.51.100.20)");
        expect(run.error?.message).toContain("mastodon_production_rolled_back_<time>");
        expect(run.error?.message).toContain("pulumi config set rollbackAfterDnsMoved true");
        expect(run.resources.map(r => r.type)).toEqual(["pulumi:pulumi:StackReference"]);
    });

    it("goes ahead when rollbackAfterDnsMoved allows it, or when DNS never moved (a failed cutover)", async () => {
        const allowed = await runProgram(baseConfig({ phase: "prepare", rollbackAfterDnsMoved: "true" }), {
            previousPhase: "cutover",
            previousOutputs: movedDns,
        });
        expect(allowed.error).toBeUndefined();
        const notMoved = await runProgram(baseConfig({ phase: "prepare" }), {
            previousPhase: "cutover",
            previousOutputs: { dns: { name: "social.example.org", content: "203.0.113.10", ttl: 300 } },
        });
        expect(notMoved.error).toBeUndefined();
    });
});

/** The source's facts as preflight reports them (a source without pgbouncer). */
const SOURCE_FACTS = {
    mastodonVersion: "v4.5.2",
    pgMajor: 15,
    collate: "C.UTF-8",
    dbBytes: 1,
    mediaBytes: 2,
    redisPort: 6379,
    redisVersion: "7.0.15",
    pgbouncer: false,
};

describe("what prepare copied is refreshed at the cutover", () => {
    it("the facts that changed since prepare are named, never their values", async () => {
        const { factsDrift } = await import("../../lib/facts");
        const base = SOURCE_FACTS;
        expect(factsDrift(base, { ...base, dbBytes: 5, mediaBytes: 9 })).toEqual([]);
        expect(factsDrift(base, { ...base, mastodonVersion: "v4.5.3", redisVersion: "7.2.4" })).toEqual([
            "mastodonVersion",
            "redisVersion",
        ]);
    });

    it("the cutover copies .env.production, nginx, units and pgbouncer again and carries the crontab; complete keeps them", async () => {
        for (const [phase, previous] of [
            ["cutover", "prepare"],
            ["complete", "cutover"],
        ]) {
            const run = await runProgram(baseConfig({ phase }), { previousPhase: previous });
            expect(run.error).toBeUndefined();
            for (const step of ["env", "nginx", "systemd", "pgbouncer", "crontab"]) {
                expect(run.names(), `${phase} ${step}`).toContain(`config-cutover-${step}`);
            }
            expect(run.names()).toContain("target-cutover-ready");
        }
        const prepare = await runProgram(baseConfig());
        expect(prepare.names().filter(n => n.includes("cutover"))).toEqual([]);
    });
});

describe("full dumps do not stay on the servers", () => {
    it("complete removes the dump from both servers, after the restore", async () => {
        const run = await runProgram(baseConfig({ phase: "complete" }), { previousPhase: "cutover" });
        expect(run.error).toBeUndefined();
        for (const [name, host] of [
            ["database-cleanup-source", "203.0.113.10"],
            ["database-cleanup-target", "198.51.100.20"],
        ]) {
            const step = run.byName(name);
            expect(step.dependsOn).toContain("database-restore");
            expect(unwrapRemote(String(step.inputs.create))).toContain(
                "DUMP='/var/lib/mastodon-migration/test/db/mastodon_production.dump.d'",
            );
            expect(JSON.stringify(step.inputs.connection)).toContain(host);
        }
        const cutover = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        expect(cutover.names().filter(n => n.includes("cleanup"))).toEqual([]);
    });
});

describe("the target is made equivalent: pgbouncer", () => {
    it("a source with pgbouncer configured: the readiness check requires it on the target, and a new EC2 server installs it", async () => {
        const { readyScript } = await import("../../components/target-readiness");
        const { cloudInitUserData } = await import("../../components/ec2-host");
        const run = await runProgram(baseConfig());
        expect(unwrapRemote(String(run.byName("target-ready").inputs.create))).toContain("SOURCE_PGBOUNCER=false");
        const facts = { ...SOURCE_FACTS, pgbouncer: true };
        const target = { liveDir: "/home/mastodon/live", mastodonUser: "mastodon", dbRole: "mastodon" } as never;
        const script = readyScript({ target, facts, mediaOnS3: false, dbName: "mastodon_production", allowNonEmptyDb: false });
        expect(script.vars.SOURCE_PGBOUNCER).toBe(true);
        const userData = cloudInitUserData({
            version: "v4.5.2",
            mastodonUser: "mastodon",
            dbRole: "mastodon",
            liveDir: "/l",
            pgbouncer: true,
        });
        const prerequisites = Buffer.from(userData.match(/content: (\S+)/)![1], "base64").toString();
        expect(prerequisites).toContain("PGBOUNCER=true");
        expect(prerequisites).toContain("apt-get install -y pgbouncer");
    });
});

describe("the target is made equivalent: Elasticsearch", () => {
    /** The scripts a new EC2 server's cloud-init runs, by file name, decoded. */
    const cloudInitScripts = (userData: string) =>
        Object.fromEntries(
            [...userData.matchAll(/path: \/usr\/local\/sbin\/(\S+)\n.*\n.*\n\s+content: (\S+)/g)].map(m => [
                m[1],
                Buffer.from(m[2], "base64").toString(),
            ]),
        );

    it("a new EC2 server installs Elasticsearch 7 from Elastic's apt repository only when elasticsearch is true", async () => {
        for (const elasticsearch of [true, false]) {
            const run = await runProgram(baseConfig({ ...awsOverrides, elasticsearch: String(elasticsearch) }));
            const userData = String(run.byName("target-instance").inputs.userData);
            const scripts = cloudInitScripts(userData);
            expect(Object.keys(scripts)).toEqual(
                elasticsearch ? ["mastodon-prerequisites", "mastodon-search-engine"] : ["mastodon-prerequisites"],
            );
            expect(userData.includes("- [/usr/local/sbin/mastodon-search-engine]"), String(elasticsearch)).toBe(elasticsearch);
            expect(scripts["mastodon-prerequisites"]).not.toContain("elasticsearch");
            if (elasticsearch) {
                const install = scripts["mastodon-search-engine"];
                expect(install).toContain("https://artifacts.elastic.co/packages/7.x/apt stable main");
                expect(install).toContain("apt-get install -y elasticsearch");
                expect(install).toContain("systemctl enable --now elasticsearch");
            }
        }
    });

    it("the target's search engine is checked after .env.production is copied in prepare, and again before the maintenance page", async () => {
        const without = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        expect(without.names().filter(n => n.startsWith("search"))).toEqual([]);
        const prepare = await runProgram(baseConfig({ elasticsearch: "true" }));
        expect(prepare.byName("search-check").dependsOn).toContain("config-env");
        expect(prepare.names().filter(n => n.startsWith("search-cutover"))).toEqual([]);
        expect(unwrapRemote(String(prepare.byName("search-check").inputs.create))).toContain("WAIT_SECONDS=20");
        const cutover = await runProgram(baseConfig({ elasticsearch: "true", phase: "cutover" }), { previousPhase: "prepare" });
        expect(cutover.byName("search-cutover-check").dependsOn).toEqual(expect.arrayContaining(["config-env", "search-check"]));
        expect(cutover.byName("maintenance-page").dependsOn).toEqual(expect.arrayContaining(["search-check", "search-cutover-check"]));
    });
});
