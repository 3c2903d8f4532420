/**
 * The migration key: an ed25519 key pair generated ON the source server, whose public half is authorized on
 * the target server for the data transfers (`restrict`: no forwarding, no pty). The private half never leaves
 * the source server and never enters Pulumi: only the public key is printed. Both halves are removed when the
 * component leaves the program (phase complete, or destroy).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "migration-key");

export interface MigrationKeyArgs {
    /** The source server: the key is generated there and the transfers run there. */
    source: Server;
    /** The target server: the public key is authorized for its SSH user. */
    target: Server;
    /** Pinned host key of the target server, written to our own known_hosts when given. */
    targetHostKey?: string;
    /** The instance's domain: it names the key (`mastodon-migration@<domain>`). */
    domain: string;
}

/** Comment that marks our key in authorized_keys, so it can be found and removed. */
export const keyComment = (domain: string) => `mastodon-migration@${domain}`;

export function generateKeyScript(a: { domain: string; targetAddress: string; targetPort: number; targetHostKey?: string }): StepScript {
    return script("generate.sh", {
        COMMENT: keyComment(a.domain),
        KNOWN_HOST_NAME: a.targetPort === 22 ? a.targetAddress : `[${a.targetAddress}]:${a.targetPort}`,
        TARGET_HOST_KEY: a.targetHostKey ?? "",
    });
}

/** Authorize (or, with `authorize: false`, revoke) the key for `user` on the target. */
export function authorizeKeyScript(a: { user: string; publicKey: string; domain: string; authorize: boolean }): StepScript {
    return script("authorize.sh", { KEY_USER: a.user, PUBLIC_KEY: a.publicKey, COMMENT: keyComment(a.domain), AUTHORIZE: a.authorize });
}

/** Extract the public key line from the generate step's output. */
export function publicKeyFrom(stdout: string): string {
    const line = stdout.split("\n").find(l => /^ssh-ed25519 [A-Za-z0-9+/=]+ mastodon-migration@/.test(l));
    if (!line) throw new Error("the source server printed no migration public key");
    return line.trim();
}

export class MigrationKey extends StepGroup {
    /** The public half, as printed by the source server. */
    readonly publicKey: pulumi.Output<string>;
    readonly generate: command.remote.Command;
    /** The key is authorized on the target: every transfer waits for it. */
    readonly authorize: command.remote.Command;

    constructor(name: string, args: MigrationKeyArgs, opts?: StepGroupOptions) {
        super("MigrationKey", name, opts);
        const { source, target } = args;
        this.generate = this.step(
            "generate",
            source,
            target.address.apply(targetAddress =>
                generateKeyScript({ domain: args.domain, targetAddress, targetPort: target.port, targetHostKey: args.targetHostKey }),
            ),
            { undo: script("remove.sh", {}) },
        );
        this.publicKey = this.generate.stdout.apply(publicKeyFrom);
        this.authorize = this.step(
            "authorize",
            target,
            this.publicKey.apply(publicKey =>
                authorizeKeyScript({ user: target.sshUser, publicKey, domain: args.domain, authorize: true }),
            ),
            {
                undo: authorizeKeyScript({ user: target.sshUser, publicKey: "", domain: args.domain, authorize: false }),
                after: [this.generate],
            },
        );
        this.done({ publicKey: this.publicKey });
    }
}
