/**
 * The main job (`npm run rehearse -- --size large`) as a CI scenario: a large instance (800,000 statuses,
 * over 20,000 media files) moved while the stand-in app writes (web inserts, Sidekiq works the queues, Redis
 * keys expire), with the source changed between prepare and cutover, then compared with the source as it was
 * when its services stopped. Prints the downtime window it measured. Runs as root (network namespaces).
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rehearsal } from "../../rehearsal/rehearsal";
import { sandboxDown, TARGET_ADDR } from "../../rehearsal/sandbox/sandbox";

const asRoot = process.getuid?.() === 0;
afterAll(() => {
    if (asRoot) sandboxDown();
});

describe.runIf(asRoot)("large instance", () => {
    it("the main job at --size large with the live writer: 0 unexpected differences against the source at stop", async () => {
        const started = Date.now();
        // Parity compares with the source at stop; the setup-time baseline would only cost a fingerprint (about 50 s).
        const r = new Rehearsal({ size: "large", noBaseline: true });
        r.setup();
        const seeded = r.bundle!.summary;
        expect(seeded.statuses).toBe(800_000);
        expect(seeded.mediaFiles).toBeGreaterThan(20_000);
        for (const phase of ["prepare", "cutover", "complete"]) {
            const run = await r.phase(phase);
            expect(run.ok, `phase ${phase}: ${run.error}\n${r.timeline()}`).toBe(true);
            if (phase === "prepare") expect(r.changeBetweenPhases()).toHaveLength(4);
        }
        const verification = r.runs[1].outputs.verification as { identical: boolean; rows: number };
        expect(verification.identical).toBe(true);

        const parity = r.parity();
        const window = r.downtime()!;
        console.log(
            `large main job: downtime window ${window.seconds.toFixed(1)} s (${window.from} -> ${window.to}); ` +
                `setup ${JSON.stringify(r.setupSeconds)}; whole test ${((Date.now() - started) / 1000).toFixed(0)} s\n${parity.report}\n` +
                `expected by design: ${parity.expected.length}, unexpected: ${parity.differences.length}`,
        );
        expect(parity.differences, parity.report).toEqual([]);
        expect(parity.identical).toBe(true);
        // Parity read the target's Redis from a snapshot, so nothing blocked the live one: a fingerprint script
        // there ran for seconds, the app's commands got BUSY replies and the stand-in Sidekiq lost a job.
        expect(r.onTarget("grep -c 'Slow script detected' /var/log/redis/redis-server.log || true").trim()).toBe("0");
        // The writer ran until the stop, and everything it wrote by then is on the target.
        const atStop = r.atStop!.fingerprint.db!.tables.statuses.rows;
        expect(atStop).toBeGreaterThan(seeded.statuses);
        expect(parity.after.db?.tables.statuses.rows).toBe(atStop);
        // Sidekiq held jobs at the stop, and the sample media came through the target's nginx.
        expect(Number(/Sidekiq: (\d+) jobs at stop/.exec(parity.report)?.[1])).toBeGreaterThan(0);
        expect(parity.report).toMatch(/media served by the target's nginx: (\d+)\/\1 sample files identical/);
        expect(r.fetch("target", "/health")).toBe("OK");
        expect(r.dnsRecord()).toEqual({ content: TARGET_ADDR, ttl: 3600 });
        expect(r.leakedSecrets()).toEqual([]);
        expect(window.seconds).toBeGreaterThan(0);
    });
});
