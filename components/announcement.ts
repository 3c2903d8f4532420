/**
 * The closure's announcement on the source server: a published Mastodon announcement (the banner every
 * user sees; `announcement/publish.sh`), and registrations closed (`tootctl settings registrations close`;
 * `announcement/registrations.sh`). Both record what they changed in the work directory, so the rollback
 * withdraws exactly that announcement and puts the registrations mode back as it was.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "announcement");

export interface AnnouncementArgs {
    /** The server of the instance that closes. */
    server: Server;
    /** The database (DB_NAME). */
    dbName: string;
    /** The announcement's text (plain text; Mastodon renders it with links). */
    text: string;
}

export const publishScript = (a: AnnouncementArgs): StepScript => script("publish.sh", { DB: a.dbName, TEXT: a.text });

export class Announcement extends StepGroup {
    /** The published announcement. */
    readonly publish: command.remote.Command;
    /** Registrations closed. */
    readonly registrations: command.remote.Command;
    /** When the announcement was published (ISO time, UTC). */
    readonly announcedAt: pulumi.Output<string>;

    constructor(name: string, args: AnnouncementArgs, opts?: pulumi.ComponentResourceOptions) {
        super("Announcement", name, opts);
        const s = args.server;
        const published = this.reportingStep<{ at: string }>("publish", s, publishScript(args), "ANNOUNCED", {
            undo: script("withdraw.sh", { DB: args.dbName }),
        });
        this.publish = published.step;
        const mastodon = { LIVE: s.liveDir, MASTODON_USER: s.mastodonUser };
        this.registrations = this.step("registrations", s, script("registrations.sh", { ...mastodon, DB: args.dbName }, ["mastodon"]), {
            undo: script("registrations-restore.sh", mastodon, ["mastodon"]),
            after: [this.publish],
        });
        this.announcedAt = published.report.apply(r => r.at);
        this.done({ announcedAt: this.announcedAt });
    }
}
