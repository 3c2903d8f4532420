/**
 * Redis, per the current guide, in two steps:
 * - `prepare` (before the window: the maintenance page waits for it): refuses a target redis-server older than
 *   the source's (it could not read the source's RDB format) before any downtime, and stops Redis on the
 *   target, which would overwrite the copied file on exit (`redis/prepare.sh`);
 * - `copy` (once Mastodon is stopped, `copyAfter`): saves and stops Redis on the source, copies `dump.rdb`
 *   server to server, starts Redis on the target with the source's password and compares the keys without
 *   expiry (`redis/copy.sh`). Without it queued Sidekiq jobs are lost and trends and "active users" reset.
 *   Its delete (rollback) starts Redis on the source again (`redis/restart-source.sh`).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "redis");

export interface RedisArgs {
    /** The source server (live until the copy; `copyAfter` says after what it is stopped). */
    source: Server;
    /** The target server, reached with the migration key; its `.env.production` gives the port. */
    target: Server;
}

const vars = ({ source, target }: RedisArgs) => ({ SOURCE_LIVE: source.liveDir, TARGET_LIVE: target.liveDir, TARGET_WORK: target.workDir });

export const prepareRedisScript = (a: RedisArgs): StepScript => script("prepare.sh", vars(a), ["mastodon", "redis-target"]);

export const copyRedisScript = (a: RedisArgs): StepScript => script("copy.sh", vars(a), ["mastodon", "redis-target"]);

export class Redis extends StepGroup {
    /** The target's Redis checked and stopped: the maintenance page waits for it. */
    readonly prepare: command.remote.Command;
    /** Redis data on the target: the start waits for it. */
    copy?: command.remote.Command;

    constructor(
        name: string,
        private readonly args: RedisArgs,
        opts?: StepGroupOptions,
    ) {
        super("Redis", name, opts);
        this.prepare = this.step("prepare", args.source, prepareRedisScript(args), { peer: args.target });
    }

    /** The copy, once Mastodon is stopped on the source (`sourceStopped`); closes the group. */
    copyAfter(sourceStopped: pulumi.Resource): command.remote.Command {
        this.copy = this.step("copy", this.args.source, copyRedisScript(this.args), {
            peer: this.args.target,
            undo: script("restart-source.sh", {}),
            after: [this.prepare, sourceStopped],
        });
        this.done();
        return this.copy;
    }
}
