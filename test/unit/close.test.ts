/**
 * Closing an instance (operation close) under Pulumi mocks: the config keys and their errors (the double
 * confirmation, the notice period's override), the moves between closing phases with their periods, what
 * each phase declares and in which order, retained steps from self-destruct on, the archive bucket and
 * its short-lived upload credentials, secrets, and shellcheck of every generated closing script.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { closePlan, closeTransitionError } from "../../lib/close-phase";
import { ConfigError, parseConfig } from "../../lib/config-parse";
import { uploadPolicy } from "../../components/archive-bucket";
import { runProgram } from "./harness";

/** The script inside `bash -c '<script>'` (optionally behind `sudo -n`). */
function unwrapRemote(command: string): string {
    const m = command.match(/^(?:sudo -n )?bash -c '([\s\S]*)'$/);
    if (!m) throw new Error(`not a wrapped step: ${command.slice(0, 80)}`);
    return m[1].replace(/'\\''/g, "'");
}

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const DAY = 86_400_000;
// The aws provider's region, as AWS_REGION gives it (the archive bucket's endpoint is built from it).
process.env.AWS_REGION = "eu-central-1";
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

/** A complete close config: no target server keys at all. */
function closeConfig(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
        domain: "social.example.org",
        operation: "close",
        closePhase: "announce",
        closeDate: "2026-12-31",
        sourceHost: "203.0.113.10",
        sourceSshKey: KEY,
        cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
        cloudflareRecordId: "372e67954025e0ba6aaa6d586b9e0b59",
        cloudflareAaaaRecordId: "none",
        closeConfirmDomain: "social.example.org",
        closeAcknowledgeIrreversible: "true",
        archiveAgeRecipient: RECIPIENT,
        ...overrides,
    };
}

function problems(raw: Record<string, string | undefined>): string[] {
    try {
        parseConfig(raw as Record<string, string>, new Set(["sourceSshKey"]));
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
}

/** What the last deployment reported, as the program's StackReference reads it. */
const history = (closePhase: string, extra: Record<string, unknown> = {}) => ({
    previousOutputs: {
        operation: "close",
        closePhase,
        announcedAt: ago(200),
        archivesReadyAt: ago(100),
        tombstoneAt: ago(50),
        ...extra,
    },
});
const steps = (run: Awaited<ReturnType<typeof runProgram>>) =>
    run.resources.filter(r => r.type === "command:remote:Command").map(r => r.name);

describe("close config", () => {
    it("a close stack needs no target server, and defaults keep existing stacks a move", () => {
        expect(problems(closeConfig())).toEqual([]);
        const move = parseConfig(
            {
                domain: "a.example.org",
                sourceHost: "203.0.113.10",
                sourceSshKey: KEY,
                targetKind: "existing",
                targetHost: "198.51.100.2",
                targetSshKey: KEY,
                dnsEnabled: "false",
            },
            new Set(["sourceSshKey", "targetSshKey"]),
        );
        expect(move.operation).toBe("move");
        expect(move.close).toBeUndefined();
    });

    it("closeDate is required and must be a date; operation and closePhase take known values", () => {
        expect(problems(closeConfig({ closeDate: undefined })).join("\n")).toMatch(
            /closeDate is required .*pulumi config set closeDate 2026-12-31/,
        );
        expect(problems(closeConfig({ closeDate: "31.12.2026" })).join("\n")).toMatch(/closeDate must be a date like 2026-12-31/);
        expect(problems(closeConfig({ operation: "shutdown" })).join("\n")).toMatch(/operation must be one of move, close/);
        expect(problems(closeConfig({ closePhase: "destroy" })).join("\n")).toMatch(
            /closePhase must be one of open, announce, closing, self-destruct, tombstone, parked/,
        );
    });

    it("a notice shorter than 90 days needs the explicit closeShortNotice key; the test-only period replaces days", () => {
        expect(problems(closeConfig({ closeNoticeDays: "30" })).join("\n")).toMatch(
            /closeNoticeDays is 30, shorter than the 90 days .*closeShortNotice true/,
        );
        expect(problems(closeConfig({ closeNoticeDays: "30", closeShortNotice: "true" }))).toEqual([]);
        const parsed = parseConfig(closeConfig({ closeTestPeriodSeconds: "5" }) as Record<string, string>, new Set(["sourceSshKey"]));
        expect(parsed.close).toMatchObject({ noticeSeconds: 5, downloadSeconds: 5, tombstoneSeconds: 5 });
        const real = parseConfig(closeConfig() as Record<string, string>, new Set(["sourceSshKey"]));
        expect(real.close).toMatchObject({ noticeSeconds: 90 * 86400, downloadSeconds: 7 * 86400, tombstoneSeconds: 14 * 86400 });
    });

    it("self-destruct needs the domain typed again and the separate acknowledgement", () => {
        const sd = { closePhase: "self-destruct" };
        expect(problems(closeConfig({ ...sd, closeConfirmDomain: undefined })).join("\n")).toMatch(
            /closeConfirmDomain must be the domain typed again .*pulumi config set closeConfirmDomain social.example.org/,
        );
        expect(problems(closeConfig({ ...sd, closeConfirmDomain: "social.example.com" })).join("\n")).toMatch(
            /got "social.example.com", expected "social.example.org"/,
        );
        expect(problems(closeConfig({ ...sd, closeAcknowledgeIrreversible: undefined })).join("\n")).toMatch(
            /closeAcknowledgeIrreversible must be true before self-destruct/,
        );
        // Before self-destruct neither is asked for.
        expect(
            problems(closeConfig({ closePhase: "closing", closeConfirmDomain: undefined, closeAcknowledgeIrreversible: undefined })),
        ).toEqual([]);
    });

    it("the tombstone needs an age recipient; the announcement names the date and the successor", () => {
        expect(problems(closeConfig({ closePhase: "tombstone", archiveAgeRecipient: "ssh-ed25519 AAAA" })).join("\n")).toMatch(
            /archiveAgeRecipient must be an age public key/,
        );
        const parsed = parseConfig(
            closeConfig({ closeSuccessor: "next.example.net" }) as Record<string, string>,
            new Set(["sourceSshKey"]),
        );
        expect(parsed.close!.announcement).toContain("2026-12-31");
        expect(parsed.close!.announcement).toContain("https://next.example.net");
    });
});

describe("closing phase moves", () => {
    const periods = { noticeSeconds: 90 * 86400, downloadSeconds: 7 * 86400, tombstoneSeconds: 14 * 86400 };
    const announced = Date.parse("2026-09-01T10:00:00Z");

    it("phases run in order; a new stack starts with announce", () => {
        expect(closeTransitionError({}, "announce", periods, announced)).toBeUndefined();
        expect(closeTransitionError({}, "closing", periods, announced)).toMatch(/announce has not been deployed yet/);
        expect(
            closeTransitionError(
                { operation: "close", phase: "closing", archivesReadyAt: "2026-12-01T10:00:00Z" },
                "tombstone",
                periods,
                announced + 200 * DAY,
            ),
        ).toMatch(/self-destruct has not been deployed yet/);
    });

    it("the notice period refuses closing until its date, which the message gives", () => {
        const h = { operation: "close", phase: "announce", announcedAt: "2026-09-01T10:00:00Z" };
        expect(closeTransitionError(h, "closing", periods, announced + 10 * DAY)).toMatch(
            /the notice period runs until 2026-11-30 10:00:00 UTC/,
        );
        expect(closeTransitionError(h, "closing", periods, announced + 90 * DAY)).toBeUndefined();
    });

    it("the download period refuses self-destruct until its date; no archive gate passed, no self-destruct", () => {
        const h = { operation: "close", phase: "closing", archivesReadyAt: "2026-12-01T10:00:00Z" };
        expect(closeTransitionError(h, "self-destruct", periods, Date.parse("2026-12-03T00:00:00Z"))).toMatch(
            /download their archives until 2026-12-08 10:00:00 UTC/,
        );
        expect(closeTransitionError(h, "self-destruct", periods, Date.parse("2026-12-09T00:00:00Z"))).toBeUndefined();
        expect(closeTransitionError({ operation: "close", phase: "closing" }, "self-destruct", periods, Date.now())).toMatch(
            /archives are not all ready/,
        );
    });

    it("going back is allowed before self-destruct and refused from it on", () => {
        expect(closeTransitionError({ operation: "close", phase: "closing" }, "announce", periods, announced)).toBeUndefined();
        expect(closeTransitionError({ operation: "close", phase: "announce" }, "open", periods, announced)).toBeUndefined();
        for (const from of ["self-destruct", "tombstone", "parked"]) {
            for (const to of ["open", "announce", "closing"]) {
                expect(
                    closeTransitionError({ operation: "close", phase: from }, to as "open", periods, announced),
                    `${from} -> ${to}`,
                ).toMatch(/was self-destructed/);
            }
        }
        expect(closeTransitionError({ operation: "close", phase: "tombstone" }, "self-destruct", periods, announced)).toMatch(
            /was self-destructed/,
        );
    });

    it("parked waits for the tombstone period; a move stack is never closed in place", () => {
        const h = { operation: "close", phase: "tombstone", tombstoneAt: "2026-12-20T10:00:00Z" };
        expect(closeTransitionError(h, "parked", periods, Date.parse("2026-12-25T00:00:00Z"))).toMatch(/410 until 2027-01-03 10:00:00 UTC/);
        expect(closeTransitionError({ operation: "move", phase: "prepare" }, "announce", periods, announced)).toMatch(
            /this stack runs a move/,
        );
    });

    it("closePlan: the site's mode, the upload only in tombstone, retained from self-destruct on", () => {
        expect(closePlan("announce")).toMatchObject({ announce: true, site: "normal", backups: false, keepDown: false });
        expect(closePlan("closing")).toMatchObject({ site: "gone-but-media", backups: true, selfDestruct: false });
        expect(closePlan("self-destruct")).toMatchObject({ site: "gone-but-media", selfDestruct: true, dump: false, keepDown: true });
        expect(closePlan("tombstone")).toMatchObject({ site: "gone", dump: true, upload: true, stopServices: true });
        expect(closePlan("parked")).toMatchObject({ site: "gone", dump: true, upload: false, dns: "parked" });
        expect(closePlan("open")).toMatchObject({ announce: false, site: "normal", backups: false });
    });
});

describe("close program under mocks", () => {
    it("each phase declares its steps (open: none of the closure)", async () => {
        const phases: [string, string | undefined, string[]][] = [
            ["open", "announce", ["preflight-source"]],
            ["announce", undefined, ["preflight-source", "announcement-publish", "announcement-registrations"]],
            ["closing", "announce", ["gone-site", "archives-request", "archives-ready"]],
            ["self-destruct", "closing", ["self-destruct-check", "self-destruct-enable", "self-destruct-follow"]],
            ["tombstone", "self-destruct", ["tombstone-dump", "tombstone-upload", "tombstone-stop"]],
        ];
        for (const [phase, previous, expected] of phases) {
            const run = await runProgram(closeConfig({ closePhase: phase }), previous ? history(previous) : {});
            expect(run.error, phase).toBeUndefined();
            const names = steps(run);
            for (const name of expected) expect(names, phase).toContain(name);
            expect(run.outputs?.closePhase).toBe(phase);
        }
        const open = await runProgram(closeConfig({ closePhase: "open" }), history("announce"));
        expect(steps(open)).toEqual(["preflight-source"]);
        const parked = await runProgram(closeConfig({ closePhase: "parked" }), history("tombstone"));
        expect(steps(parked)).not.toContain("tombstone-upload");
        expect(parked.resources.filter(r => r.type.startsWith("aws:iam"))).toEqual([]);
        expect(
            parked.resources
                .filter(r => r.type === "cloudflare:index/dnsRecord:DnsRecord")
                .map(r => r.name)
                .sort(),
        ).toEqual(["dns-a", "dns-parked-dmarc", "dns-parked-mx", "dns-parked-spf"]);
    });

    it("orders the closure: 410 after the announcement, self-destruct after the archives, upload after the dump, stop after the upload", async () => {
        const run = await runProgram(closeConfig({ closePhase: "tombstone" }), history("self-destruct"));
        expect(run.error).toBeUndefined();
        const deps = (name: string) => run.byName(name).dependsOn;
        expect(deps("gone-site")).toContain("announcement-registrations");
        expect(deps("archives-ready")).toContain("archives-request");
        expect(deps("self-destruct-check")).toContain("archives-ready");
        expect(deps("self-destruct-enable")).toContain("self-destruct-check");
        expect(deps("self-destruct-follow")).toContain("self-destruct-enable");
        expect(deps("tombstone-dump")).toContain("self-destruct-follow");
        expect(deps("tombstone-upload")).toContain("tombstone-dump");
        expect(deps("tombstone-stop")).toEqual(expect.arrayContaining(["tombstone-dump", "tombstone-upload"]));
        expect(unwrapRemote(run.byName("gone-site").inputs.create)).toContain("MODE='gone'");
    });

    it("from self-destruct on every step is retained (destroying the stack revives nothing); before, rollback undoes", async () => {
        const closing = await runProgram(closeConfig({ closePhase: "closing" }), history("announce"));
        for (const r of closing.resources.filter(r => r.type === "command:remote:Command" && r.name !== "preflight-source")) {
            expect(r.retainOnDelete, r.name).toBeFalsy();
        }
        expect(String(closing.byName("gone-site").inputs.delete)).toContain("pre-close");
        expect(String(closing.byName("announcement-publish").inputs.delete)).toContain("published = false");
        expect(String(closing.byName("announcement-registrations").inputs.delete)).toContain("settings registrations open");
        const sd = await runProgram(closeConfig({ closePhase: "self-destruct" }), history("closing"));
        for (const r of sd.resources.filter(r => r.type === "command:remote:Command" && r.name !== "preflight-source")) {
            expect(r.retainOnDelete, r.name).toBe(true);
        }
    });

    it("the archive bucket: private, versioned, encrypted, expiring, protected; credentials limited to the one object", async () => {
        const run = await runProgram(closeConfig({ closePhase: "tombstone", archiveDays: "400" }), history("self-destruct"));
        const bucket = run.resources.find(r => r.type === "aws:s3/bucket:Bucket")!;
        expect(bucket.type).toBe("aws:s3/bucket:Bucket");
        expect(bucket.protect).toBe(true);
        expect(bucket.retainOnDelete).toBe(true);
        expect(bucket.inputs.bucket).toBe("mastodon-archive-social-example-org");
        expect(run.byName("archive-private").inputs).toMatchObject({
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(run.byName("archive-versioning").inputs.versioningConfiguration.status).toBe("Enabled");
        expect(run.byName("archive-encryption").inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe("AES256");
        expect(run.byName("archive-expiry").inputs.rules[0]).toMatchObject({
            expiration: { days: 400 },
            noncurrentVersionExpiration: { noncurrentDays: 400 },
        });
        const policy = JSON.parse(uploadPolicy("arn:aws:s3:::b", "social.example.org/x.age"));
        const resources = policy.Statement.map((s: { Resource: string }) => s.Resource);
        expect(new Set(resources)).toEqual(new Set(["arn:aws:s3:::b/social.example.org/x.age"]));
        expect(policy.Statement.flatMap((s: { Action: string[] }) => s.Action).sort()).toEqual(["s3:GetObject", "s3:PutObject"]);
        expect(run.byName("tombstone-upload").dependsOn).toEqual(
            expect.arrayContaining(["archive-upload", "archive-encryption", "archive-private"]),
        );
    });

    it("the upload credentials reach the server only as the step's secret stdin, never in its script or outputs", async () => {
        const run = await runProgram(closeConfig({ closePhase: "tombstone" }), history("self-destruct"));
        const upload = run.byName("tombstone-upload");
        // (The mocks resolve the secret stdin to undefined; the rehearsal checks its secrecy in the engine's state.)
        expect(Object.keys(upload.inputs)).toContain("stdin");
        for (const r of run.resources) expect(JSON.stringify(r.inputs.create ?? ""), r.name).not.toContain("mock-upload-secret");
        expect(JSON.stringify(run.outputs)).not.toContain("mock-upload-secret");
        expect(String(upload.inputs.create)).toContain('-K "$CURLRC"');
        // The SELF_DESTRUCT value is made and used on the server: no step prints or takes it.
        const sd = await runProgram(closeConfig({ closePhase: "self-destruct" }), history("closing"));
        const enable = unwrapRemote(sd.byName("self-destruct-enable").inputs.create);
        expect(enable).toContain("grep -o 'SELF_DESTRUCT=");
        expect(enable).not.toMatch(/echo "\$line"|log "\$line"|printf '%s\\n' "\$out"/);
    });

    it("a rollback from self-destruct on is refused before anything is declared", async () => {
        const run = await runProgram(closeConfig({ closePhase: "closing" }), history("self-destruct"));
        expect(run.error?.message).toMatch(/this instance was self-destructed/);
        expect(steps(run)).toEqual([]);
    });

    it("every generated closing script passes shellcheck", async () => {
        const scripts: string[] = [];
        for (const [phase, previous] of [
            ["closing", "announce"],
            ["self-destruct", "closing"],
            ["tombstone", "self-destruct"],
        ]) {
            const run = await runProgram(closeConfig({ closePhase: phase, sourceSshUser: "admin" }), history(previous));
            for (const r of run.resources.filter(x => x.type === "command:remote:Command")) {
                for (const op of ["create", "delete"] as const)
                    if (typeof r.inputs[op] === "string") scripts.push(unwrapRemote(r.inputs[op]));
            }
        }
        expect(scripts.length).toBeGreaterThan(15);
        for (const s of scripts) {
            const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", "-"], { input: s, encoding: "utf8" });
            expect(r.stdout, s.split("\n")[1]).toBe("");
        }
    });
});
