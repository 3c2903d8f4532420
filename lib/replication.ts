/**
 * Names the replication strategy's steps share on both servers (`components/replication.ts` in prepare,
 * `components/replication-cutover.ts` in the window). The subscription and its slot carry the copy's number
 * (`dbReplicationRun`), so the removal of an earlier copy never touches a newer one.
 */

/** The publication on the source server (one per database, whatever the copy). */
export const PUBLICATION = "mastodon_migration";
/** The login role with REPLICATION the subscription connects as, made for the move and dropped after it. */
export const REPLICATION_ROLE = "mastodon_migration_repl";
/** Prefix of our subscriptions and replication slots. */
export const SLOT_PREFIX = "mastodon_migration_";
/** The source's PostgreSQL port, as the target server connects to it. */
export const SOURCE_PG_PORT = 5432;
/** The cutover waits for the replica only once it is this close (bytes of WAL behind). */
export const MAX_LAG_BYTES = 16 * 1024 * 1024;

/** The subscription (and its slot) of copy `run`. */
export const subscriptionName = (run: number) => `${SLOT_PREFIX}${run}`;

/** The warning `pulumi preview` and `pulumi up` print when the strategy may restart the source's PostgreSQL. */
export const RESTART_WARNING =
    "dbStrategy=replication: the step replication-wal-level RESTARTS PostgreSQL on the source server when wal_level is not " +
    "logical yet (or it does not listen on the address the target server reaches): Mastodon's database connections drop " +
    "for a few seconds. It runs in prepare, and once more in complete to put wal_level back.";
