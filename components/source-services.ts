/**
 * Mastodon's services on the source server: stopped for the cutover (`source-services/stop.sh`), Sidekiq
 * quieted first; PostgreSQL and Redis keep running for the dump and the Redis copy. The units are disabled
 * at boot and the Mastodon user's crontab is set aside, so nothing of Mastodon runs there again by itself.
 * The step's delete (rollback) enables them again, restores the crontab, and starts exactly the units that
 * were running, waiting until they are active (`source-services/start.sh`).
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

/** How long Sidekiq, quieted, may finish the jobs it is running before it is stopped. */
export const SIDEKIQ_QUIET_SECONDS = 60;

/** Units started on rollback when no record of the stopped units exists. */
export const MASTODON_UNITS = ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"];

export class SourceServices extends StepGroup {
    /** Mastodon stopped on the source: every data step of the cutover waits for it. */
    readonly stop: command.remote.Command;

    constructor(name: string, args: SourceServicesArgs, opts?: StepGroupOptions) {
        super("SourceServices", name, opts);
        const s = args.source;
        this.stop = this.step(
            "stop",
            s,
            script("stop.sh", { LIVE: s.liveDir, MASTODON_USER: s.mastodonUser, QUIET_SECONDS: SIDEKIQ_QUIET_SECONDS }, ["mastodon"]),
            { undo: script("start.sh", { DEFAULT_UNITS: MASTODON_UNITS, MASTODON_USER: s.mastodonUser }, ["mastodon"]) },
        );
        this.done();
    }
}
