/**
 * The replication strategy under mocks: which steps each phase declares per strategy (`phasePlan`), the
 * ordering edges that keep the data safe, the deletes that clean the source server up, and the config key.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../lib/config-parse";
import { phasePlan } from "../../lib/phase";
import { RESTART_WARNING } from "../../lib/replication";
import { baseConfig, ProgramRun, runProgram } from "./harness";

const REPLICATION_PREPARE = [
    "replication-wal-level",
    "replication-access",
    "replication-schema",
    "replication-publication",
    "replication-subscribe",
    "replication-lag",
];
const REPLICATION_CUTOVER = ["replication-cutover-catchup", "replication-cutover-finish", "replication-cutover-views"];
const DUMP = ["database-dump", "database-transfer", "database-restore"];
const replication = (phase: string) => baseConfig({ phase, dbStrategy: "replication" });
/** A step's script as bash runs it (the command passes it to `bash -c` in single quotes). */
const script = (run: ProgramRun, step: string, which: "create" | "delete" | "update" = "create") =>
    String(run.byName(step).inputs[which] ?? "").replace(/'\\''/g, "'");

describe("phasePlan per database strategy", () => {
    it.each([
        ["prepare", "dump", { dbDump: false, replication: false, replicationCutover: false }],
        ["cutover", "dump", { dbDump: true, replication: false, replicationCutover: false }],
        ["complete", "dump", { dbDump: true, replication: false, replicationCutover: false }],
        ["prepare", "replication", { dbDump: false, replication: true, replicationCutover: false }],
        ["cutover", "replication", { dbDump: false, replication: true, replicationCutover: true }],
        ["complete", "replication", { dbDump: false, replication: false, replicationCutover: true }],
    ] as const)("%s with %s", (phase, dbStrategy, expected) => {
        expect(phasePlan(phase, { mediaOnS3: false, dbStrategy })).toMatchObject(expected);
    });
});

describe("dbStrategy config", () => {
    const parse = (overrides: Record<string, string>) => parseConfig(baseConfig(overrides), new Set(["sourceSshKey", "targetSshKey"]));
    it("defaults to dump", () => {
        expect(parse({}).database).toMatchObject({ strategy: "dump", replicationMaxWaitSeconds: 600, replicationRun: 1 });
    });
    it("refuses an unknown strategy and a bad wait, naming the key and the fix", () => {
        expect(() => parse({ dbStrategy: "logical", dbReplicationMaxWaitSeconds: "-5" })).toThrow(
            /dbStrategy must be one of dump, replication, got "logical": pulumi config set dbStrategy dump[\s\S]*dbReplicationMaxWaitSeconds must be a whole number/,
        );
    });
});

describe("replication strategy, prepare", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram(replication("prepare"));
        expect(run.error).toBeUndefined();
    });
    it("declares the replication steps, and no dump step", () => {
        for (const step of REPLICATION_PREPARE) expect(run.names()).toContain(step);
        for (const step of [...DUMP, ...REPLICATION_CUTOVER, "replication-ready", "maintenance-page", "source-services-stop"]) {
            expect(run.names()).not.toContain(step);
        }
    });
    it("the restart of the source's PostgreSQL is its own step, announced by the warning", () => {
        const walLevel = String(run.byName("replication-wal-level").inputs.create);
        expect(walLevel).toContain("systemctl restart postgresql");
        expect(walLevel).toContain("ALTER SYSTEM SET wal_level = logical");
        for (const step of REPLICATION_PREPARE.filter(s => s !== "replication-wal-level")) {
            expect(String(run.byName(step).inputs.create)).not.toContain("systemctl restart postgresql");
        }
        expect(RESTART_WARNING).toContain("replication-wal-level");
        expect(RESTART_WARNING).toContain("RESTARTS PostgreSQL on the source server");
    });
    it("the subscription connects to the address the wal-level step found, with the password from the target's file", () => {
        const subscribe = script(run, "replication-subscribe");
        expect(subscribe).toContain("SOURCE_PG_ADDRESS='203.0.113.10'");
        expect(subscribe).toContain("SSLMODE='require'");
        expect(subscribe).toContain('password=$(cat "$PASS_FILE")');
    });
    it("orders the steps: restart, role, schema, publication, subscription, lag", () => {
        expect(run.byName("replication-access").dependsOn).toContain("replication-wal-level");
        expect(run.byName("replication-schema").dependsOn).toContain("replication-access");
        expect(run.byName("replication-publication").dependsOn).toContain("replication-schema");
        expect(run.byName("replication-subscribe").dependsOn).toEqual(
            expect.arrayContaining(["replication-publication", "replication-schema"]),
        );
        expect(run.byName("replication-lag").dependsOn).toContain("replication-subscribe");
        expect(run.byName("replication-wal-level").dependsOn).toContain("migration-key-authorize");
    });
    it("the lag is measured again on every up, reported as a stack output", () => {
        expect(run.byName("replication-lag").inputs.triggers).toHaveLength(1);
        expect(String(run.byName("replication-lag").inputs.create)).toContain("MODE=report");
        expect(run.outputs?.replication).toEqual({ state: "streaming", tables: 8, copying: 0, lagBytes: 120 });
    });
    it("the deletes clean the source server up: subscription, publication and slots (checked), role, wal_level", () => {
        const del = (n: string) => String(run.byName(n).inputs.delete ?? "");
        expect(del("replication-subscribe")).toContain("DROP SUBSCRIPTION");
        expect(del("replication-subscribe")).not.toMatch(/DROP DATABASE/);
        expect(del("replication-publication")).toContain("DROP PUBLICATION IF EXISTS");
        expect(del("replication-publication")).toContain("pg_drop_replication_slot");
        expect(del("replication-publication")).toContain("replication slot(s) of ours are still there");
        expect(del("replication-access")).toContain('DROP ROLE \\"$REPL_ROLE\\"'.replace(/\\\\/g, "\\"));
        expect(del("replication-wal-level")).toContain("logical replication slots still exist");
    });
});

describe("the restart warning", () => {
    it("prepare and complete print it (so does preview), the cutover does not, the dump strategy never", async () => {
        const warn = vi.spyOn(pulumi.log, "warn");
        const warned = async (config: Record<string, string | undefined>, previousPhase?: string) => {
            warn.mockClear();
            const run = await runProgram(config, { previousPhase });
            expect(run.error).toBeUndefined();
            return warn.mock.calls.some(c => c[0] === RESTART_WARNING);
        };
        try {
            expect(await warned(replication("prepare"))).toBe(true);
            expect(await warned(replication("cutover"), "prepare")).toBe(false);
            expect(await warned(replication("complete"), "cutover")).toBe(true);
            expect(await warned(baseConfig({ phase: "prepare" }))).toBe(false);
        } finally {
            warn.mockRestore();
        }
    });
});

describe("replication strategy, cutover", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram(replication("cutover"), { previousPhase: "prepare" });
        expect(run.error).toBeUndefined();
    });
    it("declares the catch-up instead of the dump", () => {
        for (const step of [...REPLICATION_PREPARE, "replication-ready", ...REPLICATION_CUTOVER]) expect(run.names()).toContain(step);
        for (const step of DUMP) expect(run.names()).not.toContain(step);
        expect(run.outputs?.replicationCatchup).toMatchObject({ waitedMs: 193, sequences: 6 });
    });
    it.each([
        ["the gate before any downtime", "maintenance-page", "replication-ready"],
        ["the gate after the subscription", "replication-ready", "replication-subscribe"],
        ["Mastodon stopped before the catch-up", "replication-cutover-catchup", "source-services-stop"],
        ["catch-up after the subscription", "replication-cutover-catchup", "replication-subscribe"],
        ["catch-up only with the migration key", "replication-cutover-catchup", "migration-key-authorize"],
        ["the rollback holder after the catch-up", "replication-cutover-finish", "replication-cutover-catchup"],
        ["verify after the catch-up (the verification both strategies share)", "verify-counts", "replication-cutover-catchup"],
        ["start after the catch-up", "app-start", "replication-cutover-catchup"],
        ["the views refreshed once the target serves (out of the window)", "replication-cutover-views", "app-health"],
        ["the views refreshed from the catch-up's snapshot", "replication-cutover-views", "replication-cutover-catchup"],
    ])("%s", (_, step, mustFollow) => {
        expect(run.byName(step).dependsOn).toContain(mustFollow);
    });
    it("nothing in the window waits for the views: neither the start, the verification, the health check nor DNS", () => {
        for (const step of ["app-start", "verify-counts", "app-health", "dns-a"])
            expect(run.byName(step).dependsOn, step).not.toContain("replication-cutover-views");
        expect(run.byName("replication-cutover-finish").dependsOn).not.toContain("app-health");
    });
    it("the ready step gates: it waits, then refuses with the lag; the prepare steps never run again (frozen)", () => {
        const ready = script(run, "replication-ready");
        expect(ready).toContain("MODE='gate'");
        expect(ready).toContain("MAX_WAIT=600");
        expect(ready).toContain("refusing the cutover before any downtime");
        for (const step of REPLICATION_PREPARE) expect(script(run, step, "update"), step).toContain("lib/sh/keep.sh");
    });
    it("the catch-up refuses differing schema_migrations and copies the sequences; rollback sets the copy aside", () => {
        const catchup = String(run.byName("replication-cutover-catchup").inputs.create);
        expect(catchup).toContain("schema_migrations differ");
        expect(catchup).toContain("pg_catalog.setval");
        const undo = String(run.byName("replication-cutover-finish").inputs.delete);
        expect(undo).toContain(`db_set_aside "$DB" rolled_back`);
        expect(undo).not.toMatch(/DROP DATABASE/);
    });
});

describe("replication strategy, complete and leaving the strategy", () => {
    it("complete: the prepare steps leave the program (their deletes clean up), the cutover steps stay", async () => {
        const run = await runProgram(replication("complete"), { previousPhase: "cutover" });
        expect(run.error).toBeUndefined();
        for (const step of REPLICATION_PREPARE) expect(run.names()).not.toContain(step);
        for (const step of REPLICATION_CUTOVER) expect(run.names()).toContain(step);
        expect(run.byName("verify-counts").dependsOn).toContain("replication-cutover-catchup");
    });
    it("back to dump in prepare: no replication step is left", async () => {
        const run = await runProgram(baseConfig({ phase: "prepare", dbStrategy: "dump" }));
        expect(run.names().filter(n => n.startsWith("replication"))).toEqual([]);
    });
});
