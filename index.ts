/**
 * mastodon-migration: move a running Mastodon instance to a new server, as a reviewed Pulumi plan.
 *
 *   pulumi config set phase prepare  && pulumi up   # days ahead, no downtime
 *   pulumi config set phase cutover  && pulumi up   # the maintenance window
 *   pulumi config set phase complete && pulumi up   # after DNS has settled
 *
 * Going back from cutover to prepare is a rollback: the cutover steps leave the program and their delete
 * commands put the old server back in service. This file reads like the runbook; each step lives in
 * `components/`, and the shell it runs comes from small pure functions there.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig, MigrationConfig } from "./lib/config";
import { reached, transitionError, transitionWarning } from "./lib/phase";
import { connectionOf, Server } from "./lib/step";
import { Preflight } from "./components/preflight";
import { TargetServer } from "./components/targetServer";
import { MigrationKey, migrationPeer } from "./components/migrationKey";
import { Dns } from "./components/dns";
import { Media } from "./components/media";
import { ConfigFiles } from "./components/configFiles";
import { Application } from "./components/application";
import { Maintenance } from "./components/maintenance";
import { StopServices } from "./components/stopServices";
import { Redis } from "./components/redis";
import { Database } from "./components/database";
import { Verify } from "./components/verify";

/** The phase of the last deployment of this stack, read from its own outputs. */
async function previousPhase(): Promise<string | undefined> {
    const self = new pulumi.StackReference("last-deployment", {
        name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
    });
    const details = await self.getOutputDetails("phase");
    return details.value as string | undefined;
}

function oldServer(cfg: MigrationConfig): Server {
    const s = cfg.source;
    return { role: "old", connection: connectionOf(s.ssh), shell: { sshUser: s.ssh.user, workDir: s.workDir },
        mastodonUser: s.mastodonUser, liveDir: s.liveDir, dbRole: s.dbRole };
}

async function main() {
    // 0. Read and validate the whole stack config, then check the move between phases.
    const cfg = loadConfig();
    const previous = await previousPhase();
    const refused = transitionError(previous, cfg.phase);
    if (refused) throw new Error(refused);
    const warning = transitionWarning(previous, cfg.phase);
    if (warning) pulumi.log.warn(warning);
    const cutover = reached(cfg.phase, "cutover");
    const complete = cfg.phase === "complete";
    const old = oldServer(cfg);

    // 1. Survey the old server: LOCAL_DOMAIN, S3/ES settings, versions and sizes.
    const preflight = new Preflight("preflight", {
        server: old, domain: cfg.domain, dbName: cfg.source.dbName,
        mediaOnS3: cfg.source.mediaOnS3, elasticsearch: cfg.source.elasticsearch,
    });

    // 2. The new server (EC2 or an existing host), checked against the old one.
    const target = new TargetServer("target", {
        kind: cfg.target.kind, ssh: cfg.target.ssh, aws: cfg.target.aws,
        shell: { sshUser: cfg.target.ssh.user, workDir: cfg.target.workDir },
        mastodonUser: cfg.target.mastodonUser, liveDir: cfg.target.liveDir, dbRole: cfg.target.dbRole,
        domain: cfg.domain, facts: preflight.facts, mediaOnS3: cfg.source.mediaOnS3,
        dbName: cfg.source.dbName, allowNonEmptyDb: cfg.database.allowNonEmptyTarget,
    });
    const neu = target.server;

    // 3. A key of the old server's own, authorized on the new one for the transfers; removed in complete.
    const peer = migrationPeer({ targetAddress: target.address, targetPort: cfg.target.ssh.port,
        targetUser: cfg.target.ssh.user, sourceWorkDir: cfg.source.workDir });
    const key = complete ? undefined : new MigrationKey("migration-key", {
        source: old, target: neu, targetAddress: target.address, targetPort: cfg.target.ssh.port,
        targetUser: cfg.target.ssh.user, targetHostKey: cfg.target.ssh.hostKey, domain: cfg.domain,
        dependsOn: [target.ready],
    });
    const keyReady: pulumi.Resource[] = [target.ready, ...(key ? [key.authorize] : [])];

    // 4. Prepare, no downtime: configuration files (.env.production, nginx and TLS, systemd, pgbouncer).
    const config = new ConfigFiles("config", {
        source: old, target: neu, peer, nginxSite: cfg.app.nginxSite, tlsDir: cfg.app.tlsDir, dependsOn: keyReady,
    });

    // 5. Cutover, the maintenance window: maintenance page, then Mastodon stopped on the old server.
    //    Once complete, these are retained: destroying the stack never revives the old server.
    const maintenance = cutover ? new Maintenance("maintenance", {
        server: old, domain: cfg.domain, message: cfg.app.maintenanceMessage,
        dependsOn: [target.ready, config.env], retainOnDelete: complete,
    }) : undefined;
    const stop = maintenance && new StopServices("old-services", {
        server: old, dependsOn: [maintenance.show], retainOnDelete: complete,
    });

    // 6. Media: pre-sync in prepare (repeatable); the final delta pass once the old server is stopped.
    //    Nothing to move when media is in object storage.
    const media = cfg.source.mediaOnS3 ? undefined : new Media("media", {
        source: old, target: neu, peer, presyncRun: cfg.media.presyncRun, bwLimitKBps: cfg.media.bwLimitKBps, final: cutover,
        dependsOn: keyReady, finalAfter: stop ? [stop.stop] : [],
    });

    // 7. Database dump and restore, and Redis, while the old server is stopped.
    const database = stop && new Database("database", {
        source: old, target: neu, peer, dbName: cfg.source.dbName,
        jobs: cfg.database.restoreJobs, allowNonEmptyTarget: cfg.database.allowNonEmptyTarget,
        dependsOn: [stop.stop, ...keyReady], restoreAfter: [target.ready],
    });
    const redis = stop && new Redis("redis", { source: old, target: neu, peer, dependsOn: [stop.stop, config.env, ...keyReady] });

    // 8. The application on the new server: assets in prepare; start, health, feeds in cutover.
    const app = new Application("app", {
        server: neu, domain: cfg.domain, start: cutover, elasticsearch: cfg.source.elasticsearch,
        feedsConcurrency: cfg.app.feedsConcurrency, healthTimeoutSeconds: cfg.app.healthTimeoutSeconds,
        dependsOn: [config.env],
        startAfter: [database?.restore, media?.final, redis?.copy, config.nginx, config.units, config.pgbouncer]
            .filter((r): r is NonNullable<typeof r> => r !== undefined),
    });

    // 9. Verify: row counts and media identical on both servers, before DNS moves.
    const verify = database && new Verify("verify", {
        source: old, target: neu, peer, dbName: cfg.source.dbName, mediaOnS3: cfg.source.mediaOnS3,
        dependsOn: [database.restore, ...(media?.final ? [media.final] : []), ...keyReady],
    });

    // 10. DNS: TTL lowered in prepare, pointed at the new server once healthy and verified, TTL restored in complete.
    const dns = cfg.dns && new Dns("dns", {
        dns: cfg.dns, phase: cfg.phase,
        oldIpv4: cfg.source.publicIp, oldIpv6: cfg.source.publicIpv6,
        newIpv4: target.address, newIpv6: cfg.target.publicIpv6 ?? target.ipv6,
        dependsOn: app.health && verify ? [app.health, verify.check] : [],
    });

    // Stack outputs.
    const stepDurations = pulumi.all([preflight.durations, target.durations, key?.durations ?? {}, media?.durations ?? {}, config.durations,
        maintenance?.durations ?? {}, stop?.durations ?? {}, database?.durations ?? {}, redis?.durations ?? {},
        app.durations, verify?.durations ?? {}]).apply(parts => Object.assign({}, ...parts) as Record<string, number>);
    return {
        phase: cfg.phase,
        domain: cfg.domain,
        targetAddress: target.address,
        dns: dns ? dns.state : "disabled (dnsEnabled is false)",
        verification: verify ? verify.report : "runs in the cutover phase",
        stepDurations,
    };
}

export = main;
