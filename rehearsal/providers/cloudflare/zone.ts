/**
 * The stand-in Cloudflare's zones: the JSON file `$REHEARSAL_CLOUDFLARE_STATE` (./provider.ts) holds, per zone
 * id, its DNS records keyed by record id, as the Cloudflare API returns them. Test and rehearsal helpers seed a
 * zone with the records that exist before the program runs (the ones it adopts with `import`) and read what a
 * record says afterwards.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** A DNS record as the Cloudflare API (v4 /zones/:zone_id/dns_records) returns it. */
export interface ZoneRecord {
    id: string;
    zoneId: string;
    name: string;
    type: string;
    content?: string;
    ttl: number;
    proxied: boolean;
    proxiable: boolean;
    priority?: number;
    comment?: string;
    commentModifiedOn?: string;
    tags: string[];
    tagsModifiedOn?: string;
    settings: Record<string, unknown>;
    meta: string;
    createdOn: string;
    modifiedOn: string;
}

export interface ZoneFile {
    zones: Record<string, { records: Record<string, ZoneRecord> }>;
}

/** What a seeded record says (the rest is filled in as the API would). */
export interface SeedRecord {
    /** 32 hex digits, as Cloudflare's record ids; random when left out. */
    id?: string;
    name: string;
    type: string;
    content: string;
    ttl: number;
    proxied?: boolean;
    priority?: number;
    comment?: string;
    tags?: string[];
}

export const recordId = (): string => randomBytes(16).toString("hex");

/** Cloudflare's timestamps: RFC 3339 with microseconds. */
export const cloudflareTime = (): string => new Date().toISOString().replace(/Z$/, "000Z");

export const PROXIABLE = new Set(["A", "AAAA", "CNAME"]);

export function readZoneFile(file: string): ZoneFile {
    if (!fs.existsSync(file)) return { zones: {} };
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<ZoneFile>;
    return { zones: parsed.zones ?? {} };
}

/** Read-modify-write with tmp + rename (synchronous: one process never interleaves two updates). */
export function updateZoneFile<R>(file: string, fn: (z: ZoneFile) => R): R {
    const zones = readZoneFile(file);
    const result = fn(zones);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(3).toString("hex")}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(zones, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, file);
    return result;
}

/** A full API record from what the program (or a seed) says. */
export function apiRecord(zoneId: string, id: string, r: Omit<SeedRecord, "id">, createdOn = cloudflareTime()): ZoneRecord {
    const time = cloudflareTime();
    return {
        id,
        zoneId,
        name: r.name,
        type: r.type,
        content: r.content,
        ttl: r.ttl,
        proxied: r.proxied ?? false,
        proxiable: PROXIABLE.has(r.type.toUpperCase()),
        ...(r.priority !== undefined ? { priority: r.priority } : {}),
        ...(r.comment !== undefined ? { comment: r.comment, commentModifiedOn: time } : {}),
        tags: r.tags ?? [],
        ...(r.tags?.length ? { tagsModifiedOn: time } : {}),
        settings: {},
        meta: "{}",
        createdOn,
        modifiedOn: time,
    };
}

/**
 * Make sure zone `zoneId` exists in `file` and holds `record` (replacing a record of the same id): the records
 * that are there before the program adopts them. Returns the stored record.
 */
export function seedZone(file: string, zoneId: string, record?: SeedRecord): ZoneRecord | undefined {
    return updateZoneFile(file, z => {
        const zone = (z.zones[zoneId] ??= { records: {} });
        if (!record) return undefined;
        const id = record.id ?? recordId();
        const stored = apiRecord(zoneId, id, record);
        zone.records[id] = stored;
        return stored;
    });
}

/** A record as the zone holds it now (in `zoneId`, or in any zone), or undefined. */
export function readRecord(file: string, id: string, zoneId?: string): ZoneRecord | undefined {
    const { zones } = readZoneFile(file);
    if (zoneId !== undefined) return zones[zoneId]?.records[id];
    for (const zone of Object.values(zones)) if (zone.records[id]) return zone.records[id];
    return undefined;
}
