/**
 * Mastodon on the target: `assets:precompile` in prepare, outside the downtime (`application/precompile.sh`).
 * In cutover: the services are started (`application/start.sh`), a health check must pass through nginx
 * (`application/health.sh`), then, outside the window, ANALYZE (`application/analyze.sh`), `tootctl feeds
 * build`, and `tootctl search deploy` when Elasticsearch is used (`application/tootctl.sh`). Deleting the start step (rollback) stops Mastodon on the target again.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "application");

export interface ApplicationArgs {
    /** The target server. */
    target: Server;
    /** The instance's domain: the health check asks nginx for it. */
    domain: string;
    /** Elasticsearch in use: the search index is rebuilt after the health check. */
    elasticsearch: boolean;
    /** tootctl feeds build --concurrency. */
    feedsConcurrency: number;
    /** How long the health check waits for the target. */
    healthTimeoutSeconds: number;
    /** The database: ANALYZE runs on it after the health check. */
    dbName: string;
    /** vacuumdb --analyze-only parallel jobs. */
    analyzeJobs: number;
    /**
     * Everything the start needs in place on the target (database, media, Redis, config files). When given,
     * the start, health check and feeds build are declared (cutover); undefined in prepare.
     */
    dataInPlace?: pulumi.Resource[];
}

/** A tootctl task on the target. */
export function tootctlScript(target: Server, what: string, args: string[]): StepScript {
    return script("tootctl.sh", { MASTODON_USER: target.mastodonUser, LIVE: target.liveDir, WHAT: what, ARGS: args }, ["mastodon"]);
}

export const healthScript = (domain: string, timeoutSeconds: number): StepScript =>
    script("health.sh", { DOMAIN: domain, TIMEOUT_SECONDS: timeoutSeconds });

export class Application extends StepGroup {
    readonly precompile: command.remote.Command;
    readonly start?: command.remote.Command;
    /** The target answers through nginx: DNS waits for it. */
    readonly health?: command.remote.Command;
    readonly feeds?: command.remote.Command;
    /** ANALYZE of the restored database, after the health check (it does not gate serving). */
    readonly analyze?: command.remote.Command;
    readonly search?: command.remote.Command;

    constructor(name: string, args: ApplicationArgs, opts?: StepGroupOptions) {
        super("Application", name, opts);
        const t = args.target;
        this.precompile = this.step(
            "precompile",
            t,
            script("precompile.sh", { MASTODON_USER: t.mastodonUser, LIVE: t.liveDir }, ["mastodon"]),
        );
        if (args.dataInPlace) {
            this.start = this.step("start", t, script("start.sh", {}, ["mastodon"]), {
                undo: script("stop.sh", { MASTODON_USER: t.mastodonUser }, ["mastodon"]),
                after: [this.precompile, ...args.dataInPlace],
            });
            this.health = this.step("health", t, healthScript(args.domain, args.healthTimeoutSeconds), { after: [this.start] });
            this.feeds = this.step(
                "feeds",
                t,
                tootctlScript(t, "rebuilding home feeds", ["feeds", "build", "--concurrency", String(args.feedsConcurrency)]),
                {
                    after: [this.health],
                },
            );
            this.analyze = this.step("analyze", t, script("analyze.sh", { DB: args.dbName, JOBS: args.analyzeJobs }), {
                after: [this.health],
            });
            if (args.elasticsearch) {
                this.search = this.step("search", t, tootctlScript(t, "rebuilding the Elasticsearch index", ["search", "deploy"]), {
                    after: [this.health],
                });
            }
        }
        this.done();
    }
}
