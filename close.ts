/**
 * The close runbook (operation close): close a Mastodon instance for good, one phase per `pulumi up`.
 *
 *   pulumi config set closePhase announce      && pulumi up   # the announcement; registrations closed
 *   (pulumi config set closePhase open         && pulumi up   # before self-destruct: the closure withdrawn)
 *   pulumi config set closePhase closing       && pulumi up   # after the notice: 410 but media; archives
 *   pulumi config set closePhase self-destruct && pulumi up   # after the download period: Delete to every server
 *   pulumi config set closePhase tombstone     && pulumi up   # final dump to S3; 410 for every path
 *   pulumi config set closePhase parked        && pulumi up   # after tombstoneDays: the server may go
 *
 * Going back before self-destruct undoes what was done (the site returns, registrations reopen, the
 * announcement is withdrawn); from self-destruct on it is refused. `closePlan` (lib/close-phase.ts) decides
 * what each phase contains; this file reads like the runbook it drives.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { closePlan, closeTransitionError, CloseHistory } from "./lib/close-phase";
import { CloseConfig, MigrationConfig } from "./lib/config-types";
import { serverOf } from "./lib/server";
import { StepGroup } from "./lib/step-group";
import { Preflight } from "./components/preflight";
import { Announcement } from "./components/announcement";
import { GoneSite } from "./components/gone-site";
import { Archives } from "./components/archives";
import { SelfDestruct } from "./components/self-destruct";
import { Tombstone, archiveName } from "./components/tombstone";
import { ArchiveBucket, UploadCredentials } from "./components/archive-bucket";
import { Dns } from "./components/dns";
import { ParkedRecords } from "./components/parked-dns";

/** Resources that exist in this phase (the optional ones are undefined in earlier phases). */
const present = <T>(...resources: (T | undefined)[]): T[] => resources.filter((r): r is T => r !== undefined);

/** Close the instance `cfg` describes, given what the last deployment reported. */
export async function closeRunbook(cfg: MigrationConfig, history: CloseHistory & { dnsAdopted?: boolean }, now = Date.now()) {
    // 0. The phase move: in order, never back from self-destruct on, after the notice and download periods.
    const close: CloseConfig = cfg.close!;
    const refused = closeTransitionError(history, close.phase, close, now);
    if (refused) throw new Error(refused);
    const plan = closePlan(close.phase);
    const server = serverOf("source", cfg.source);
    // From self-destruct on, destroying the stack never brings anything back.
    const keepDown = { retainOnDelete: plan.keepDown };

    // 1. Survey the server: LOCAL_DOMAIN, the checkout, the database (the same preflight as a move).
    const preflight = new Preflight("preflight", {
        source: server,
        domain: cfg.domain,
        dbName: cfg.source.dbName,
        mediaOnS3: cfg.source.mediaOnS3,
        elasticsearch: cfg.source.elasticsearch,
    });

    // 2. announce: the announcement published, registrations closed. The notice period starts.
    const announcement = plan.announce
        ? new Announcement(
              "announcement",
              { server, dbName: cfg.source.dbName, text: close.announcement },
              { ...keepDown, dependsOn: [preflight.check] },
          )
        : undefined;

    // 3. closing: nginx answers 410 for all but media (and archives), then for every path from tombstone on.
    const site =
        plan.site !== "normal"
            ? new GoneSite(
                  "gone",
                  { server, nginxSite: cfg.app.nginxSite, mode: plan.site, message: goneMessage(cfg.domain, close) },
                  { ...keepDown, dependsOn: present(announcement?.registrations) },
              )
            : undefined;

    //    The users' archives requested, and the backups gate; the download period starts when it passes.
    const archives = plan.backups
        ? new Archives(
              "archives",
              { server, dbName: cfg.source.dbName, users: close.backupUsers, timeoutSeconds: close.backupTimeoutSeconds },
              { ...keepDown, dependsOn: present(site?.site) },
          )
        : undefined;

    // 4. self-destruct (Mastodon >= 4.3): SELF_DESTRUCT written on the server, the deletion notices followed.
    const selfDestruct = plan.selfDestruct
        ? new SelfDestruct(
              "self-destruct",
              { server, domain: cfg.domain, pollTimeoutSeconds: close.pollTimeoutSeconds },
              { ...keepDown, dependsOn: present(archives?.ready) },
          )
        : undefined;

    // 5. tombstone: the final dump encrypted on the server, uploaded to a bucket of its own, then everything
    //    but nginx stopped. The upload credentials exist only in this phase.
    const bucket =
        plan.dump && close.archive
            ? new ArchiveBucket("archive", { bucket: close.archive.bucket, days: close.archive.days, domain: cfg.domain })
            : undefined;
    const key = `${cfg.domain}/${archiveName(cfg.source.dbName)}`;
    const credentials = bucket && plan.upload ? new UploadCredentials("archive-upload", { bucketArn: bucket.arn, key }) : undefined;
    const tombstone =
        plan.dump && close.archive && bucket
            ? new Tombstone(
                  "tombstone",
                  {
                      server,
                      dbName: cfg.source.dbName,
                      ageRecipient: close.archive.ageRecipient,
                      upload: credentials && {
                          bucket: bucket.name,
                          key,
                          region: archiveRegion(close),
                          endpoint: archiveEndpoint(close),
                          credentials: credentials.credentials,
                      },
                      stopServices: plan.stopServices,
                  },
                  { ...keepDown, dependsOn: present<pulumi.Resource>(selfDestruct?.follow, credentials, ...bucket.settings) },
              )
            : undefined;

    // 6. DNS: adopted and protected, pointing at the server (the tombstone); parked: the no-mail records too.
    const dns =
        cfg.dns &&
        new Dns("dns", {
            zoneId: cfg.dns.zoneId,
            name: cfg.dns.name,
            proxied: cfg.dns.proxied,
            adopted: history.dnsAdopted ?? false,
            records: present(
                { suffix: "a", type: "A" as const, recordId: cfg.dns.recordId, content: cfg.source.publicIp, ttl: cfg.dns.normalTtl },
                cfg.dns.aaaaRecordId && cfg.source.publicIpv6
                    ? {
                          suffix: "aaaa",
                          type: "AAAA" as const,
                          recordId: cfg.dns.aaaaRecordId,
                          content: cfg.source.publicIpv6,
                          ttl: cfg.dns.normalTtl,
                      }
                    : undefined,
            ),
        });
    const parked =
        cfg.dns && plan.dns === "parked" ? new ParkedRecords("dns-parked", { zoneId: cfg.dns.zoneId, name: cfg.dns.name }) : undefined;

    // Stack outputs: what the next phase checks (announcedAt, archivesReadyAt), and the archive's whereabouts.
    const groups = present<StepGroup>(preflight, announcement, site, archives, selfDestruct, tombstone);
    return {
        operation: "close",
        closePhase: close.phase,
        domain: cfg.domain,
        announcedAt: announcement ? announcement.announcedAt : "not announced",
        archivesReadyAt: archives ? archives.readyAt : "after the closing phase",
        tombstoneAt: tombstone?.stoppedAt ?? "after the tombstone phase",
        site: plan.site,
        archive: tombstone
            ? pulumi.all([bucket!.name, tombstone.archive]).apply(([b, a]) => ({ bucket: b, key, sha256: a.sha256, bytes: a.bytes }))
            : "in the tombstone phase",
        dns: dns ? dns.state : "disabled (dnsEnabled is false)",
        parkedRecords: parked ? parked.names : [],
        stepDurations: pulumi.all(groups.map(g => g.durations)).apply(parts => Object.assign({}, ...parts) as Record<string, number>),
    };
}

/** The body of the 410 answers. */
function goneMessage(domain: string, close: CloseConfig): string {
    return `${domain} has closed (${close.date}). ${close.announcement}`;
}

/** The region of the archive bucket: the aws provider's (aws:region, or AWS_REGION as the provider reads it), or us-east-1 for the test-only endpoint. */
function archiveRegion(close: CloseConfig): string {
    const region = aws.config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (region) return region;
    if (close.archive?.endpoint) return "us-east-1";
    throw new Error("the archive bucket needs a region: pulumi config set aws:region eu-central-1");
}

/** Where the upload goes: the region's S3 endpoint, or the test-only S3-compatible endpoint. */
function archiveEndpoint(close: CloseConfig): string {
    return close.archive?.endpoint ?? `https://s3.${archiveRegion(close)}.amazonaws.com`;
}
