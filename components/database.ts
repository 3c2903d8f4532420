/**
 * PostgreSQL, per the guide but in parallel: `pg_dump -Fd -j N` on the source (`database/dump.sh`; directory
 * format, measured faster here than -Fc to a file or a dump streamed into pg_restore, which cannot run jobs),
 * a server-to-server transfer (resumable rsync, identity verified: `database/transfer.sh`),
 * `createdb -T template0` and `pg_restore -j N -n public --no-owner --role=<target role>` on the target
 * (`database/restore.sh`).
 *
 * Safety: the restore goes into `<db>_migrating` and is renamed to `<db>` only once complete. It refuses to
 * touch an existing `<db>` that holds tables unless the stack allows it, and then renames it aside instead
 * of dropping it. On rollback the restored database is renamed aside too (`database/set-aside.sh`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "database");

export interface DatabaseArgs {
    /** The source server (stopped: the group's `dependsOn` says after what). */
    source: Server;
    /** The target server, reached from the source with the migration key. */
    target: Server;
    /** The database name, the same on both servers. */
    dbName: string;
    /** pg_dump and pg_restore parallel jobs. */
    jobs: number;
    /** Rename an existing non-empty database aside instead of refusing. */
    allowNonEmptyTarget: boolean;
    /** The target's readiness check: the restore waits for it. */
    targetReady: pulumi.Resource;
    /** The move is complete: the full dumps are removed from both servers (`database/cleanup.sh`). */
    removeDumps: boolean;
}

/** The dump directory (pg_dump -Fd). */
export const dumpPath = (workDir: string, dbName: string) => `${workDir}/db/${dbName}.dump.d`;

export const dumpScript = (a: { dbName: string; workDir: string; jobs: number }): StepScript =>
    script("dump.sh", { DB: a.dbName, DUMP: dumpPath(a.workDir, a.dbName), JOBS: a.jobs });

/** Read the dump checksum printed by the dump step. */
export function dumpShaFrom(stdout: string): string {
    const m = stdout.match(/^DUMP_SHA256=([0-9a-f]{64})$/m);
    if (!m) throw new Error("the dump step printed no DUMP_SHA256");
    return m[1];
}

export function transferDumpScript(a: { dbName: string; source: Server; target: Server; sha: string }): StepScript {
    return script("transfer.sh", {
        DUMP: dumpPath(a.source.workDir, a.dbName),
        TARGET_WORK: a.target.workDir,
        TARGET_DUMP: dumpPath(a.target.workDir, a.dbName),
        SHA: a.sha,
    });
}

export function restoreScript(a: {
    dbName: string;
    role: string;
    jobs: number;
    workDir: string;
    sha: string;
    allowNonEmpty: boolean;
}): StepScript {
    return script(
        "restore.sh",
        {
            DB: a.dbName,
            ROLE: a.role,
            JOBS: a.jobs,
            DUMP: dumpPath(a.workDir, a.dbName),
            SHA: a.sha,
            ALLOW_NON_EMPTY: a.allowNonEmpty,
        },
        ["database"],
    );
}

export class Database extends StepGroup {
    readonly dump: command.remote.Command;
    readonly transfer: command.remote.Command;
    /** The restored database is in place: the start and the verification wait for it. */
    readonly restore: command.remote.Command;

    constructor(name: string, args: DatabaseArgs, opts?: StepGroupOptions) {
        super("Database", name, opts);
        const { source, target, dbName } = args;
        this.dump = this.step("dump", source, dumpScript({ dbName, workDir: source.workDir, jobs: args.jobs }));
        const sha = this.dump.stdout.apply(dumpShaFrom);
        this.transfer = this.step(
            "transfer",
            source,
            sha.apply(s => transferDumpScript({ dbName, source, target, sha: s })),
            { peer: target, after: [this.dump] },
        );
        this.restore = this.step(
            "restore",
            target,
            sha.apply(s =>
                restoreScript({
                    dbName,
                    role: target.dbRole,
                    jobs: args.jobs,
                    workDir: target.workDir,
                    sha: s,
                    allowNonEmpty: args.allowNonEmptyTarget,
                }),
            ),
            { undo: script("set-aside.sh", { DB: dbName }), after: [this.transfer, this.dump, args.targetReady] },
        );
        if (args.removeDumps) {
            for (const [suffix, server] of [
                ["cleanup-source", source],
                ["cleanup-target", target],
            ] as const) {
                this.step(suffix, server, script("cleanup.sh", { DUMP: dumpPath(server.workDir, dbName) }), { after: [this.restore] });
            }
        }
        this.done();
    }
}
