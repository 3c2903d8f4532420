/**
 * Every ordering edge that keeps data safe, checked as a DIRECT dependency of the step, so removing any one
 * of them fails this test even where another path happens to order the steps today.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { baseConfig, ProgramRun, runProgram } from "./harness";

const EDGES: [string, string, string][] = [
    ["maintenance page before Mastodon is stopped", "source-services-stop", "maintenance-page"],
    ["Mastodon stopped before the final media pass", "media-final", "source-services-stop"],
    ["Mastodon stopped before the dump", "database-dump", "source-services-stop"],
    ["Mastodon stopped before Redis is saved", "redis-copy", "source-services-stop"],
    ["transfer after the dump", "database-transfer", "database-dump"],
    ["restore after the dump", "database-restore", "database-dump"],
    ["restore after the transfer", "database-restore", "database-transfer"],
    ["restore on a checked server", "database-restore", "target-ready"],
    ["verify after the restore", "verify-counts", "database-restore"],
    ["verify after the final media pass", "verify-counts", "media-final"],
    ["start after the verification (nothing writes on the target while it counts)", "app-start", "verify-counts"],
    ["start after the restore", "app-start", "database-restore"],
    ["start after the final media pass", "app-start", "media-final"],
    ["start after Redis", "app-start", "redis-copy"],
    ["the target's Redis checked (version) and stopped before any downtime", "maintenance-page", "redis-prepare"],
    ["Redis copy once the target's Redis is stopped", "redis-copy", "redis-prepare"],
    ["start after the systemd units", "app-start", "config-systemd"],
    ["start after nginx", "app-start", "config-nginx"],
    ["health check after start", "app-health", "app-start"],
    ["feeds build after the health check", "app-feeds", "app-health"],
    ["DNS cutover after the health check", "dns-a", "app-health"],
    ["DNS cutover after the verification", "dns-a", "verify-counts"],
    ["transfers only with the migration key", "media-presync", "migration-key-authorize"],
    ["dump transfer only with the migration key", "database-dump", "migration-key-authorize"],
    ["key authorized after it is generated", "migration-key-authorize", "migration-key-generate"],
    ["key generated on a checked target server", "migration-key-generate", "target-ready"],
    ["precompile after .env.production", "app-precompile", "config-env"],
    ["Redis copy after .env.production (the target's REDIS_PORT)", "redis-copy", "config-env"],
    ["media catch-up pass before Mastodon is stopped", "source-services-stop", "media-catchup"],
    ["final media pass after the catch-up pass", "media-final", "media-catchup"],
    ["media change journal before the catch-up pass (it records every change the pass may miss)", "media-catchup", "media-watch"],
    ["final media pass after the change journal started", "media-final", "media-watch"],
    ["ANALYZE after the health check (outside the window)", "app-analyze", "app-health"],
    ["forwarding to the target once DNS points there", "forwarding-on", "dns-a"],
    ["the source surveyed again at the cutover", "preflight-cutover-source", "preflight-source"],
    ["maintenance page only on a target checked against the source as it is now", "maintenance-page", "target-cutover-ready"],
    ["config copied again once Mastodon is stopped on the source", "config-cutover-env", "source-services-stop"],
    ["certificates copied again once Mastodon is stopped", "config-cutover-nginx", "source-services-stop"],
    ["the crontab carried after the stop set it aside", "config-cutover-crontab", "source-services-stop"],
    ["start after the refreshed .env.production", "app-start", "config-cutover-env"],
    ["start after the refreshed nginx site and certificates", "app-start", "config-cutover-nginx"],
    ["start after the refreshed units", "app-start", "config-cutover-systemd"],
    ["start after the crontab", "app-start", "config-cutover-crontab"],
];

describe("ordering edges of the cutover", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram(baseConfig({ phase: "cutover" }), { previousPhase: "prepare" });
        expect(run.error).toBeUndefined();
    });
    it.each(EDGES)("%s", (_, step, mustFollow) => {
        expect(run.byName(step).dependsOn).toContain(mustFollow);
    });
    it("the Redis copy starts at the stop: it does not wait for the refreshed .env.production (it reads the source's password itself)", () => {
        expect(run.byName("redis-copy").dependsOn).not.toContain("config-cutover-env");
    });
    it("in prepare the DNS record waits for nothing of the cutover", async () => {
        const prepare = await runProgram(baseConfig({ phase: "prepare" }));
        expect(prepare.byName("dns-a").dependsOn).toEqual([]);
    });
});
