/**
 * The validated stack configuration, as `parseConfig` returns it. `K` is the type of the SSH private keys:
 * plain strings from the pure parser, secret Outputs from `loadConfig`.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClosePhase, Operation, Phase } from "./config-keys";
import { Ec2Settings } from "./ec2-settings";

/** How the database moves to the target server. */
export type DbStrategy = "dump" | "replication";
export const DB_STRATEGIES: readonly DbStrategy[] = ["dump", "replication"];

/** SSH access to one server, as Pulumi (the admin machine) sees it. */
export interface SshAccess<K = pulumi.Output<string>> {
    /** Address (IP or host name); "" for an aws target, whose Elastic IP is known only once it exists. */
    host: string;
    /** SSH port. */
    port: number;
    /** SSH user: root, or a user with passwordless sudo. */
    user: string;
    /** Private key for `user` (a secret). */
    privateKey: K;
    /** Pinned host key ("ssh-ed25519 AAAA..."); undefined = not checked. */
    hostKey?: string;
}

/** One Mastodon server (either side). */
export interface ServerConfig<K = pulumi.Output<string>> {
    /** How Pulumi reaches it. */
    ssh: SshAccess<K>;
    /** Unix user that runs Mastodon. */
    mastodonUser: string;
    /** The Mastodon checkout. */
    liveDir: string;
    /** PostgreSQL role Mastodon uses. */
    dbRole: string;
    /** Directory of ours for dumps, keys and locks. */
    workDir: string;
}

/** The source server: the instance as it runs today. */
export interface SourceConfig<K = pulumi.Output<string>> extends ServerConfig<K> {
    /** IPv4 the DNS A record points to today (rollback puts it back). */
    publicIp: string;
    /** IPv6 the AAAA record points to today, when one is adopted. */
    publicIpv6?: string;
    /** Database name (DB_NAME); the target uses the same name. */
    dbName: string;
    /** Media is in object storage (S3_ENABLED=true): nothing to copy. */
    mediaOnS3: boolean;
    /** Elasticsearch is in use (ES_ENABLED=true): the index is rebuilt on the target. */
    elasticsearch: boolean;
}

/** The EC2 instance created for an aws target. */
export type AwsTargetConfig = Ec2Settings;

/** The target server: where the instance moves. */
export interface TargetConfig<K = pulumi.Output<string>> extends ServerConfig<K> {
    /** aws: an EC2 instance is created; existing: any host reachable over SSH. */
    kind: "aws" | "existing";
    /** IPv6 for the AAAA record (existing targets). */
    publicIpv6?: string;
    /** EC2 settings; present exactly when kind is aws. */
    aws?: AwsTargetConfig;
}

/** The instance's DNS record(s) at Cloudflare, adopted by import. */
export interface DnsConfig {
    /** Cloudflare zone id. */
    zoneId: string;
    /** Id of the existing A record. */
    recordId: string;
    /** Id of the existing AAAA record; undefined = no AAAA. */
    aaaaRecordId?: string;
    /** Fully qualified record name. */
    name: string;
    /** TTL (s) during the move. */
    lowTtl: number;
    /** TTL (s) restored in complete. */
    normalTtl: number;
    /** Cloudflare proxy on (TTL is then 1, Auto). */
    proxied: boolean;
}

/** Closing the instance for good (operation close). */
export interface CloseConfig {
    /** The phase this `pulumi up` brings the closure to. */
    phase: ClosePhase;
    /** Closing date shown in the announcement (YYYY-MM-DD). */
    date: string;
    /** The announcement's text, with the date and the successor filled in. */
    announcement: string;
    /** Seconds between the announcement and the closing phase. */
    noticeSeconds: number;
    /** Seconds between the last archive being ready and self-destruct. */
    downloadSeconds: number;
    /** Usernames whose archive is requested; empty = every active local user without a recent one. */
    backupUsers: string[];
    /** How long one `up` waits for the archives. */
    backupTimeoutSeconds: number;
    /** How long one `up` follows the deletion notices. */
    pollTimeoutSeconds: number;
    /** The final archive: age recipient, bucket, retention; undefined before the tombstone phase when not set. */
    archive?: {
        /** age public key (age1...) the dump is encrypted to on the server. */
        ageRecipient: string;
        /** S3 bucket name. */
        bucket: string;
        /** Days the archive is kept. */
        days: number;
        /** TEST ONLY: an S3-compatible endpoint instead of AWS. */
        endpoint?: string;
    };
    /** Seconds nginx answers 410 for every path (from the tombstone) before the server may be parked. */
    tombstoneSeconds: number;
}

/** The whole stack configuration. */
export interface MigrationConfig<K = pulumi.Output<string>> {
    /** LOCAL_DOMAIN of the instance (never changes). */
    domain: string;
    /** move (phases in `phase`) or close (phases in `close.phase`). */
    operation: Operation;
    /** Present exactly when operation is close. */
    close?: CloseConfig;
    /** The phase this `pulumi up` brings the move to. */
    phase: Phase;
    /** The source server. */
    source: SourceConfig<K>;
    /** The target server; `ssh.host` is "" for aws (the Elastic IP is known only once it exists). */
    target: TargetConfig<K>;
    /** undefined when dnsEnabled is false (rehearsal stacks). */
    dns?: DnsConfig;
    /** Allow a rollback after DNS pointed at the target (its writes since are set aside). */
    rollbackAfterDnsMoved: boolean;
    /** Database restore settings. */
    database: {
        /** pg_restore parallel jobs. */
        restoreJobs: number;
        /** Rename an existing non-empty target database aside instead of refusing. */
        allowNonEmptyTarget: boolean;
        /** dump: pg_dump/pg_restore inside the window; replication: logical replication set up in prepare. */
        strategy: DbStrategy;
        /** replication: seconds the cutover waits for the initial copy and for the catch-up before refusing. */
        replicationMaxWaitSeconds: number;
        /** replication: changing it copies the database again (a new subscription). */
        replicationRun: number;
    };
    /** Media copy settings. */
    media: {
        /** Bump to run the prepare pre-sync again. */
        presyncRun: number;
        /** Bandwidth limit of the pre-sync in KiB/s; 0 = none. */
        bwLimitKBps: number;
    };
    /** Application settings on the target. */
    app: {
        /** tootctl feeds build --concurrency. */
        feedsConcurrency: number;
        /** How long the health check waits. */
        healthTimeoutSeconds: number;
        /** nginx site file (same path on both servers). */
        nginxSite: string;
        /** Directory of ours on the target for the certificate files. */
        tlsDir: string;
        /** Text of the maintenance page on the source server. */
        maintenanceMessage: string;
    };
}
