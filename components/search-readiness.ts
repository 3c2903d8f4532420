/**
 * Full-text search on the target server (`elasticsearch: true`), before any downtime
 * (`search-readiness/check.sh`): the target reaches the search engine its `.env.production` names
 * (ES_HOST/ES_PORT, ES_USER/ES_PASS when set; the file is copied from the source first) and the cluster is
 * green or yellow. Runs after the copy in prepare, and again before the cutover's maintenance page.
 */
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "search-readiness");

/** How long the check waits for an engine that does not answer yet (one just started). */
export const SEARCH_WAIT_SECONDS = 20;

export interface SearchReadinessArgs {
    /** The target server; its `.env.production` (copied from the source) names the search engine. */
    target: Server;
}

export const searchCheckScript = (target: Server): StepScript =>
    script("check.sh", { LIVE: target.liveDir, WAIT_SECONDS: SEARCH_WAIT_SECONDS }, ["mastodon"]);

export class SearchReadiness extends StepGroup {
    /** The check: the maintenance page waits for it. */
    readonly ready: command.remote.Command;

    constructor(name: string, args: SearchReadinessArgs, opts?: StepGroupOptions) {
        super("SearchReadiness", name, opts);
        this.ready = this.step("check", args.target, searchCheckScript(args.target));
        this.done();
    }
}
