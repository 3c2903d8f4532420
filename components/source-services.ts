/**
 * Mastodon's services on the source server: stopped for the cutover (`source-services/stop.sh`); PostgreSQL
 * and Redis keep running for the dump and the Redis copy. The step's delete (rollback) starts exactly the
 * units that were running again and waits until they are active (`source-services/start.sh`).
 */
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn } from "../lib/step-script";

const script = scriptsIn(__dirname, "source-services");

export interface SourceServicesArgs {
    /** The source server. */
    source: Server;
}

/** Units started on rollback when no record of the stopped units exists. */
export const MASTODON_UNITS = ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"];

export class SourceServices extends StepGroup {
    /** Mastodon stopped on the source: every data step of the cutover waits for it. */
    readonly stop: command.remote.Command;

    constructor(name: string, args: SourceServicesArgs, opts?: StepGroupOptions) {
        super("SourceServices", name, opts);
        this.stop = this.step("stop", args.source, script("stop.sh", {}), { undo: script("start.sh", { DEFAULT_UNITS: MASTODON_UNITS }) });
        this.done();
    }
}
