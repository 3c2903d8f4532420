/**
 * Self-destruct, as Mastodon 4.3 and later do it (`self-destruct/enable.sh`): `tootctl self-destruct` asks
 * for the domain, then "Are you sure you want to proceed?", and only prints `SELF_DESTRUCT=<value>` (the
 * domain signed with a key derived from SECRET_KEY_BASE). The value goes from the command's output into
 * `.env.production` on the server itself (never through Pulumi, never in a log), then every Mastodon
 * process restarts: the web and the API answer 410, and Sidekiq's scheduler sends a `Delete` for up to 50
 * local accounts at a time to every known inbox.
 *
 * `self-destruct/follow.sh` re-runs the command, which in that mode only reports progress, until "Every
 * deletion notice has been sent!", printing progress every 20 s. A timeout fails only that step: the next
 * `up` follows again, and since the enable step is done (and the command never asks again once the mode
 * is on), self-destruct never starts twice. Mastodon < 4.3 is refused before anything runs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "self-destruct");

export interface SelfDestructArgs {
    /** The server of the instance that closes. */
    server: Server;
    /** LOCAL_DOMAIN, typed at the command's first question. */
    domain: string;
    /** How long one `up` follows the deletion notices. */
    pollTimeoutSeconds: number;
}

export const enableScript = (a: SelfDestructArgs): StepScript =>
    script("enable.sh", { LIVE: a.server.liveDir, MASTODON_USER: a.server.mastodonUser, DOMAIN: a.domain }, ["mastodon"]);

export const followScript = (a: SelfDestructArgs): StepScript =>
    script("follow.sh", { LIVE: a.server.liveDir, MASTODON_USER: a.server.mastodonUser, TIMEOUT: a.pollTimeoutSeconds }, ["mastodon"]);

export class SelfDestruct extends StepGroup {
    /** Mastodon >= 4.3, checked before anything. */
    readonly check: command.remote.Command;
    /** SELF_DESTRUCT in .env.production and every process restarted. */
    readonly enable: command.remote.Command;
    /** Every deletion notice sent. */
    readonly follow: command.remote.Command;

    constructor(name: string, args: SelfDestructArgs, opts?: pulumi.ComponentResourceOptions) {
        super("SelfDestruct", name, opts);
        const s = args.server;
        this.check = this.step("check", s, script("check.sh", { LIVE: s.liveDir, MASTODON_USER: s.mastodonUser }, ["mastodon"]));
        this.enable = this.step("enable", s, enableScript(args), { after: [this.check] });
        this.follow = this.step("follow", s, followScript(args), { after: [this.enable] });
        this.done();
    }
}
