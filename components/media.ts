/**
 * User media (`public/system`), server to server with rsync (`media/sync.sh`): a pre-sync in prepare while
 * the source is live (repeatable: bump `mediaPresyncRun`); in the cutover, while the source is still live, a
 * change journal (`media/watch.sh`, `lib/sh/journal.sh`: an inotify watcher over the tree) and then a
 * catch-up pass that mirrors the tree (the stop waits for it); then a final pass with deletions once Mastodon
 * is stopped (`finalPass`), which copies only the paths the journal recorded since the catch-up pass began
 * (or walks the whole tree when the journal is not whole). Not declared at all when media is in object
 * storage (S3_ENABLED=true).
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
     * Cutover: a catch-up pass is declared before the stop, and the group stays open for `finalPass` once the
     * source is stopped. False in prepare: only the pre-sync.
     */
    cutover: boolean;
}

/** Which pass: the pre-sync (prepare), the catch-up before the stop, the final pass once stopped (cutover). */
export type MediaPass = "presync" | "catchup" | "final";

export function syncMediaScript(a: { source: Server; target: Server; pass: MediaPass; bwLimitKBps: number }): StepScript {
    return script(
        "sync.sh",
        {
            SOURCE_LIVE: a.source.liveDir,
            TARGET_LIVE: a.target.liveDir,
            TARGET_USER: a.target.mastodonUser,
            PASS: a.pass,
            BW_LIMIT_KBPS: a.pass === "final" ? 0 : a.bwLimitKBps,
        },
        ["journal"],
    );
}

export class Media extends StepGroup {
    readonly presync: command.remote.Command;
    /** The change journal's watcher, started before the catch-up pass (cutover); its undo stops it. */
    readonly watch?: command.remote.Command;
    /** The catch-up pass at the start of the cutover, while the source is live: the stop waits for it. */
    readonly catchup?: command.remote.Command;
    /** The final pass (cutover): the start and the verification wait for it. */
    final?: command.remote.Command;

    constructor(
        name: string,
        private readonly args: MediaArgs,
        opts?: StepGroupOptions,
    ) {
        super("Media", name, opts);
        this.presync = this.step("presync", args.source, this.sync("presync"), { peer: args.target, triggers: [args.presyncRun] });
        if (args.cutover) {
            this.watch = this.step("watch", args.source, script("watch.sh", { SOURCE_LIVE: args.source.liveDir }, ["journal"]), {
                undo: script("watch-undo.sh", {}, ["journal"]),
                after: [this.presync],
            });
            this.catchup = this.step("catchup", args.source, this.sync("catchup"), {
                peer: args.target,
                after: [this.presync, this.watch],
            });
        } else {
            this.done();
        }
    }

    /** The final pass's step name (the verification reads what it copied). */
    get finalStepName(): string {
        return `${this.groupName}-final`;
    }

    /** The final pass with deletions, once Mastodon is stopped on the source (cutover); closes the group. */
    finalPass(sourceStopped: pulumi.Resource): command.remote.Command {
        this.final = this.step("final", this.args.source, this.sync("final"), {
            peer: this.args.target,
            after: [this.presync, this.watch, this.catchup, sourceStopped],
        });
        this.done();
        return this.final;
    }

    private sync(pass: MediaPass): StepScript {
        return syncMediaScript({ ...this.args, pass });
    }
}
