/**
 * The records of a parked domain (closePhase parked): the domain is kept, never released, and says that it
 * sends and receives no mail, so nobody can use the closed instance's name for spam or phishing: a null MX
 * (RFC 7505), SPF `-all` and DMARC `p=reject`. They are protected and retained on delete. The adopted A
 * record stays as it is (Pulumi never deletes it); the README says what to do with it when the server goes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";

export interface ParkedRecordsArgs {
    /** Cloudflare zone id. */
    zoneId: string;
    /** The instance's record name (its domain). */
    name: string;
}

export class ParkedRecords extends pulumi.ComponentResource {
    /** The records, as "TYPE name content". */
    readonly names: string[];

    constructor(name: string, args: ParkedRecordsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("mastodon-migration:index:ParkedRecords", name, {}, opts);
        const keep = { parent: this, protect: true, retainOnDelete: true };
        const records = [
            { suffix: "mx", type: "MX", name: args.name, content: ".", priority: 0 },
            { suffix: "spf", type: "TXT", name: args.name, content: '"v=spf1 -all"' },
            { suffix: "dmarc", type: "TXT", name: `_dmarc.${args.name}`, content: '"v=DMARC1; p=reject"' },
        ];
        for (const r of records) {
            const { suffix, ...record } = r;
            new cloudflare.DnsRecord(`${name}-${suffix}`, { zoneId: args.zoneId, ttl: 3600, ...record }, keep);
        }
        this.names = records.map(r => `${r.type} ${r.name} ${r.content}`);
        this.registerOutputs({ names: this.names });
    }
}
