/**
 * User media (`public/system`), server to server with rsync (`media/sync.sh`): a pre-sync in prepare while
 * the source is live (repeatable: bump `mediaPresyncRun`), then a final delta pass with `--delete` once
 * Mastodon is stopped. Not declared at all when media is in object storage (S3_ENABLED=true).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "media");

export interface MediaArgs {
    /** The source server: the copies run there. */
    source: Server;
    /** The target server, reached with the migration key. */
    target: Server;
    /** Changing this number runs the pre-sync again. */
    presyncRun: number;
    /** Bandwidth limit of the pre-sync (KiB/s, 0 = none); the final pass runs at full speed. */
    bwLimitKBps: number;
    /**
     * Mastodon stopped on the source: when given, the final pass is declared and waits for it (cutover).
     * Undefined in prepare: only the pre-sync.
     */
    sourceStopped?: pulumi.Resource;
}

export function syncMediaScript(a: { source: Server; target: Server; final: boolean; bwLimitKBps: number }): StepScript {
    return script("sync.sh", {
        SOURCE_LIVE: a.source.liveDir,
        TARGET_LIVE: a.target.liveDir,
        TARGET_USER: a.target.mastodonUser,
        FINAL: a.final,
        BW_LIMIT_KBPS: a.final ? 0 : a.bwLimitKBps,
    });
}

export class Media extends StepGroup {
    readonly presync: command.remote.Command;
    /** The final pass (cutover): the start and the verification wait for it. */
    readonly final?: command.remote.Command;

    constructor(name: string, args: MediaArgs, opts?: StepGroupOptions) {
        super("Media", name, opts);
        const sync = (final: boolean) => syncMediaScript({ ...args, final });
        this.presync = this.step("presync", args.source, sync(false), { peer: args.target, triggers: [args.presyncRun] });
        if (args.sourceStopped) {
            this.final = this.step("final", args.source, sync(true), { peer: args.target, after: [this.presync, args.sourceStopped] });
        }
        this.done();
    }
}
