/**
 * The database in the window, by the replication strategy (after `components/replication.ts` in prepare):
 * - `catchup` (source, once Mastodon is stopped, one SSH connection to the target): refuses if
 *   `schema_migrations` differ (DDL is not replicated); writes a marker row on the source and waits until the
 *   target has applied it, i.e. the source's WAL position at the stop; copies every sequence's value (not
 *   carried by logical replication); drops the subscription (and its slot on the source) and takes the
 *   snapshot of the data at the stop that the materialized views are refreshed from: the target's database is
 *   the instance's from then on;
 * - `finish` (target): holds the rollback, whose delete sets the promoted database aside (renamed). It runs
 *   beside the start and the verification, which wait only for the catch-up;
 * - `views` (target, declared by `viewsAfter` once the target serves): releases the refresh of the
 *   materialized views from that snapshot and waits for it, out of the window.
 * The verification that follows is the one the dump strategy uses.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";
import { subscriptionName } from "../lib/replication";

const script = scriptsIn(__dirname, "replication-cutover");

export interface ReplicationCutoverArgs {
    /** The source server (stopped: the group's `dependsOn` says after what). */
    source: Server;
    /** The target server, reached from the source with the migration key. */
    target: Server;
    /** The database name, the same on both servers. */
    dbName: string;
    /** The copy's number (`dbReplicationRun`): names the subscription. */
    run: number;
    /** How long the catch-up waits for the target before refusing (seconds). */
    maxWaitSeconds: number;
}

/** What the catch-up measured. */
export interface CatchupReport {
    /** The source's WAL position the target applied. */
    lsn: string;
    /** How long the wait took inside the window (ms). */
    waitedMs: number;
    /** How far the subscription was behind when Mastodon stopped (bytes). */
    lagBytesAtStop: number;
    /** Sequences copied. */
    sequences: number;
}

/** How long the session holding the snapshot for the views waits to be released before it gives up (seconds). */
export const VIEWS_HOLD_SECONDS = 3600;

export const catchupScript = (a: { dbName: string; run: number; maxWaitSeconds: number; targetWork: string }): StepScript =>
    script("catchup.sh", {
        DB: a.dbName,
        SUBSCRIPTION: subscriptionName(a.run),
        MAX_WAIT: a.maxWaitSeconds,
        TARGET_WORK: a.targetWork,
        HOLD_SECONDS: VIEWS_HOLD_SECONDS,
    });

export const finishScript = (dbName: string): StepScript => script("finish.sh", { DB: dbName });

export class ReplicationCutover extends StepGroup {
    /** The replica is the instance's database: the start and the verification wait for it. */
    readonly catchup: command.remote.Command;
    /** Holds the rollback (its delete sets the promoted database aside). */
    readonly finish: command.remote.Command;
    /** The materialized views refreshed from the data at the stop, once the target serves. */
    views?: command.remote.Command;
    readonly report: pulumi.Output<CatchupReport>;

    private readonly target: Server;
    private readonly dbName: string;

    constructor(name: string, args: ReplicationCutoverArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ReplicationCutover", name, opts);
        const { source, target, dbName, run } = args;
        this.target = target;
        this.dbName = dbName;
        ({ step: this.catchup, report: this.report } = this.reportingStep<CatchupReport>(
            "catchup",
            source,
            catchupScript({ dbName, run, maxWaitSeconds: args.maxWaitSeconds, targetWork: target.workDir }),
            "CATCHUP",
            { peer: target },
        ));
        this.finish = this.step("finish", target, finishScript(dbName), {
            undo: script("finish-undo.sh", { DB: dbName, SUBSCRIPTION: subscriptionName(run) }),
            after: [this.catchup],
        });
    }

    /** The views refreshed once the target serves (`serving`: its health check); closes the group. */
    viewsAfter(serving: pulumi.Resource): command.remote.Command {
        this.views = this.step("views", this.target, script("views.sh", { DB: this.dbName }), {
            after: [this.catchup, this.finish, serving],
        });
        this.done({ report: this.report });
        return this.views;
    }
}
