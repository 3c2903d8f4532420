/**
 * No second outage for clients on stale DNS: once DNS points at the target server, the source server's
 * nginx forwards every request there (`forwarding/on.sh`: TLS to the target's address with the instance's
 * name, the original Host header), so resolvers that still cache the source's address for the TTL reach the
 * moved instance instead of the maintenance page. Rollback removes it and the maintenance page is back
 * (`forwarding/off.sh`). Left in place once complete: the retired source keeps forwarding late clients.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "forwarding");

export interface ForwardingArgs {
    /** The source server, whose nginx forwards. */
    source: Server;
    /** The target server: requests go to its address. */
    target: Server;
    /** The instance's domain (server_name, SNI and certificate name towards the target). */
    domain: string;
    /** The instance's nginx site on the source server (disabled while forwarding, enabled again on rollback). */
    nginxSite: string;
    /** The DNS records pointing at the target: forwarding starts once they switched. */
    dnsSwitched: pulumi.Resource[];
}

export const forwardingScript = (a: { nginxSite: string; domain: string; targetAddress: string }): StepScript =>
    script("on.sh", { SITE: a.nginxSite, DOMAIN: a.domain, TARGET_ADDRESS: a.targetAddress });

export class Forwarding extends StepGroup {
    /** The source server's nginx forwards to the target server. */
    readonly on: command.remote.Command;

    constructor(name: string, args: ForwardingArgs, opts?: StepGroupOptions) {
        super("Forwarding", name, opts);
        this.on = this.step(
            "on",
            args.source,
            args.target.address.apply(targetAddress => forwardingScript({ nginxSite: args.nginxSite, domain: args.domain, targetAddress })),
            { undo: script("off.sh", { SITE: args.nginxSite }), after: args.dnsSwitched },
        );
        this.done();
    }
}
