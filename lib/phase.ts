/**
 * Phase rules: which steps a phase contains (`phasePlan`, which `index.ts` follows), where DNS points in it
 * (`recordFor`), and which moves between phases `pulumi up` may carry out.
 */
import { Phase, PHASES } from "./config-keys";
import { DbStrategy } from "./config-types";

/** True when `phase` is `since` or a later phase. */
export function reached(phase: Phase, since: Phase): boolean {
    return PHASES.indexOf(phase) >= PHASES.indexOf(since);
}

/**
 * Check a move from the phase of the last deployment (undefined for a new stack) to the requested one.
 * Returns an error message when the move is refused.
 */
export function transitionError(previous: string | undefined, next: Phase): string | undefined {
    if (previous !== undefined && !(PHASES as readonly string[]).includes(previous)) {
        return `the last deployment reports an unknown phase ${JSON.stringify(previous)}; refusing to guess. Inspect the stack with pulumi stack output.`;
    }
    if (previous === "complete" && next !== "complete") {
        return (
            `phase ${next} refused: this stack completed the move (the source server is retired and DNS points to the target). ` +
            `Going back is a new migration: create a new stack with the roles swapped. To keep going: pulumi config set phase complete`
        );
    }
    if (next === "complete" && previous !== "cutover" && previous !== "complete") {
        return (
            `phase complete refused: the cutover has not been deployed yet (last phase: ${previous ?? "none"}). ` +
            `Run pulumi config set phase cutover && pulumi up first.`
        );
    }
    return undefined;
}

/**
 * A rollback (cutover -> prepare) after the last deployment pointed DNS at the target server: users have
 * written there since (posts, follows, uploads), and the rollback sets all of it aside (the target's
 * database is renamed aside, its media and Redis stay there; the source server resumes from the cutover).
 * Refused unless `rollbackAfterDnsMoved` allows it; undefined when the move is not such a rollback.
 */
export function rollbackAfterDnsError(
    previous: string | undefined,
    next: Phase,
    a: { dnsContent?: string; sourceAddress: string; allowed: boolean; dbName: string },
): string | undefined {
    if (previous !== "cutover" || next !== "prepare" || a.dnsContent === undefined || a.dnsContent === a.sourceAddress) return undefined;
    if (a.allowed) return undefined;
    return (
        `rollback refused: DNS has pointed at the target server (${a.dnsContent}) since the cutover, so users have written there ` +
        `(posts, follows, media, Sidekiq's work). A rollback sets all of it aside: the target's database is renamed ` +
        `${a.dbName}_rolled_back_<time> and its media and Redis stay there; the source server resumes from its state at the cutover, ` +
        `without those writes. To roll back anyway: pulumi config set rollbackAfterDnsMoved true`
    );
}

/** A warning for moves that are allowed but unwise. */
export function transitionWarning(previous: string | undefined, next: Phase): string | undefined {
    if (next === "cutover" && previous === undefined) {
        return (
            "cutover without a prior prepare: the DNS TTL was not lowered ahead of time, so resolvers may keep the source server's " +
            "address for up to the normal TTL, and the media copy happens entirely inside the downtime."
        );
    }
    return undefined;
}

/** What one phase of the move contains. */
export interface PhasePlan {
    /** The migration key exists (prepare, cutover); it is removed in complete. */
    migrationKey: boolean;
    /** The downtime steps: maintenance page, stop, database, Redis, final media pass, start, verify (cutover, complete). */
    downtime: boolean;
    /**
     * The move is final (complete): every step is retained on delete, so `pulumi destroy` never runs an undo
     * (the source server stays stopped, the target keeps serving its database, Redis and Mastodon).
     */
    keepSourceDown: boolean;
    /**
     * From the cutover on, a step that has run never runs again because its script, connection or inputs
     * changed (`StepGroupOptions.frozen`): it would act on the live target server.
     */
    frozen: boolean;
    /** Media pre-sync while the source is live (media on local disk only). */
    mediaPresync: boolean;
    /** The final media pass once the source is stopped. */
    mediaFinal: boolean;
    /** Mastodon started, checked and feeds built on the target. */
    startTarget: boolean;
    /** DNS waits for the health check and the verification (it points at the target). */
    dnsWaitsForVerification: boolean;
    /** dump strategy: the database is dumped, sent and restored inside the window (cutover, complete). */
    dbDump: boolean;
    /**
     * replication strategy: wal_level, the replication role, the publication, the schema, the subscription
     * and the lag (prepare, cutover). They leave the program in complete, or when the strategy changes, and
     * their deletes remove the subscription, the publication, every slot of ours and wal_level=logical.
     */
    replication: boolean;
    /** replication strategy, in the window: catch up, copy the sequences, drop the subscription (cutover, complete). */
    replicationCutover: boolean;
}

/** The steps a phase contains. */
export function phasePlan(phase: Phase, opts: { mediaOnS3: boolean; dbStrategy: DbStrategy }): PhasePlan {
    const downtime = reached(phase, "cutover");
    const replication = opts.dbStrategy === "replication";
    return {
        dbDump: downtime && !replication,
        replication: replication && phase !== "complete",
        replicationCutover: replication && downtime,
        migrationKey: phase !== "complete",
        downtime,
        keepSourceDown: phase === "complete",
        frozen: downtime,
        mediaPresync: !opts.mediaOnS3,
        mediaFinal: !opts.mediaOnS3 && downtime,
        startTarget: downtime,
        dnsWaitsForVerification: downtime,
    };
}

/** A DNS record's content and TTL in a phase: the source's address until the cutover, then the target's. */
export function recordFor<T>(
    phase: Phase,
    dns: { lowTtl: number; normalTtl: number; proxied: boolean },
    sourceContent: T,
    targetContent: T,
): { content: T; ttl: number } {
    const content = phase === "prepare" ? sourceContent : targetContent;
    const ttl = dns.proxied ? 1 : phase === "complete" ? dns.normalTtl : dns.lowTtl;
    return { content, ttl };
}
