/**
 * The database by PostgreSQL logical replication, prepared with no downtime (the `replication` strategy):
 * - `wal-level` (source): wal_level=logical and PostgreSQL listening on the address the target reaches:
 *   a short, explicit RESTART of the source's PostgreSQL, only when a setting changes;
 * - `access` (source): a replication role with a random password made for the move, sent to the target
 *   server over the migration key's SSH and never through Pulumi, and a pg_hba line for the target only;
 * - `schema` (source, to the target): `pg_dump --schema-only` restored on the target server;
 * - `publication` (source): REPLICA IDENTITY FULL on tables without a primary key, the publication;
 * - `subscribe` (target): the subscription, which copies the data, then streams (TCP to the source's
 *   PostgreSQL, keepalives so a dropped link fails fast; the workers reconnect by themselves);
 * - `lag` (source): the replication lag (stack output `replication`), measured again on every `up`;
 * - `ready` (source, cutover only): the gate of the downtime: it waits for the initial copy to finish and
 *   the lag to be small, and refuses, with the lag, before anything stops.
 * Declared in prepare and cutover. In complete, or when the strategy changes, the steps leave the program and
 * their deletes run: the subscription is dropped (an unpromoted copy is set aside, a promoted one kept), the
 * publication and every slot of ours are dropped (checking that none is left), and wal_level goes back.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";
import { MAX_LAG_BYTES, PUBLICATION, REPLICATION_ROLE, SLOT_PREFIX, SOURCE_PG_PORT, subscriptionName } from "../lib/replication";

const script = scriptsIn(__dirname, "replication");

export interface ReplicationArgs {
    /** The source server: publisher. */
    source: Server;
    /** The target server: subscriber, reached from the source with the migration key. */
    target: Server;
    /** The database name, the same on both servers. */
    dbName: string;
    /** The copy's number (`dbReplicationRun`): a new number makes a new copy and a new subscription. */
    run: number;
    /** Rename an existing non-empty target database aside instead of refusing. */
    allowNonEmptyTarget: boolean;
    /** The cutover: the `ready` step gates the downtime (it waits for the initial copy, or refuses with the lag). */
    gate: boolean;
    /** How long the gate waits (seconds). */
    maxWaitSeconds: number;
    /** A value that changes on every `pulumi up` in prepare, so the lag is measured again; undefined otherwise. */
    lagRun?: string;
}

/** What the lag step reports (stack output `replication`). */
export interface ReplicationStatus {
    /** streaming, copying (initial copy running), disabled, or missing (no subscription). */
    state: string;
    /** Tables in the subscription. */
    tables: number;
    /** Tables still in the initial copy. */
    copying: number;
    /** Bytes of WAL the subscription's confirmed position is behind the source's current one (-1: no slot). */
    lagBytes: number;
}

export const walLevelScript = (targetHost: string): StepScript => script("wal-level.sh", { TARGET_HOST: targetHost }, ["postgres"]);

export const accessScript = (a: { dbName: string; targetHost: string; targetWork: string }): StepScript =>
    script("access.sh", { DB: a.dbName, REPL_ROLE: REPLICATION_ROLE, TARGET_HOST: a.targetHost, TARGET_WORK: a.targetWork });

export const publicationScript = (dbName: string): StepScript =>
    script("publication.sh", { DB: dbName, PUBLICATION, REPL_ROLE: REPLICATION_ROLE });

export const schemaScript = (a: { dbName: string; role: string; run: number; allowNonEmpty: boolean; targetWork: string }): StepScript =>
    script("schema.sh", { DB: a.dbName, ROLE: a.role, RUN: a.run, ALLOW_NON_EMPTY: a.allowNonEmpty, TARGET_WORK: a.targetWork }, [
        "database",
    ]);

export const subscribeScript = (a: { dbName: string; run: number; sourceAddress: string; sslmode: string }): StepScript =>
    script("subscribe.sh", {
        DB: a.dbName,
        SUBSCRIPTION: subscriptionName(a.run),
        PUBLICATION,
        SOURCE_PG_ADDRESS: a.sourceAddress,
        SOURCE_PG_PORT,
        SSLMODE: a.sslmode,
        REPL_ROLE: REPLICATION_ROLE,
    });

export const lagScript = (a: { dbName: string; run: number; gate: boolean; maxWaitSeconds: number }): StepScript =>
    script("lag.sh", {
        DB: a.dbName,
        SUBSCRIPTION: subscriptionName(a.run),
        MODE: a.gate ? "gate" : "report",
        MAX_WAIT: a.maxWaitSeconds,
        MAX_LAG_BYTES,
    });

/** `NAME=value` printed by a step. */
export function printedValue(stdout: string, name: string): string {
    const m = stdout.match(new RegExp(`^${name}=(\\S+)$`, "m"));
    if (!m) throw new Error(`the step printed no ${name}`);
    return m[1];
}

export class Replication extends StepGroup {
    readonly walLevel: command.remote.Command;
    readonly access: command.remote.Command;
    readonly publication: command.remote.Command;
    readonly schema: command.remote.Command;
    /** The subscription exists on the target server (it copies, then streams). */
    readonly subscribe: command.remote.Command;
    /** The lag, measured again on every `up` in prepare. */
    readonly lag: command.remote.Command;
    /** The cutover's gate: the maintenance page waits for it. Undefined in prepare. */
    readonly ready?: command.remote.Command;
    /** What the lag step (the gate, in the cutover) measured: stack output `replication`. */
    readonly status: pulumi.Output<ReplicationStatus>;

    constructor(name: string, args: ReplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("Replication", name, opts);
        const { source, target, dbName, run } = args;
        this.walLevel = this.step(
            "wal-level",
            source,
            target.address.apply(host => walLevelScript(host)),
            { undo: script("wal-level-undo.sh", {}, ["postgres"]) },
        );
        const sourceAddress = this.walLevel.stdout.apply(out => printedValue(out, "SOURCE_PG_ADDRESS"));
        this.access = this.step(
            "access",
            source,
            target.address.apply(host => accessScript({ dbName, targetHost: host, targetWork: target.workDir })),
            { peer: target, undo: script("access-undo.sh", { DB: dbName, REPL_ROLE: REPLICATION_ROLE }), after: [this.walLevel] },
        );
        const sslmode = this.access.stdout.apply(out => printedValue(out, "SOURCE_PG_SSLMODE"));
        this.schema = this.step(
            "schema",
            source,
            schemaScript({ dbName, role: target.dbRole, run, allowNonEmpty: args.allowNonEmptyTarget, targetWork: target.workDir }),
            { peer: target, after: [this.access] },
        );
        this.publication = this.step("publication", source, publicationScript(dbName), {
            undo: script("publication-undo.sh", { DB: dbName, PUBLICATION, SLOT_PREFIX }),
            after: [this.walLevel, this.access, this.schema],
        });
        this.subscribe = this.step(
            "subscribe",
            target,
            pulumi
                .all([sourceAddress, sslmode])
                .apply(([address, mode]) => subscribeScript({ dbName, run, sourceAddress: address, sslmode: mode })),
            {
                undo: script("subscribe-undo.sh", { DB: dbName, SUBSCRIPTION: subscriptionName(run), RUN: run }),
                after: [this.schema, this.access, this.publication],
            },
        );
        ({ step: this.lag, report: this.status } = this.reportingStep<ReplicationStatus>(
            "lag",
            source,
            lagScript({ dbName, run, gate: false, maxWaitSeconds: args.maxWaitSeconds }),
            "REPLICATION",
            { peer: target, after: [this.subscribe], triggers: args.lagRun ? [args.lagRun] : undefined },
        ));
        if (args.gate) {
            let gateStatus: pulumi.Output<ReplicationStatus>;
            ({ step: this.ready, report: gateStatus } = this.reportingStep<ReplicationStatus>(
                "ready",
                source,
                lagScript({ dbName, run, gate: true, maxWaitSeconds: args.maxWaitSeconds }),
                "REPLICATION",
                { peer: target, after: [this.subscribe, this.lag] },
            ));
            this.status = gateStatus;
        }
        this.done({ status: this.status });
    }
}
