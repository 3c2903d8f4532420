/**
 * The target server's readiness, before any data moves: on a new EC2 instance, wait for cloud-init
 * (`target-readiness/cloud-init.sh`); then check the host against the source server's facts
 * (`target-readiness/ready.sh`). Every data step waits for `ready`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SourceFacts } from "../lib/facts";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "target-readiness");

export interface TargetReadinessArgs {
    /** The target server. */
    target: Server;
    /** Wait for cloud-init first (a new EC2 instance). */
    cloudInit: boolean;
    /** Facts read from the source server: the version and sizes to check against. */
    facts: pulumi.Input<SourceFacts>;
    /** Media is in object storage: no room is needed for it. */
    mediaOnS3: boolean;
    /** The database the restore will create; an existing one with tables is refused unless allowed. */
    dbName: string;
    /** Allow an existing non-empty database (the restore renames it aside). */
    allowNonEmptyDb: boolean;
}

export function readyScript(a: Omit<TargetReadinessArgs, "facts" | "cloudInit"> & { facts: SourceFacts }): StepScript {
    const { target: t, facts: f } = a;
    return script(
        "ready.sh",
        {
            LIVE: t.liveDir,
            MASTODON_USER: t.mastodonUser,
            ROLE: t.dbRole,
            DB: a.dbName,
            ALLOW_NON_EMPTY_DB: a.allowNonEmptyDb,
            MEDIA_ON_S3: a.mediaOnS3,
            SOURCE_VERSION: f.mastodonVersion,
            SOURCE_PG_MAJOR: f.pgMajor,
            SOURCE_COLLATE: f.collate,
            SOURCE_DB_BYTES: f.dbBytes,
            SOURCE_MEDIA_BYTES: f.mediaBytes,
            REDIS_PORT: f.redisPort,
            SOURCE_REDIS_VERSION: f.redisVersion,
            SOURCE_PGBOUNCER: f.pgbouncer,
        },
        ["mastodon"],
    );
}

export class TargetReadiness extends StepGroup {
    /** The readiness check: every data step waits for it. */
    readonly ready: command.remote.Command;

    constructor(name: string, args: TargetReadinessArgs, opts?: StepGroupOptions) {
        super("TargetReadiness", name, opts);
        const cloudInit = args.cloudInit ? this.step("cloud-init", args.target, script("cloud-init.sh", {})) : undefined;
        this.ready = this.step(
            "ready",
            args.target,
            pulumi.output(args.facts).apply(facts => readyScript({ ...args, facts })),
            { after: [cloudInit] },
        );
        this.done();
    }
}
