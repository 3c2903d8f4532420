/** The facts whose change between prepare and the cutover matters for the target (sizes change anyway). */
export const DRIFT_FACTS = ["mastodonVersion", "pgMajor", "collate", "redisPort", "redisVersion", "pgbouncer"] as const;

/** The names of the facts that differ between the prepare's survey and the cutover's (never their values). */
export function factsDrift(prepare: SourceFacts, cutover: SourceFacts): string[] {
    return DRIFT_FACTS.filter(k => prepare[k] !== cutover[k]);
}

/** What the source server's preflight reports (no secrets); the target's readiness check compares against it. */
export interface SourceFacts {
    /** `git describe --tags` of the source checkout: the version the target must run. */
    mastodonVersion: string;
    /** PostgreSQL major version on the source; the target's must be the same or newer. */
    pgMajor: number;
    /** Collation of the database. */
    collate: string;
    /** Size of the database in bytes. */
    dbBytes: number;
    /** Size of `public/system` in bytes (0 with media on S3). */
    mediaBytes: number;
    /** Redis port from `.env.production`. */
    redisPort: number;
    /** Version of the source's Redis: the target's must be the same or newer to load its RDB format. */
    redisVersion: string;
    /** pgbouncer is configured on the source (`/etc/pgbouncer/pgbouncer.ini`): the target needs it installed. */
    pgbouncer: boolean;
}
