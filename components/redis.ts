/**
 * Redis, per the current guide (`redis/copy.sh`): stop Redis on the target first (it would overwrite the file
 * on exit), `SAVE` and stop Redis on the source, copy `dump.rdb` server to server, start Redis on the
 * target. Without it queued Sidekiq jobs are lost and trends and "active users" reset. The delete
 * (rollback) starts Redis on the source again (`redis/restart-source.sh`).
 */
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "redis");

export interface RedisArgs {
    /** The source server (Mastodon stopped; the group's `dependsOn` says after what). */
    source: Server;
    /** The target server, reached with the migration key; its `.env.production` gives port and password. */
    target: Server;
}

export const copyRedisScript = ({ source, target }: RedisArgs): StepScript =>
    script("copy.sh", { SOURCE_LIVE: source.liveDir, TARGET_LIVE: target.liveDir, TARGET_WORK: target.workDir }, ["mastodon"]);

export class Redis extends StepGroup {
    /** Redis data on the target: the start waits for it. */
    readonly copy: command.remote.Command;

    constructor(name: string, args: RedisArgs, opts?: StepGroupOptions) {
        super("Redis", name, opts);
        this.copy = this.step("copy", args.source, copyRedisScript(args), { peer: args.target, undo: script("restart-source.sh", {}) });
        this.done();
    }
}
