/**
 * STAND-IN for the Pulumi Cloudflare provider plugin `cloudflare` 6.22.1 (pulumi-cloudflare, bridged from the
 * Plugin Framework terraform-provider-cloudflare v5): a real provider process, started by the real Pulumi
 * CLI, that implements `cloudflare:index/dnsRecord:DnsRecord` against stand-in zones kept in the JSON file
 * `$REHEARSAL_CLOUDFLARE_STATE` (./zone.ts). Adopting a record with the `import` option (`<zone_id>/<record_id>`)
 * reads it from that file; the engine then requires the program's inputs to equal the record's. Nothing here
 * talks to Cloudflare.
 *
 * Replace-on-change: internal/services/dns_record/schema.go (terraform-provider-cloudflare v5.x, checked at
 * v5.8.0 to v5.22.0): `zone_id` and `type` have stringplanmodifier.RequiresReplace(); name, content, ttl,
 * proxied, priority, comment, tags, settings, data update in place. `proxied` defaults to false, `content`,
 * `proxied`, `tags`, `settings` are Optional+Computed. Import: resource.go ImportState parses
 * `<zone_id>/<dns_record_id>` and reads the record; Read of a record that is gone (404) removes it from the state.
 */
import * as path from "node:path";
import type * as provider from "@pulumi/pulumi/provider";
import { fail, record, reveal, UNKNOWN, urnParts, type Props } from "../serve";
import { checkInputs, clean, diffInputs, serveBridged, timed, type ResourceSpec } from "../aws/provider";
import { apiRecord, cloudflareTime, PROXIABLE, readZoneFile, recordId, updateZoneFile, type ZoneFile, type ZoneRecord } from "./zone";

const NAME = "cloudflare";
const VERSION = "6.22.1";
const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";
const API = "https://api.cloudflare.com/client/v4";

const TYPES = [
    "A",
    "AAAA",
    "CNAME",
    "MX",
    "NS",
    "OPENPGPKEY",
    "PTR",
    "TXT",
    "CAA",
    "CERT",
    "DNSKEY",
    "DS",
    "HTTPS",
    "LOC",
    "NAPTR",
    "SMIMEA",
    "SRV",
    "SSHFP",
    "SVCB",
    "TLSA",
    "URI",
];

const SPEC: ResourceSpec = {
    required: ["name", "ttl", "type", "zoneId"],
    replaceOnChanges: ["zoneId", "type"],
    computed: ["content", "proxied", "tags", "settings"],
    validate: ins => {
        const failures: provider.CheckFailure[] = [];
        if (typeof ins.type === "string" && ins.type !== UNKNOWN && !TYPES.includes(ins.type.toUpperCase()))
            failures.push({
                property: "type",
                reason: `Attribute type value must be one of: [${TYPES.map(t => `"${t}"`).join(" ")}], got: "${ins.type}"`,
            });
        if (ins.content != null && ins.data != null)
            failures.push({ property: "data", reason: `Attribute "data" cannot be specified when "content" is specified` });
        if (ins.ttl !== UNKNOWN && typeof ins.ttl !== "number") failures.push({ property: "ttl", reason: "ttl must be a number" });
        if (typeof ins.priority === "number" && (ins.priority < 0 || ins.priority > 65535))
            failures.push({ property: "priority", reason: `Attribute priority value must be between 0 and 65535, got: ${ins.priority}` });
        return failures;
    },
};

function zonePath(): string {
    const p = process.env.REHEARSAL_CLOUDFLARE_STATE;
    if (!p)
        fail(
            "$REHEARSAL_CLOUDFLARE_STATE is not set: the stand-in Cloudflare keeps its zones in that JSON file (see rehearsal/providers/cloudflare/zone.ts)",
        );
    return p;
}

function apiError(method: string, url: string, status: string, code: number, message: string): never {
    return fail(
        `failed to make http request: ${method} "${url}": ${status} {"success":false,"errors":[{"code":${code},"message":${JSON.stringify(message)}}]}`,
    );
}

function notFound(method: string, zoneId: string, id: string): never {
    return apiError(method, `${API}/zones/${zoneId}/dns_records/${id}`, "404 Not Found", 81044, "Record does not exist.");
}

/** The inputs that would make this record (what an import compares with the program's), shaped as the program gives them. */
function inputsOf(r: ZoneRecord): Props {
    return clean({
        zoneId: r.zoneId,
        name: r.name,
        type: r.type,
        content: r.content,
        ttl: r.ttl,
        proxied: r.proxied,
        priority: r.priority,
        comment: r.comment,
        tags: r.tags.length ? r.tags : undefined,
    });
}

/** The record as the provider's state (and the program's outputs) have it: its inputs and what the API adds. */
function outputsOf(r: ZoneRecord): Props {
    return clean({
        ...inputsOf(r),
        tags: r.tags,
        proxiable: r.proxiable,
        commentModifiedOn: r.commentModifiedOn,
        tagsModifiedOn: r.tagsModifiedOn,
        // resource.go normalizeSettings: materialized with false defaults.
        settings: { flattenCname: false, ipv4Only: false, ipv6Only: false, ...r.settings },
        meta: r.meta,
        createdOn: r.createdOn,
        modifiedOn: r.modifiedOn,
    });
}

const ipv4 = (s: string) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split(".").every(o => Number(o) <= 255);
const ipv6 = (s: string) => s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s);

/** What the Cloudflare API refuses on POST/PATCH of a record. */
function validateRecord(method: string, url: string, zone: ZoneFile["zones"][string], r: Props, self?: string): void {
    const bad = (code: number, message: string) => apiError(method, url, "400 Bad Request", code, message);
    const type = String(r.type).toUpperCase();
    const content = r.content === undefined ? undefined : String(r.content);
    const ttl = Number(r.ttl);
    if (!(ttl === 1 || (ttl >= 60 && ttl <= 86400))) bad(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.");
    if (type === "A" && !ipv4(content ?? "")) bad(9005, "Content for A record must be a valid IPv4 address.");
    if (type === "AAAA" && !ipv6(content ?? "")) bad(9006, "Content for AAAA record must be a valid IPv6 address.");
    if (["MX", "SRV", "URI"].includes(type) && typeof r.priority !== "number") bad(9100, `priority is required for ${type} records.`);
    if (r.proxied === true && !PROXIABLE.has(type)) bad(9004, "This record type cannot be proxied.");
    for (const other of Object.values(zone.records)) {
        if (other.id === self || other.name.toLowerCase() !== String(r.name).toLowerCase()) continue;
        if (other.type.toUpperCase() === type && other.content === content) bad(81058, "An identical record already exists.");
        const cname = (t: string) => t.toUpperCase() === "CNAME";
        if ((cname(type) || cname(other.type)) && PROXIABLE.has(type) && PROXIABLE.has(other.type.toUpperCase()))
            bad(81053, "An A, AAAA, or CNAME record with that host already exists.");
    }
}

function requireDnsRecord(urn: string): string {
    const { type } = urnParts(urn);
    if (type !== DNS_RECORD)
        fail(`unknown resource type ${type}: the stand-in cloudflare provider ${VERSION} implements only ${DNS_RECORD}`);
    return type;
}

const impl: provider.Provider = {
    version: VERSION,

    async check(urn, olds, news) {
        const type = requireDnsRecord(urn);
        const result = checkInputs(SPEC, urn, olds ?? {}, news ?? {});
        record(NAME, "check", { urn, type, failures: result.failures ?? [] });
        return result;
    },

    async create(urn, inputs) {
        const type = requireDnsRecord(urn);
        return timed(NAME, "create", { urn, type, inputs }, () =>
            updateZoneFile(zonePath(), z => {
                const ins = reveal<Props>(inputs);
                const zoneId = String(ins.zoneId);
                const url = `${API}/zones/${zoneId}/dns_records`;
                const zone = z.zones[zoneId];
                if (!zone)
                    apiError(
                        "POST",
                        url,
                        "404 Not Found",
                        7003,
                        `Could not route to /zones/${zoneId}/dns_records, perhaps your object identifier is invalid?`,
                    );
                validateRecord("POST", url, zone, ins);
                const id = recordId();
                const stored = apiRecord(zoneId, id, {
                    name: String(ins.name),
                    type: String(ins.type),
                    content: String(ins.content ?? ""),
                    ttl: Number(ins.ttl),
                    proxied: ins.proxied === true,
                    priority: typeof ins.priority === "number" ? ins.priority : undefined,
                    comment: typeof ins.comment === "string" ? ins.comment : undefined,
                    tags: Array.isArray(ins.tags) ? (ins.tags as string[]) : undefined,
                });
                zone.records[id] = stored;
                return { id, outs: outputsOf(stored) };
            }),
        );
    },

    async read(id, urn, props) {
        const type = requireDnsRecord(urn);
        return timed(NAME, "read", { urn, type, id }, () => {
            const { zones } = readZoneFile(zonePath());
            if (id.includes("/")) {
                // An import (ImportState): `<zone_id>/<dns_record_id>`.
                const parts = id.split("/");
                if (parts.length !== 2 || !parts[0] || !parts[1])
                    fail(`invalid ID "${id}": expected an ID of the form <zone_id>/<dns_record_id>`);
                const [zoneId, recordId] = parts as [string, string];
                const found = zones[zoneId]?.records[recordId];
                if (!found) notFound("GET", zoneId, recordId);
                return { id: recordId, props: outputsOf(found), inputs: inputsOf(found) };
            }
            // A refresh: the record in the zone of the state; a record that is gone leaves the state (a 404 in Read).
            const zoneId = String((props as Props | undefined)?.zoneId ?? "");
            const found = zones[zoneId]?.records[id];
            if (!found) return { id: "", props: {} };
            return { id, props: outputsOf(found), inputs: inputsOf(found) };
        });
    },

    async update(id, urn, olds, news) {
        const type = requireDnsRecord(urn);
        return timed(NAME, "update", { urn, type, id, inputs: news }, () =>
            updateZoneFile(zonePath(), z => {
                const ins = reveal<Props>(news);
                const zoneId = String((olds as Props).zoneId);
                const url = `${API}/zones/${zoneId}/dns_records/${id}`;
                const zone = z.zones[zoneId];
                const old = zone?.records[id];
                if (!zone || !old) notFound("PATCH", zoneId, id);
                validateRecord("PATCH", url, zone, { ...old, ...ins }, id);
                const time = cloudflareTime();
                const updated: ZoneRecord = {
                    ...old,
                    name: String(ins.name),
                    content: ins.content === undefined ? old.content : String(ins.content),
                    ttl: Number(ins.ttl),
                    proxied: ins.proxied === undefined ? old.proxied : ins.proxied === true,
                    priority: typeof ins.priority === "number" ? ins.priority : undefined,
                    comment: typeof ins.comment === "string" ? ins.comment : undefined,
                    commentModifiedOn: ins.comment !== old.comment ? time : old.commentModifiedOn,
                    tags: Array.isArray(ins.tags) ? (ins.tags as string[]) : old.tags,
                    modifiedOn: time,
                };
                zone.records[id] = clean(updated);
                return { outs: outputsOf(updated) };
            }),
        );
    },

    async delete(id, urn, props) {
        const type = requireDnsRecord(urn);
        await timed(NAME, "delete", { urn, type, id }, () =>
            updateZoneFile(zonePath(), z => {
                const zoneId = String((props as Props).zoneId);
                if (!z.zones[zoneId]?.records[id]) notFound("DELETE", zoneId, id);
                delete z.zones[zoneId]!.records[id];
            }),
        );
    },

    async invoke(token) {
        return fail(`unknown function ${token}: the stand-in cloudflare provider ${VERSION} implements no functions`);
    },
};

if (path.resolve(process.argv[1] ?? "") === __filename) {
    serveBridged({
        impl,
        configure: config => record(NAME, "configure", { keys: Object.keys(config).sort() }),
        diff: (urn, id, _olds, news, oldInputs) => {
            const type = requireDnsRecord(urn);
            const outcome = diffInputs(SPEC, urn, oldInputs, news);
            record(NAME, "diff", { urn, type, id, changes: outcome.changes, replaces: outcome.replaces, diffs: outcome.diffs });
            return outcome;
        },
    });
}
