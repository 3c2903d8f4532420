/**
 * The users' archives before the instance closes (seed: "exports"): `tootctl accounts backup` is queued
 * for the users listed in config, or for every active local user without a recent archive
 * (`archives/request.sh`); then a gate waits until the `backups` table has no row with
 * `processed = false`, printing its progress every 20 s (`archives/wait.sh`). A timeout fails only the gate:
 * the next `up` waits again and queues nothing twice. Mastodon mails each user a link to the archive,
 * served by nginx under `/system/backups/`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "archives");

/** Mastodon deletes archives after 7 days; an archive younger than that is recent enough. */
export const RECENT_ARCHIVE_DAYS = 7;

export interface ArchivesArgs {
    /** The server of the instance that closes. */
    server: Server;
    /** The database (DB_NAME). */
    dbName: string;
    /** Usernames to request an archive for; empty = every active local user without a recent archive. */
    users: string[];
    /** How long the gate waits in one `up`. */
    timeoutSeconds: number;
}

export const requestScript = (a: ArchivesArgs): StepScript =>
    script(
        "request.sh",
        { LIVE: a.server.liveDir, MASTODON_USER: a.server.mastodonUser, DB: a.dbName, USERS: a.users, RECENT_DAYS: RECENT_ARCHIVE_DAYS },
        ["mastodon"],
    );

export const waitScript = (a: ArchivesArgs): StepScript => script("wait.sh", { DB: a.dbName, TIMEOUT: a.timeoutSeconds });

/** What the gate reports: when every archive was ready, and how many there are. */
export interface ArchivesReady {
    at: string;
    processed: number;
}

export class Archives extends StepGroup {
    /** The archives requested. */
    readonly request: command.remote.Command;
    /** Every archive processed. */
    readonly ready: command.remote.Command;
    /** When the last one was ready (ISO time): the download period counts from it. */
    readonly readyAt: pulumi.Output<string>;

    constructor(name: string, args: ArchivesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("Archives", name, opts);
        this.request = this.step("request", args.server, requestScript(args));
        const ready = this.reportingStep<ArchivesReady>("ready", args.server, waitScript(args), "ARCHIVES_READY", {
            after: [this.request],
        });
        this.ready = ready.step;
        this.readyAt = ready.report.apply(r => r.at);
        this.done({ readyAt: this.readyAt });
    }
}
