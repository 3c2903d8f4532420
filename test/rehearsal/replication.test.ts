/**
 * The replication strategy (`dbStrategy: replication`) run for real against the two sandbox hosts: the whole
 * move with live writes (a table without a primary key included) and a subscriber that falls behind, and the
 * cutover started while the initial copy is still running, with the link dropped during that copy, then a
 * rollback. Runs as root (network namespaces); one scenario at a time.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rehearsal } from "../../rehearsal/rehearsal";
import { HostName, onHost, sandboxDown, setLink, TARGET_ADDR } from "../../rehearsal/sandbox/sandbox";

const asRoot = process.getuid?.() === 0;
afterAll(() => {
    if (asRoot) sandboxDown();
});

const DB = "mastodon_production";
const replication = (config: Record<string, string> = {}) =>
    new Rehearsal({ size: "tiny", targetKind: "existing", config: { dbStrategy: "replication", ...config } });

/** Hold a lock in a session of its own on a host (released by `release`), as a slow or busy server would. */
function hold(host: HostName, sql: string): void {
    const r = onHost(
        host,
        `setsid -f env PGAPPNAME=rehearsal-hold runuser -u postgres -- psql -X -d ${DB} -c ${JSON.stringify(`BEGIN; ${sql}; SELECT pg_sleep(300)`)} </dev/null >/dev/null 2>&1`,
    );
    expect(r.code, r.stderr).toBe(0);
}
function release(r: Rehearsal, host: HostName): void {
    r.psql(host, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rehearsal-hold'");
}
/** Wait until `sql` on a host returns `want` (polling every 0.5 s), or fail after `seconds`. */
async function until(r: Rehearsal, host: HostName, db: string, sql: string, want: string, seconds = 60): Promise<void> {
    let got = "";
    for (let i = 0; i < seconds * 2; i++) {
        got = r.psql(host, db, sql);
        if (got === want) return;
        await new Promise(res => setTimeout(res, 500));
    }
    throw new Error(`${host}: ${sql} returned ${got}, expected ${want} within ${seconds}s`);
}
const events = (r: Rehearsal, phase: string) => r.runs.filter(run => run.phase === phase).flatMap(run => run.events);

describe.runIf(asRoot)("replication scenarios", () => {
    it("R1. the whole move by replication with live writes; the subscriber falls behind and the cutover waits, then refuses with the lag, then completes; nothing is left on the source", async () => {
        const r = replication({ dbReplicationMaxWaitSeconds: "5" });
        r.setup();
        const prepare = await r.phase("prepare");
        expect(prepare.ok, prepare.error).toBe(true);
        expect(r.psql("source", "postgres", "SHOW wal_level")).toBe("logical");
        expect(r.psql("source", DB, "SELECT relreplident FROM pg_class WHERE oid = 'public.statuses_tags'::regclass")).toBe("f");
        // The prepare does not wait for the initial copy: it may still run when the lag is measured.
        expect(["copying", "streaming"]).toContain((prepare.outputs.replication as { state: string }).state);
        await until(r, "target", DB, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'", "0");
        // The live instance writes: a table without a primary key is updated and deleted from (refused without
        // REPLICA IDENTITY FULL), statuses get new rows (their ids come from a sequence).
        r.psql(
            "source",
            DB,
            "UPDATE public.statuses_tags SET tag_id = tag_id WHERE status_id IN (SELECT status_id FROM public.statuses_tags ORDER BY 1 LIMIT 5); " +
                "DELETE FROM public.statuses_tags WHERE status_id IN (SELECT status_id FROM public.statuses_tags ORDER BY 1 DESC LIMIT 3); " +
                "INSERT INTO public.statuses (text, created_at, updated_at, account_id, local) " +
                "SELECT 'written while replicating ' || g, now(), now(), (SELECT min(id) FROM public.accounts), true FROM generate_series(1, 200) g",
        );
        await until(r, "target", DB, "SELECT count(*) FROM public.statuses WHERE text LIKE 'written while replicating%'", "200");
        // The subscriber falls behind: a session on the target holds the statuses table, the source keeps writing.
        hold("target", "LOCK TABLE public.statuses IN ACCESS EXCLUSIVE MODE");
        r.psql(
            "source",
            DB,
            "INSERT INTO public.statuses (text, created_at, updated_at, account_id, local) " +
                "SELECT 'written while behind ' || g, now(), now(), (SELECT min(id) FROM public.accounts), true FROM generate_series(1, 300) g",
        );
        const behind = await r.phase("prepare");
        expect(behind.ok, behind.error).toBe(true);
        expect((behind.outputs.replication as { lagBytes: number }).lagBytes).toBeGreaterThan(0);
        // The cutover: Mastodon stops, the catch-up waits dbReplicationMaxWaitSeconds, then refuses with the lag.
        const refused = await r.phase("cutover");
        expect(refused.ok).toBe(false);
        expect(refused.error).toMatch(/has not applied the source's WAL up to \S+ after 5s/);
        expect(refused.error).toMatch(/lag now \d+ bytes/);
        expect(events(r, "cutover").map(e => e.name)).not.toContain("app-start");
        // The subscriber catches up; `pulumi up` again finishes the cutover.
        release(r, "target");
        const cutover = await r.phase("cutover");
        expect(cutover.ok, cutover.error).toBe(true);
        const sequences = Number(r.psql("source", DB, "SELECT count(*) FROM pg_sequences WHERE schemaname = 'public'"));
        expect(sequences).toBeGreaterThan(0);
        expect(cutover.outputs.replicationCatchup).toMatchObject({ sequences });
        expect(cutover.outputs.verification).toMatchObject({ identical: true });
        expect(r.psql("target", "postgres", "SELECT count(*) FROM pg_subscription")).toBe("0");
        const complete = await r.phase("complete");
        expect(complete.ok, complete.error).toBe(true);
        const parity = r.parity();
        expect(parity.differences, parity.report).toEqual([]);
        expect(r.fetch("target", "/health")).toBe("OK");
        expect(r.dnsRecord()).toEqual({ content: TARGET_ADDR, ttl: 3600 });
        expect(r.leakedSecrets()).toEqual([]);
        // Nothing of the replication is left on the source server: no slot, publication, role, pg_hba line,
        // and wal_level and listen_addresses are back; the password is gone from both servers.
        expect(r.psql("source", "postgres", "SELECT count(*) FROM pg_replication_slots")).toBe("0");
        expect(r.psql("source", DB, "SELECT count(*) FROM pg_publication")).toBe("0");
        expect(r.psql("source", "postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'mastodon_migration%'")).toBe("0");
        expect(r.psql("source", "postgres", "SHOW wal_level")).toBe("replica");
        expect(r.psql("source", "postgres", "SHOW listen_addresses")).toBe("localhost");
        expect(r.onSource("grep -c mastodon-migration /etc/postgresql/15/main/pg_hba.conf || true").trim()).toBe("0");
        expect(r.psql("source", DB, "SELECT relreplident FROM pg_class WHERE oid = 'public.statuses_tags'::regclass")).toBe("d");
        expect(r.onSource("ls /var/lib/mastodon-migration/*/replication")).not.toContain("password");
        expect(r.onTarget("ls /var/lib/mastodon-migration/*/replication")).not.toContain("password");
        console.log(r.timeline());
    });

    it("R2. the cutover started while the initial copy runs is refused before any downtime; the link drops during the copy; the next cutover waits for it; rollback sets the copy aside", async () => {
        // The rollback comes after DNS moved to the target (allowed on purpose: nobody wrote there).
        const r = replication({ dbReplicationMaxWaitSeconds: "3", rollbackAfterDnsMoved: "true" });
        r.setup();
        // The target's PostgreSQL starts no copy worker yet: the initial copy stays pending.
        r.psql("target", "postgres", "ALTER SYSTEM SET max_sync_workers_per_subscription = 0");
        r.psql("target", "postgres", "SELECT pg_reload_conf()");
        const prepare = await r.phase("prepare");
        expect(prepare.ok, prepare.error).toBe(true);
        const status = prepare.outputs.replication as { state: string; tables: number; copying: number };
        expect(status.state).toBe("copying");
        expect(status.tables).toBeGreaterThan(0);
        expect(status.copying).toBe(status.tables);
        const refused = await r.phase("cutover");
        expect(refused.ok).toBe(false);
        expect(refused.error).toContain("refusing the cutover before any downtime");
        expect(refused.error).toContain(`${status.tables} of ${status.tables} tables still in the initial copy`);
        expect(events(r, "cutover").map(e => e.name)).not.toContain("maintenance-page");
        expect(r.onSource("systemctl is-active mastodon-web").trim()).toBe("active");
        // The copy starts, and its statuses table waits behind a lock on the source; then the link drops.
        hold("source", "LOCK TABLE public.statuses IN ACCESS EXCLUSIVE MODE");
        r.psql("target", "postgres", "ALTER SYSTEM RESET max_sync_workers_per_subscription");
        r.psql("target", "postgres", "SELECT pg_reload_conf()");
        await until(
            r,
            "source",
            "postgres",
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'walsender' AND wait_event_type = 'Lock'",
            "t",
        );
        expect(setLink("source", false).code).toBe(0);
        release(r, "source");
        await new Promise(res => setTimeout(res, 14_000)); // longer than the subscription's TCP timeouts
        expect(setLink("source", true).code).toBe(0);
        // The next cutover waits for the copy (the workers reconnect by themselves), then moves.
        const cutover = await r.phase("cutover");
        expect(cutover.ok, cutover.error).toBe(true);
        expect(cutover.outputs.verification).toMatchObject({ identical: true });
        const parity = r.parity();
        expect(parity.differences, parity.report).toEqual([]);
        // Rollback: the source serves again, its database never written; the promoted copy is renamed aside.
        const rollback = await r.phase("prepare");
        expect(rollback.ok, rollback.error).toBe(true);
        expect(r.onSource("systemctl is-active mastodon-web").trim()).toBe("active");
        const dbs = r.psql("target", "postgres", "SELECT datname FROM pg_database ORDER BY 1").split("\n");
        expect(dbs).not.toContain(DB);
        expect(dbs.some(d => d.startsWith(`${DB}_rolled_back_`))).toBe(true);
        expect(rollback.outputs.replication).toMatchObject({ state: "missing" });
        console.log(r.timeline());
    });
});
