/**
 * The one type for the two servers of a move, the source (the running instance) and the target (its new
 * home), built in one place (`serverOf`) from the stack config and the target's address.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ServerConfig } from "./config-types";

/** Which side of the move a server is. */
export type Role = "source" | "target";

/** A Mastodon server as the components see it. */
export interface Server {
    /** Which side of the move: used in descriptions and messages. */
    role: Role;
    /** Address the admin machine (Pulumi) and the source server reach it at. */
    address: pulumi.Output<string>;
    /** SSH port. */
    port: number;
    /** SSH user: root, or a user with passwordless sudo (steps escalate with `sudo -n`). */
    sshUser: string;
    /** SSH connection from the admin machine; a secret Output (it holds the private key). */
    connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** Directory of our own on the server for dumps, keys, locks and markers. */
    workDir: string;
    /** Unix user that runs Mastodon. */
    mastodonUser: string;
    /** The Mastodon checkout (holds `.env.production` and `public/system`). */
    liveDir: string;
    /** PostgreSQL role Mastodon uses on this server. */
    dbRole: string;
}

/** Build a server from its settings; `address` overrides `ssh.host` (the target's Elastic IP on aws). */
export function serverOf(role: Role, settings: ServerConfig, address?: pulumi.Input<string>): Server {
    const host = pulumi.output(address ?? settings.ssh.host);
    const { port, user, privateKey, hostKey } = settings.ssh;
    return {
        role,
        address: host,
        port,
        sshUser: user,
        connection: pulumi.secret(
            pulumi.output({
                host,
                port,
                user,
                privateKey,
                hostKey,
                // Cloud hosts take a while to accept SSH after boot; retry dials for about 5 minutes.
                dialErrorLimit: 20,
                perDialTimeout: 15,
            }),
        ),
        workDir: settings.workDir,
        mastodonUser: settings.mastodonUser,
        liveDir: settings.liveDir,
        dbRole: settings.dbRole,
    };
}
