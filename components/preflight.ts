/**
 * Preflight on the source server, before anything changes (`preflight/source.sh`): the checkout and
 * `.env.production` are where the config says, LOCAL_DOMAIN equals the stack's domain, S3/Elasticsearch
 * settings agree with the stack, the database exists, and there is room for the dump. Its FACTS line is
 * what the target's readiness check compares against.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SourceFacts } from "../lib/facts";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "preflight");

export interface PreflightArgs {
    /** The source server. */
    source: Server;
    /** The stack's domain: LOCAL_DOMAIN must equal it. */
    domain: string;
    /** The database to move. */
    dbName: string;
    /** The stack says media is in object storage (checked against S3_ENABLED). */
    mediaOnS3: boolean;
    /** The stack says Elasticsearch is in use (checked against ES_ENABLED). */
    elasticsearch: boolean;
}

export function preflightScript(a: PreflightArgs): StepScript {
    return script(
        "source.sh",
        {
            LIVE: a.source.liveDir,
            MASTODON_USER: a.source.mastodonUser,
            DOMAIN: a.domain,
            DB: a.dbName,
            MEDIA_ON_S3: a.mediaOnS3,
            ELASTICSEARCH: a.elasticsearch,
        },
        ["mastodon"],
    );
}

export class Preflight extends StepGroup {
    /** The check; every later step waits for it through the facts. */
    readonly check: command.remote.Command;
    /** What the source server reported. */
    readonly facts: pulumi.Output<SourceFacts>;

    constructor(name: string, args: PreflightArgs, opts?: StepGroupOptions) {
        super("Preflight", name, opts);
        ({ step: this.check, report: this.facts } = this.reportingStep<SourceFacts>("source", args.source, preflightScript(args), "FACTS"));
        this.done({ facts: this.facts });
    }
}
