/**
 * DNS at Cloudflare: the instance's existing records (A, and AAAA when configured) are adopted with `import`
 * (`<zone_id>/<record_id>`) by the stack's first deployment, protected and retained on delete, so Pulumi never
 * removes them. Once adopted the option is left out: the record's id in state is the record id alone, so the
 * engine would read `import` again as a different resource and re-import it as a replacement on every `up`. What each
 * record says in a phase (content and TTL) is decided by `recordFor` in `lib/phase.ts`; the group's
 * `dependsOn` (the health check and the verification, from the cutover on) orders the change.
 */
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";

/** One record to adopt and set. */
export interface DnsRecordSpec {
    /** Child name suffix (`a`, `aaaa`). */
    suffix: string;
    /** Record type. */
    type: "A" | "AAAA";
    /** Id of the existing record at Cloudflare. */
    recordId: string;
    /** The address it points at in this phase. */
    content: pulumi.Input<string>;
    /** TTL in seconds (1 = Auto, for proxied records). */
    ttl: number;
}

export interface DnsArgs {
    /** Cloudflare zone id. */
    zoneId: string;
    /** Fully qualified record name. */
    name: string;
    /** Cloudflare proxy on. */
    proxied: boolean;
    /** The records to adopt and set. */
    records: DnsRecordSpec[];
    /** The records are already in this stack (a previous deployment reported them): no `import`. */
    adopted: boolean;
}

export class Dns extends pulumi.ComponentResource {
    /** The records by suffix. */
    readonly records: Record<string, cloudflare.DnsRecord> = {};
    /** What the first record says: name, content, TTL. */
    readonly state: pulumi.Output<{ name: string; content: string; ttl: number }>;

    constructor(name: string, args: DnsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("mastodon-migration:index:Dns", name, {}, opts);
        for (const r of args.records) {
            this.records[r.suffix] = new cloudflare.DnsRecord(
                `${name}-${r.suffix}`,
                { zoneId: args.zoneId, name: args.name, type: r.type, content: r.content, ttl: r.ttl, proxied: args.proxied },
                {
                    parent: this,
                    ...(args.adopted ? {} : { import: `${args.zoneId}/${r.recordId}` }),
                    protect: true,
                    retainOnDelete: true,
                    dependsOn: opts.dependsOn,
                },
            );
        }
        const first = this.records[args.records[0].suffix];
        this.state = pulumi
            .all([first.name, first.content, first.ttl])
            .apply(([n, content, ttl]) => ({ name: n, content: content ?? "", ttl }));
        this.registerOutputs({ state: this.state });
    }
}
