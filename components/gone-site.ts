/**
 * What nginx answers while the instance closes (`gone-site/site.sh`). The instance's site file is kept
 * aside once and replaced by a site of ours built from its `listen`, `server_name` and certificate lines:
 * - `gone-but-media` (closing, self-destruct): `410 Gone` for the web, the API, ActivityPub inboxes and
 *   actors and WebFinger; `/system/...` (media, and so the users' export archives) is still served;
 * - `gone` (tombstone, parked): `410 Gone` for every path, media included.
 * `nginx -t` is checked before every reload (a failing site is put back). The rollback puts the original
 * site back (`gone-site/restore.sh`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "gone-site");

export interface GoneSiteArgs {
    /** The server of the instance that closes. */
    server: Server;
    /** The nginx site file of the instance. */
    nginxSite: string;
    /** gone-but-media: media and archives still served; gone: 410 for every path. */
    mode: "gone-but-media" | "gone";
    /** The text of the 410 page. */
    message: string;
}

export const siteScript = (a: GoneSiteArgs): StepScript =>
    script("site.sh", { SITE: a.nginxSite, LIVE: a.server.liveDir, MODE: a.mode, MESSAGE: a.message });

export class GoneSite extends StepGroup {
    /** nginx answers 410 as the mode says. */
    readonly site: command.remote.Command;

    constructor(name: string, args: GoneSiteArgs, opts?: pulumi.ComponentResourceOptions) {
        super("GoneSite", name, opts);
        this.site = this.step("site", args.server, siteScript(args), { undo: script("restore.sh", { SITE: args.nginxSite }) });
        this.done();
    }
}
