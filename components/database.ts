/**
 * PostgreSQL, per the guide: `pg_dump -Fc` on the old server, a server-to-server transfer (resumable rsync,
 * checksum verified), `createdb -T template0` and `pg_restore -n public --no-owner --role=<target role>`
 * with parallel jobs on the new server.
 *
 * Safety: the restore goes into `<db>_migrating` and is renamed to `<db>` only once complete, so a restore
 * cut off half-way is simply redone. It refuses to touch an existing `<db>` that holds tables unless the
 * stack allows it, and then renames it aside instead of dropping it. On rollback the restored database is
 * renamed aside too (`<db>_rolled_back_<time>`), never dropped.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { onPeer, PeerSsh, peerSetup, q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface DatabaseArgs {
    source: Server;
    target: Server;
    /** How the old server reaches the new one (the migration key). */
    peer: pulumi.Input<PeerSsh>;
    dbName: string;
    /** pg_restore parallel jobs. */
    jobs: number;
    /** Rename an existing non-empty database aside instead of refusing. */
    allowNonEmptyTarget: boolean;
    /** The dump starts after these (Mastodon stopped on the old server). */
    dependsOn?: pulumi.Resource[];
    /** The restore also waits for these (the new server's readiness). */
    restoreAfter?: pulumi.Resource[];
}

export const dumpPath = (workDir: string, dbName: string) => `${workDir}/db/${dbName}.dump`;

export function dumpScript(a: { dbName: string; workDir: string }): string {
    return `
DB=${q(a.dbName)}
DUMP=${q(dumpPath(a.workDir, a.dbName))}
install -d -m 750 -o root -g postgres "$(dirname "$DUMP")"
log "pg_dump -Fc $DB ($(psql_admin -c "SELECT pg_size_pretty(pg_database_size('$DB'))"))"
# shellcheck disable=SC2016 # evaluated by the heartbeat
heartbeat 'du -h "$DUMP.tmp" | cut -f1'
as_user postgres pg_dump -Fc --verbose -d "$DB" 2> >(grep -v '^pg_dump: \\(reading\\|identifying\\|finding\\|flagging\\|saving\\)' >&2) > "$DUMP.tmp"
sha=$(sha256sum "$DUMP.tmp" | cut -d' ' -f1)
chgrp postgres "$DUMP.tmp" && chmod 640 "$DUMP.tmp" && mv "$DUMP.tmp" "$DUMP"
log "dump written: $(du -h "$DUMP" | cut -f1)"
echo "DUMP_SHA256=$sha"
`;
}

/** Read the dump checksum printed by the dump step. */
export function dumpShaFrom(stdout: string): string {
    const m = stdout.match(/^DUMP_SHA256=([0-9a-f]{64})$/m);
    if (!m) throw new Error("the dump step printed no DUMP_SHA256");
    return m[1];
}

export function transferDumpScript(a: { dbName: string; sourceWorkDir: string; targetWorkDir: string; sha: string; peer: PeerSsh }): string {
    const remote = dumpPath(a.targetWorkDir, a.dbName);
    return `
${peerSetup(a.peer)}
DUMP=${q(dumpPath(a.sourceWorkDir, a.dbName))}
[ "$(sha256sum "$DUMP" | cut -d' ' -f1)" = ${q(a.sha)} ] || die "$DUMP changed since it was dumped: run pulumi up again after a fresh dump"
${onPeer(a.peer, `install -d -m 711 ${q(a.targetWorkDir)} && install -d -m 750 -o root -g postgres ${q(`${a.targetWorkDir}/db`)}`)}
log "sending $(du -h "$DUMP" | cut -f1) to the new server (resumes a partial copy)"
rsync --partial --append-verify --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" --chmod=F640 \\
  "$DUMP" "$PEER:${remote}"
remote_sha=$(
${onPeer(a.peer, `chgrp postgres ${q(remote)} && sha256sum ${q(remote)} | cut -d' ' -f1`)}
)
[ "$remote_sha" = ${q(a.sha)} ] || die "checksum mismatch after the transfer ($remote_sha): run pulumi up again"
log "dump on the new server, checksum verified"
`;
}

export function restoreScript(a: { dbName: string; role: string; jobs: number; workDir: string; sha: string; allowNonEmpty: boolean }): string {
    return `
DB=${q(a.dbName)}
ROLE=${q(a.role)}
STAGING="\${DB}_migrating"
DUMP=${q(dumpPath(a.workDir, a.dbName))}
MARKER="$WORK/db/$DB.restored"
[ "$(sha256sum "$DUMP" | cut -d' ' -f1)" = ${q(a.sha)} ] || die "$DUMP on the new server does not match the dump's checksum"
if db_exists "$DB"; then
  if [ "$(cat "$MARKER" 2>/dev/null)" = ${q(a.sha)} ]; then
    log "$DB was already restored from this dump"; exit 0
  fi
  n=$(db_tables "$DB")
  if [ "$n" -gt 0 ]; then
${a.allowNonEmpty ? `    aside="\${DB}_before_migration_$(date -u +%Y%m%d%H%M%S)"
    log "database $DB already holds $n tables: renaming it to $aside (dbAllowNonEmptyTarget)"
    psql_admin -c "ALTER DATABASE \\"$DB\\" RENAME TO \\"$aside\\""` : `    die "database $DB on the new server already holds $n tables: refusing to restore over it. Rename or drop it yourself, or pulumi config set dbAllowNonEmptyTarget true (it is then renamed aside, not dropped)"`}
  else
    log "dropping the empty database $DB (no tables) before the restore"
    psql_admin -c "DROP DATABASE \\"$DB\\""
  fi
fi
# A staging database left by an interrupted run is ours: start it again.
psql_admin -c "DROP DATABASE IF EXISTS \\"$STAGING\\""
as_user postgres createdb -T template0 -O "$ROLE" "$STAGING"
log "pg_restore -j ${a.jobs} into $STAGING as role $ROLE"
heartbeat "psql_admin -c \\"SELECT pg_size_pretty(pg_database_size('$STAGING'))\\""
as_user postgres pg_restore --exit-on-error -j ${a.jobs} -n public --no-owner --role="$ROLE" -d "$STAGING" "$DUMP"
psql_admin -c "ALTER DATABASE \\"$STAGING\\" RENAME TO \\"$DB\\""
printf '%s\\n' ${q(a.sha)} > "$MARKER.tmp" && mv "$MARKER.tmp" "$MARKER"
log "restored $DB: $(db_tables "$DB") tables, $(psql_admin -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"
`;
}

/** Rollback: the restored database is renamed aside (never dropped), so a later cutover restores afresh. */
export function setRestoreAsideScript(a: { dbName: string }): string {
    return `
DB=${q(a.dbName)}
MARKER="$WORK/db/$DB.restored"
if [ -f "$MARKER" ] && db_exists "$DB"; then
  aside="\${DB}_rolled_back_$(date -u +%Y%m%d%H%M%S)"
  psql_admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB'" >/dev/null
  psql_admin -c "ALTER DATABASE \\"$DB\\" RENAME TO \\"$aside\\""
  log "rolled back: the restored database is kept as $aside"
fi
rm -f "$MARKER"
`;
}

export class Database extends pulumi.ComponentResource {
    readonly dump: command.remote.Command;
    readonly transfer: command.remote.Command;
    readonly restore: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Database", name, {}, opts);
        const db = args.dbName;
        this.dump = runStep(this, `${name}-dump`, args.source, dumpScript({ dbName: db, workDir: args.source.shell.workDir }), { dependsOn: args.dependsOn });
        const sha = this.dump.stdout.apply(dumpShaFrom);
        this.transfer = runStep(this, `${name}-transfer`, args.source, pulumi.all([sha, args.peer]).apply(([s, peer]) => transferDumpScript({
            dbName: db, sourceWorkDir: args.source.shell.workDir, targetWorkDir: args.target.shell.workDir, sha: s, peer,
        })), { dependsOn: [this.dump] });
        this.restore = runStep(this, `${name}-restore`, args.target, sha.apply(s => restoreScript({
            dbName: db, role: args.target.dbRole, jobs: args.jobs, workDir: args.target.shell.workDir, sha: s, allowNonEmpty: args.allowNonEmptyTarget,
        })), { delete: setRestoreAsideScript({ dbName: db }), dependsOn: [this.transfer, this.dump, ...(args.restoreAfter ?? [])] });
        this.durations = durationsOf({ [`${name}-dump`]: this.dump, [`${name}-transfer`]: this.transfer, [`${name}-restore`]: this.restore });
        this.registerOutputs({ durations: this.durations });
    }
}
