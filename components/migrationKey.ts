/**
 * The migration key: an ed25519 key pair generated ON the old server, whose public half is authorized on
 * the new server for the data transfer (`restrict`: no forwarding, no pty). The private half never leaves
 * the old server and never enters Pulumi: only the public key is printed. Both halves are removed when the
 * component leaves the program (phase complete, or destroy).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { PeerSsh, q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface MigrationKeyArgs {
    /** The old server: the key is generated there and the transfers run there. */
    source: Server;
    /** The new server: the public key is authorized for its SSH user. */
    target: Server;
    /** Address and port of the new server as the old server reaches it; user the key logs in as. */
    targetAddress: pulumi.Input<string>;
    targetPort: number;
    targetUser: string;
    /** Pinned host key of the new server, written to our own known_hosts when given. */
    targetHostKey?: string;
    domain: string;
    /** Steps that must finish first (the new server's readiness check). */
    dependsOn?: pulumi.Resource[];
}

/** Comment that marks our key in authorized_keys, so it can be found and removed. */
export const keyComment = (domain: string) => `mastodon-migration@${domain}`;

/** How the old server reaches the new one with the migration key (files on the old server). */
export function migrationPeer(a: { targetAddress: pulumi.Input<string>; targetPort: number; targetUser: string; sourceWorkDir: string }): pulumi.Output<PeerSsh> {
    return pulumi.output(a.targetAddress).apply(host => ({
        host, port: a.targetPort, user: a.targetUser,
        keyFile: `${a.sourceWorkDir}/migration_ed25519`, knownHostsFile: `${a.sourceWorkDir}/known_hosts`,
    }));
}

export function generateKeyScript(a: { domain: string; targetAddress: string; targetPort: number; targetHostKey?: string }): string {
    const pin = a.targetHostKey
        ? `printf '%s %s\\n' ${q(a.targetPort === 22 ? a.targetAddress : `[${a.targetAddress}]:${a.targetPort}`)} ${q(a.targetHostKey)} > "$WORK/known_hosts"`
        : `: # no pinned host key: the first transfer records the new server's key (accept-new)`;
    return `
KEY="$WORK/migration_ed25519"
if [ ! -s "$KEY" ] || [ ! -s "$KEY.pub" ]; then
  rm -f "$KEY.tmp" "$KEY.tmp.pub"
  ssh-keygen -q -t ed25519 -N '' -C ${q(keyComment(a.domain))} -f "$KEY.tmp"
  mv "$KEY.tmp.pub" "$KEY.pub" && mv "$KEY.tmp" "$KEY"
  log "generated the migration key on the old server"
fi
chmod 600 "$KEY"
${pin}
cat "$KEY.pub"
`;
}

export function removeKeyScript(): string {
    return `
rm -f "$WORK/migration_ed25519" "$WORK/migration_ed25519.pub" "$WORK/known_hosts"
log "migration key removed from the old server"
`;
}

/** Authorized-keys editing shared by authorize and revoke: our line is found by its comment. */
function authorizedKeysPrelude(user: string): string {
    return `
home=$(getent passwd ${q(user)} | cut -d: -f6) || die "no user ${user} on the new server"
AK="$home/.ssh/authorized_keys"
install -d -m 700 -o ${q(user)} "$home/.ssh"
touch "$AK"
`;
}

export function authorizeKeyScript(a: { user: string; publicKey: string; domain: string }): string {
    const line = `restrict ${a.publicKey}`;
    return `${authorizedKeysPrelude(a.user)}
if ! grep -qxF ${q(line)} "$AK"; then
  { grep -vF ${q(` ${keyComment(a.domain)}`)} "$AK" || true; printf '%s\\n' ${q(line)}; } > "$AK.tmp"
  chown ${q(a.user)} "$AK.tmp" && chmod 600 "$AK.tmp" && mv "$AK.tmp" "$AK"
fi
log "migration key authorized for ${a.user} on the new server"
`;
}

export function revokeKeyScript(a: { user: string; domain: string }): string {
    return `${authorizedKeysPrelude(a.user)}
{ grep -vF ${q(` ${keyComment(a.domain)}`)} "$AK" || true; } > "$AK.tmp"
chown ${q(a.user)} "$AK.tmp" && chmod 600 "$AK.tmp" && mv "$AK.tmp" "$AK"
log "migration key revoked on the new server"
`;
}

/** Extract the public key line from the generate step's output. */
export function publicKeyFrom(stdout: string): string {
    const line = stdout.split("\n").find(l => /^ssh-ed25519 [A-Za-z0-9+/=]+ mastodon-migration@/.test(l));
    if (!line) throw new Error("the old server printed no migration public key");
    return line.trim();
}

export class MigrationKey extends pulumi.ComponentResource {
    readonly publicKey: pulumi.Output<string>;
    readonly generate: command.remote.Command;
    readonly authorize: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: MigrationKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:MigrationKey", name, {}, opts);
        this.generate = runStep(this, `${name}-generate`, args.source, pulumi.output(args.targetAddress).apply(targetAddress =>
            generateKeyScript({ domain: args.domain, targetAddress, targetPort: args.targetPort, targetHostKey: args.targetHostKey })), {
            delete: removeKeyScript(),
            dependsOn: args.dependsOn,
        });
        this.publicKey = this.generate.stdout.apply(publicKeyFrom);
        this.authorize = runStep(this, `${name}-authorize`, args.target,
            this.publicKey.apply(publicKey => authorizeKeyScript({ user: args.targetUser, publicKey, domain: args.domain })), {
                delete: revokeKeyScript({ user: args.targetUser, domain: args.domain }),
                dependsOn: [this.generate],
            });
        this.durations = durationsOf({ [`${name}-generate`]: this.generate, [`${name}-authorize`]: this.authorize });
        this.registerOutputs({ publicKey: this.publicKey, durations: this.durations });
    }
}
