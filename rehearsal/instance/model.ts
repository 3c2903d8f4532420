/** Shared shapes and id helpers of the synthetic instance. */

/** A reference epoch so output never depends on the clock: 2024-06-01T00:00:00Z. */
export const BASE_MS = Date.UTC(2024, 5, 1);
export const YEAR_MS = 365 * 24 * 3600 * 1000;

export interface Account {
    id: string;
    username: string;
    domain: string | null;
    createdMs: number;
}

export interface Model {
    domain: string;
    accounts: Account[];
    /** Indices into `accounts` of local accounts. */
    local: number[];
    statusIds: string[];
    statusAccount: Int32Array;
    /** Status indices per account, ascending. */
    byAccount: number[][];
    /** follower account index → followed account indices. */
    following: Map<number, number[]>;
}

export function toTimestamp(ms: number): string {
    return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** Mastodon-style snowflake id: millisecond timestamp << 16 | 16 low bits. */
export function snowflake(ms: number, low: number): string {
    return ((BigInt(ms) << 16n) | BigInt(low & 0xffff)).toString();
}

/** Paperclip's :id_partition — "%09d" then groups of three digits. */
export function idPartition(id: string | number): string {
    const digits = String(id).padStart(9, "0");
    return (digits.match(/\d{3}/g) ?? []).join("/");
}
