/**
 * mastodon-migration: move a running Mastodon instance from a source server to a target server, as a
 * reviewed Pulumi plan.
 *
 *   pulumi config set phase prepare  && pulumi up   # days ahead, no downtime
 *   pulumi config set phase cutover  && pulumi up   # the maintenance window
 *   pulumi config set phase complete && pulumi up   # after DNS has settled
 *
 * Going back from cutover to prepare is a rollback: the cutover steps leave the program and their delete
 * commands put the source server back in service. `phasePlan` (lib/phase.ts) decides which steps a phase
 * contains; this file reads like the runbook it drives. Each step lives in `components/`, and the bash it
 * runs in a `.sh` file beside its component.
 *
 * With `operation: close` the same program closes the instance instead: the close runbook is `close.ts`
 * (phases in `closePhase`: announce, closing, self-destruct, tombstone, parked).
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./lib/config";
import { ConfigError } from "./lib/config-parse";
import { agentSocketProblem } from "./lib/agent-socket";
import { MigrationConfig } from "./lib/config-types";
import { CloseHistory } from "./lib/close-phase";
import { closeRunbook } from "./close";
import { phasePlan, recordFor, rollbackAfterDnsError, transitionError, transitionWarning } from "./lib/phase";
import { RESTART_WARNING } from "./lib/replication";
import { serverOf } from "./lib/server";
import { factsDrift } from "./lib/facts";
import { StepGroup } from "./lib/step-group";
import { Preflight } from "./components/preflight";
import { Ec2Host } from "./components/ec2-host";
import { TargetReadiness } from "./components/target-readiness";
import { MigrationKey } from "./components/migration-key";
import { ConfigFiles } from "./components/config-files";
import { SearchReadiness } from "./components/search-readiness";
import { Maintenance } from "./components/maintenance";
import { SourceServices } from "./components/source-services";
import { Media } from "./components/media";
import { Database } from "./components/database";
import { Replication } from "./components/replication";
import { ReplicationCutover } from "./components/replication-cutover";
import { Redis } from "./components/redis";
import { Application } from "./components/application";
import { Verify } from "./components/verify";
import { Dns, DnsRecordSpec } from "./components/dns";
import { Forwarding } from "./components/forwarding";

/**
 * What the last deployment of this stack reported (its operation and phase, where its DNS record pointed,
 * and whether the records are already adopted into this stack), read from its own outputs.
 */
async function lastDeployment(): Promise<CloseHistory & { dnsContent?: string; dnsAdopted: boolean }> {
    const self = new pulumi.StackReference("last-deployment", {
        name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
    });
    const read = async (name: string) => (await self.getOutputDetails(name)).value as string | undefined;
    const [operation, phase, closePhase, announcedAt, archivesReadyAt, tombstoneAt] = await Promise.all(
        ["operation", "phase", "closePhase", "announcedAt", "archivesReadyAt", "tombstoneAt"].map(read),
    );
    const dns = (await self.getOutputDetails("dns")).value as { content?: string } | string | undefined;
    // The records are in this stack once a deployment reported them (`dns` is their state; a string when disabled).
    const dnsAdopted = typeof dns === "object" && dns !== null;
    // Stacks deployed before `operation` existed report only a move phase.
    if (operation === "close") return { operation, phase: closePhase, announcedAt, archivesReadyAt, tombstoneAt, dnsAdopted };
    return {
        dnsAdopted,
        operation: phase !== undefined ? "move" : operation,
        phase,
        dnsContent: typeof dns === "object" && dns ? dns.content : undefined,
    };
}

/** Resources that exist in this phase (the optional ones are undefined in earlier phases). */
const present = <T>(...resources: (T | undefined)[]): T[] => resources.filter((r): r is T => r !== undefined);

async function main() {
    // Read and validate the whole stack config, and the SSH agent the command provider would use; then move the
    // instance, or close it (close.ts).
    const cfg = loadConfig();
    const agent = await agentSocketProblem();
    if (agent) throw new ConfigError([agent]);
    const last = await lastDeployment();
    if (cfg.operation === "close") return closeRunbook(cfg, last);
    if (last.operation === "close") {
        throw new Error(
            `operation move refused: this stack closes the instance (last closing phase: ${last.phase}). ` +
                `To keep going: pulumi config set operation close`,
        );
    }
    return moveRunbook(cfg, last.phase, last.dnsContent, last.dnsAdopted);
}

/**
 * The move, phase by phase, from the phase of the last deployment (undefined for a new stack); `dnsContent`
 * is where its DNS record pointed.
 */
async function moveRunbook(cfg: MigrationConfig, previous: string | undefined, dnsContent: string | undefined, dnsAdopted = false) {
    // 0. Check the move between phases (a rollback after DNS moved is refused unless allowed).
    const refused =
        transitionError(previous, cfg.phase) ??
        rollbackAfterDnsError(previous, cfg.phase, {
            dnsContent: cfg.dns ? dnsContent : undefined,
            sourceAddress: cfg.source.publicIp,
            allowed: cfg.rollbackAfterDnsMoved,
            dbName: cfg.source.dbName,
        });
    if (refused) throw new Error(refused);
    const warning = transitionWarning(previous, cfg.phase);
    if (warning) pulumi.log.warn(warning);
    const plan = phasePlan(cfg.phase, { mediaOnS3: cfg.source.mediaOnS3, dbStrategy: cfg.database.strategy });
    if (cfg.database.strategy === "replication" && cfg.phase !== "cutover") pulumi.log.warn(RESTART_WARNING);
    const source = serverOf("source", cfg.source);
    // From the cutover on no step that has run runs again (it would act on the live target server); once the
    // move is complete every step is retained, so destroying the stack never undoes it.
    const steps = { frozen: plan.frozen, retainOnDelete: plan.keepSourceDown };

    // 1. Survey the source server: LOCAL_DOMAIN, S3/ES settings, versions and sizes.
    const preflight = new Preflight(
        "preflight",
        {
            source,
            domain: cfg.domain,
            dbName: cfg.source.dbName,
            mediaOnS3: cfg.source.mediaOnS3,
            elasticsearch: cfg.source.elasticsearch,
        },
        steps,
    );

    // 2. The target server: a new EC2 instance, or an existing host; checked against the source's facts.
    const ec2 =
        cfg.target.aws &&
        new Ec2Host("target", {
            ...cfg.target.aws,
            domain: cfg.domain,
            facts: preflight.facts,
            mastodonUser: cfg.target.mastodonUser,
            dbRole: cfg.target.dbRole,
            liveDir: cfg.target.liveDir,
            ipv6: cfg.dns?.aaaaRecordId !== undefined,
            elasticsearch: cfg.source.elasticsearch,
        });
    const target = serverOf("target", cfg.target, ec2?.address);
    const readiness = new TargetReadiness(
        "target",
        {
            target,
            cloudInit: ec2 !== undefined,
            facts: preflight.facts,
            mediaOnS3: cfg.source.mediaOnS3,
            dbName: cfg.source.dbName,
            allowNonEmptyDb: cfg.database.allowNonEmptyTarget,
        },
        { ...steps, dependsOn: present<pulumi.Resource>(ec2?.association) },
    );

    // 3. A key of the source server's own, authorized on the target for the transfers; removed in complete.
    const key = plan.migrationKey
        ? new MigrationKey(
              "migration-key",
              { source, target, targetHostKey: cfg.target.ssh.hostKey, domain: cfg.domain },
              { ...steps, dependsOn: [readiness.ready] },
          )
        : undefined;
    const transfersReady = present(readiness.ready, key?.authorize);

    // 4. Prepare, no downtime: configuration files (.env.production, nginx and TLS, systemd, pgbouncer).
    const config = new ConfigFiles(
        "config",
        { source, target, nginxSite: cfg.app.nginxSite, tlsDir: cfg.app.tlsDir },
        { ...steps, dependsOn: transfersReady },
    );

    // 4b. Full-text search: the target reaches the search engine its copied .env.production names, healthy;
    //     checked again before the cutover's downtime.
    const search = cfg.source.elasticsearch ? new SearchReadiness("search", { target }, { ...steps, dependsOn: [config.env] }) : undefined;
    const searchRecheck =
        search && plan.downtime
            ? new SearchReadiness("search-cutover", { target }, { ...steps, dependsOn: [config.env, search.ready] })
            : undefined;

    // 5. Cutover, before any downtime: the source surveyed again (an upgrade or a move of Redis since prepare is
    //    reported by name) and the target checked against what it is now.
    const recheck = plan.downtime
        ? new Preflight(
              "preflight-cutover",
              {
                  source,
                  domain: cfg.domain,
                  dbName: cfg.source.dbName,
                  mediaOnS3: cfg.source.mediaOnS3,
                  elasticsearch: cfg.source.elasticsearch,
              },
              { ...steps, dependsOn: [preflight.check] },
          )
        : undefined;
    recheck &&
        pulumi.all([preflight.facts, recheck.facts]).apply(([before, now]) => {
            const drift = factsDrift(before, now);
            if (drift.length > 0)
                pulumi.log.warn(`the source server changed since prepare: ${drift.join(", ")} (the target is checked again)`);
        });
    const recheckReady =
        recheck &&
        new TargetReadiness(
            "target-cutover",
            {
                target,
                cloudInit: false,
                facts: recheck.facts,
                mediaOnS3: cfg.source.mediaOnS3,
                dbName: cfg.source.dbName,
                allowNonEmptyDb: cfg.database.allowNonEmptyTarget,
            },
            { ...steps, dependsOn: [readiness.ready] },
        );

    // 6. Media: pre-sync in prepare (repeatable); in the cutover one more pass while the source is still live,
    //    so that the final delta pass once it is stopped covers only minutes of changes.
    //    Nothing to move when media is in object storage.
    const media = plan.mediaPresync
        ? new Media(
              "media",
              {
                  source,
                  target,
                  presyncRun: cfg.media.presyncRun,
                  bwLimitKBps: cfg.media.bwLimitKBps,
                  cutover: plan.mediaFinal,
              },
              { ...steps, dependsOn: transfersReady },
          )
        : undefined;

    // 6. replication strategy, no downtime: wal_level=logical (a short PostgreSQL restart on the source), a
    //    replication role, the schema on the target, the publication and a subscription that copies, then
    //    streams, and its lag. In the cutover, a gate waits for the initial copy or refuses before any downtime.
    const replication = plan.replication
        ? new Replication(
              "replication",
              {
                  source,
                  target,
                  dbName: cfg.source.dbName,
                  run: cfg.database.replicationRun,
                  allowNonEmptyTarget: cfg.database.allowNonEmptyTarget,
                  gate: plan.downtime,
                  maxWaitSeconds: cfg.database.replicationMaxWaitSeconds,
                  lagRun: plan.downtime ? undefined : new Date().toISOString(),
              },
              { ...steps, dependsOn: transfersReady },
          )
        : undefined;

    // 7a. Cutover, before any downtime: the target's Redis checked against the source's (a version too old to
    //     read its data is refused here) and stopped until the copy.
    const redis = recheckReady
        ? new Redis(
              "redis",
              { source, target },
              { ...steps, dependsOn: present<pulumi.Resource>(config.env, recheckReady.ready, ...transfersReady) },
          )
        : undefined;

    // 7. Cutover, the maintenance window: maintenance page, then Mastodon stopped on the source server (after
    //    the media catch-up). Once complete, these are retained: destroying the stack never revives the source server.
    const maintenance = recheckReady
        ? new Maintenance(
              "maintenance",
              { source, domain: cfg.domain, message: cfg.app.maintenanceMessage },
              {
                  ...steps,
                  dependsOn: present<pulumi.Resource>(
                      readiness.ready,
                      recheckReady.ready,
                      config.env,
                      replication?.ready,
                      search?.ready,
                      searchRecheck?.ready,
                      redis?.prepare,
                  ),
              },
          )
        : undefined;
    const services =
        maintenance &&
        new SourceServices("source-services", { source }, { ...steps, dependsOn: present(maintenance.show, media?.catchup) });

    const mediaFinal = services && plan.mediaFinal ? media?.finalPass(services.stop) : undefined;

    // 8. What prepare copied is copied again once nothing changes it any more (an edited .env.production, a
    //    renewed certificate, changed units), each change reported by name; the crontab set aside is carried.
    const refreshed =
        services &&
        new ConfigFiles(
            "config-cutover",
            { source, target, nginxSite: cfg.app.nginxSite, tlsDir: cfg.app.tlsDir, crontab: true },
            { ...steps, dependsOn: [services.stop, config.env, config.nginx, config.units, config.pgbouncer, ...transfersReady] },
        );

    // 9. The database while the source is stopped: dump and restore, or catch up with the replica and promote
    //    it; and Redis.
    const database =
        services &&
        plan.dbDump &&
        new Database(
            "database",
            {
                source,
                target,
                dbName: cfg.source.dbName,
                jobs: cfg.database.restoreJobs,
                allowNonEmptyTarget: cfg.database.allowNonEmptyTarget,
                targetReady: readiness.ready,
                removeDumps: plan.keepSourceDown,
            },
            { ...steps, dependsOn: [services.stop, ...transfersReady] },
        );
    const replicated =
        services &&
        plan.replicationCutover &&
        new ReplicationCutover(
            "replication-cutover",
            {
                source,
                target,
                dbName: cfg.source.dbName,
                run: cfg.database.replicationRun,
                maxWaitSeconds: cfg.database.replicationMaxWaitSeconds,
            },
            { ...steps, dependsOn: present<pulumi.Resource>(services.stop, replication?.subscribe, ...transfersReady) },
        );
    const databaseInPlace = database ? database.restore : replicated ? replicated.catchup : undefined;
    const redisCopy = services && redis?.copyAfter(services.stop);

    // 10. Verify (both strategies): row counts and media identical on both servers, while nothing can write on the target
    //    (before Mastodon starts there: a running Sidekiq would change the counts), and before DNS moves.
    const verify =
        databaseInPlace &&
        new Verify(
            "verify",
            {
                source,
                target,
                dbName: cfg.source.dbName,
                mediaOnS3: cfg.source.mediaOnS3,
                mediaFinalStep: media?.finalStepName,
            },
            { ...steps, dependsOn: present(databaseInPlace, mediaFinal, ...transfersReady) },
        );

    // 11. The application on the target: assets in prepare; start (after the verification), health, feeds in cutover.
    const app = new Application(
        "app",
        {
            target,
            domain: cfg.domain,
            elasticsearch: cfg.source.elasticsearch,
            feedsConcurrency: cfg.app.feedsConcurrency,
            healthTimeoutSeconds: cfg.app.healthTimeoutSeconds,
            dbName: cfg.source.dbName,
            analyzeJobs: cfg.database.restoreJobs,
            dataInPlace: plan.startTarget
                ? present(
                      databaseInPlace,
                      mediaFinal,
                      redisCopy,
                      verify?.check,
                      config.nginx,
                      config.units,
                      config.pgbouncer,
                      refreshed?.env,
                      refreshed?.nginx,
                      refreshed?.units,
                      refreshed?.pgbouncer,
                      refreshed?.crontab,
                  )
                : undefined,
        },
        { ...steps, dependsOn: [config.env] },
    );

    // 11b. replication strategy: the materialized views refreshed from the data at the stop, once the target serves.
    if (replicated && app.health) replicated.viewsAfter(app.health);

    // 12. DNS: TTL lowered in prepare, pointed at the target once healthy and verified, TTL restored in complete.
    const dns =
        cfg.dns &&
        new Dns(
            "dns",
            {
                zoneId: cfg.dns.zoneId,
                name: cfg.dns.name,
                proxied: cfg.dns.proxied,
                adopted: dnsAdopted,
                records: dnsRecords(cfg, target.address, ec2?.ipv6),
            },
            { dependsOn: plan.dnsWaitsForVerification ? present(app.health, verify?.check) : [] },
        );

    // 13. Once DNS points at the target: the source's nginx forwards every request there (clients on stale DNS).
    const forwarding =
        dns && plan.downtime
            ? new Forwarding(
                  "forwarding",
                  { source, target, domain: cfg.domain, nginxSite: cfg.app.nginxSite, dnsSwitched: Object.values(dns.records) },
                  { ...steps },
              )
            : undefined;

    // Stack outputs.
    const groups = present<StepGroup>(
        preflight,
        readiness,
        key,
        config,
        search,
        searchRecheck,
        recheck,
        recheckReady,
        replication,
        maintenance,
        services,
        refreshed,
        media,
        database || undefined,
        replicated || undefined,
        redis,
        app,
        verify,
        forwarding,
    );
    return {
        operation: "move",
        phase: cfg.phase,
        domain: cfg.domain,
        targetAddress: target.address,
        dns: dns ? dns.state : "disabled (dnsEnabled is false)",
        verification: verify ? verify.report : "runs in the cutover phase",
        replication: replication ? replication.status : `not in this phase (dbStrategy ${cfg.database.strategy})`,
        replicationCatchup: replicated ? replicated.report : "runs in the cutover phase with dbStrategy replication",
        stepDurations: pulumi.all(groups.map(g => g.durations)).apply(parts => Object.assign({}, ...parts) as Record<string, number>),
    };
}

/** The A record, and the AAAA record when one is adopted, with what they say in this phase. */
function dnsRecords(cfg: MigrationConfig, targetIpv4: pulumi.Output<string>, ec2Ipv6?: pulumi.Output<string | undefined>): DnsRecordSpec[] {
    const dns = cfg.dns!;
    const record = (
        suffix: string,
        type: "A" | "AAAA",
        recordId: string,
        sourceAddress: pulumi.Input<string>,
        targetAddress: pulumi.Input<string>,
    ) => {
        const { content, ttl } = recordFor<pulumi.Input<string>>(cfg.phase, dns, sourceAddress, targetAddress);
        return { suffix, type, recordId, content, ttl };
    };
    const records = [record("a", "A", dns.recordId, cfg.source.publicIp, targetIpv4)];
    const targetIpv6 = cfg.target.publicIpv6 ?? ec2Ipv6;
    if (dns.aaaaRecordId && cfg.source.publicIpv6 && targetIpv6) {
        // aws: the instance is given an IPv6 address when the stack adopts an AAAA record (Ec2HostArgs.ipv6).
        // Only read where the record points at the target: an unused failing Output would be an unhandled rejection.
        const ipv6 =
            cfg.phase === "prepare"
                ? pulumi.output("")
                : pulumi.output(targetIpv6).apply(v => {
                      if (!v) throw new Error("cloudflareAaaaRecordId is set but the target server has no IPv6 address");
                      return v;
                  });
        records.push(record("aaaa", "AAAA", dns.aaaaRecordId, cfg.source.publicIpv6, ipv6));
    }
    return records;
}

export = main;
