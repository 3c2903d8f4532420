/**
 * User media (`public/system`), server to server with rsync: a pre-sync in prepare while the old server is
 * live (repeatable: bump `mediaPresyncRun`), then a final delta pass with `--delete` once Mastodon is
 * stopped. rsync resumes partial files, so a transfer cut off half-way continues on the next run.
 * Skipped entirely when media is in object storage (S3_ENABLED=true).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { PeerSsh, peerSetup, onPeer, q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface MediaArgs {
    source: Server;
    target: Server;
    peer: pulumi.Input<PeerSsh>;
    /** Changing this number runs the pre-sync again. */
    presyncRun: number;
    /** Bandwidth limit of the pre-sync (KiB/s, 0 = none); the final pass runs at full speed. */
    bwLimitKBps: number;
    /** Also run the final pass (phase cutover and later). */
    final: boolean;
    /** The pre-sync waits for these (the migration key). */
    dependsOn?: pulumi.Resource[];
    /** The final pass waits for these too (Mastodon stopped on the old server). */
    finalAfter?: pulumi.Resource[];
}

export function syncMediaScript(a: { sourceLive: string; targetLive: string; targetUser: string; peer: PeerSsh; final: boolean; bwLimitKBps: number }): string {
    const limit = a.bwLimitKBps > 0 ? `--bwlimit=${a.bwLimitKBps} ` : "";
    const dest = `${a.targetLive}/public/system/`;
    return `
${peerSetup(a.peer)}
SRC=${q(`${a.sourceLive}/public/system/`)}
if [ ! -d "$SRC" ]; then log "no $SRC on the old server: no media to copy"; exit 0; fi
${onPeer(a.peer, `install -d -o ${q(a.targetUser)} -g ${q(a.targetUser)} ${q(dest)}`)}
log "${a.final ? "final media pass (deletions mirrored)" : "media pre-sync while the old server is live"}: $(du -sh "$SRC" | cut -f1) in $(find "$SRC" -type f | wc -l) files"
rsync -a --protect-args --partial ${a.final ? "--delete " : ""}${limit}--stats --human-readable --chown=${q(`${a.targetUser}:${a.targetUser}`)} \\
  -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$SRC" "$PEER:${dest}" | grep -E '^(Number of (regular )?files|Total (file|transferred file) size|Number of deleted)' || true
log "media in sync"
`;
}

export class Media extends pulumi.ComponentResource {
    readonly presync: command.remote.Command;
    readonly final?: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: MediaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Media", name, {}, opts);
        const script = (final: boolean) => pulumi.output(args.peer).apply(peer => syncMediaScript({
            sourceLive: args.source.liveDir, targetLive: args.target.liveDir, targetUser: args.target.mastodonUser, peer, final,
            bwLimitKBps: final ? 0 : args.bwLimitKBps,
        }));
        this.presync = runStep(this, `${name}-presync`, args.source, script(false), { triggers: [args.presyncRun], dependsOn: args.dependsOn });
        const steps: Record<string, command.remote.Command> = { [`${name}-presync`]: this.presync };
        if (args.final) {
            this.final = runStep(this, `${name}-final`, args.source, script(true), {
                dependsOn: [this.presync, ...(args.dependsOn ?? []), ...(args.finalAfter ?? [])],
            });
            steps[`${name}-final`] = this.final;
        }
        this.durations = durationsOf(steps);
        this.registerOutputs({ durations: this.durations });
    }
}
