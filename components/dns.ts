/**
 * DNS at Cloudflare: the instance's existing A record (and AAAA when configured) is adopted with
 * `import` (`<zone_id>/<record_id>`), protected and retained on delete, so Pulumi never removes it.
 * prepare lowers its TTL (a day ahead), cutover points it at the new server (after the health check and
 * the verification), complete restores the normal TTL. Moving back from cutover to prepare points it at the
 * old server again. Proxied records have TTL 1 (Auto).
 */
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import { DnsConfig, Phase } from "../lib/config";

export interface DnsArgs {
    dns: DnsConfig;
    phase: Phase;
    /** Where the records point before the cutover (and after a rollback). */
    oldIpv4: string;
    oldIpv6?: string;
    /** Where they point from the cutover on. */
    newIpv4: pulumi.Input<string>;
    newIpv6?: pulumi.Input<string | undefined>;
    /** The cutover waits for these (health check, verification). */
    dependsOn?: pulumi.Resource[];
}

/** The record values for a phase: content and TTL. Pure, so the phase rules are easy to test. */
export function recordFor<T>(phase: Phase, dns: Pick<DnsConfig, "lowTtl" | "normalTtl" | "proxied">, oldContent: T, newContent: T): { content: T; ttl: number } {
    const content = phase === "prepare" ? oldContent : newContent;
    const ttl = dns.proxied ? 1 : phase === "complete" ? dns.normalTtl : dns.lowTtl;
    return { content, ttl };
}

export class Dns extends pulumi.ComponentResource {
    readonly a: cloudflare.DnsRecord;
    readonly aaaa?: cloudflare.DnsRecord;
    /** What the A record says: name, content, TTL. */
    readonly state: pulumi.Output<{ name: string; content: string; ttl: number }>;

    constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Dns", name, {}, opts);
        const d = args.dns;
        const record = (suffix: string, type: "A" | "AAAA", recordId: string, oldContent: pulumi.Input<string>, newContent: pulumi.Input<string>) => {
            const { content, ttl } = recordFor<pulumi.Input<string>>(args.phase, d, oldContent, newContent);
            return new cloudflare.DnsRecord(`${name}-${suffix}`, { zoneId: d.zoneId, name: d.name, type, content, ttl, proxied: d.proxied }, {
                parent: this,
                import: `${d.zoneId}/${recordId}`,
                protect: true,
                retainOnDelete: true,
                dependsOn: args.phase === "prepare" ? [] : args.dependsOn,
            });
        };
        this.a = record("a", "A", d.recordId, args.oldIpv4, args.newIpv4);
        if (d.aaaaRecordId && args.oldIpv6 && args.newIpv6) {
            const newIpv6 = pulumi.output(args.newIpv6).apply(v => {
                if (!v) throw new Error("cloudflareAaaaRecordId is set but the new server has no IPv6 address");
                return v;
            });
            this.aaaa = record("aaaa", "AAAA", d.aaaaRecordId, args.oldIpv6, newIpv6);
        }
        this.state = pulumi.all([this.a.name, this.a.content, this.a.ttl]).apply(([n, content, ttl]) => ({ name: n, content: content ?? "", ttl }));
        this.registerOutputs({ state: this.state });
    }
}
