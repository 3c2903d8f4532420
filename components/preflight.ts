/**
 * Preflight on the old server, before anything changes: the checkout and `.env.production` are where
 * the config says, LOCAL_DOMAIN equals the stack's domain (it never changes), S3/Elasticsearch settings
 * agree with the stack, the database exists, and the old server has room for the dump. It prints one
 * `FACTS {...}` line (no secrets) that the new server's readiness check compares against: the Mastodon
 * version to match, the PostgreSQL major version and collation, the database and media sizes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { q, taggedJson } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface PreflightArgs {
    /** The old server. */
    server: Server;
    domain: string;
    dbName: string;
    mediaOnS3: boolean;
    elasticsearch: boolean;
}

/** What the old server told us. */
export interface SourceFacts {
    mastodonVersion: string;
    pgMajor: number;
    collate: string;
    dbBytes: number;
    mediaBytes: number;
    redisPort: number;
}

/** Reads non-secret values from `.env.production` (LOCAL_DOMAIN, S3_ENABLED, ...); never prints the file. */
export const ENV_VALUE_FUNCTION = `env_value() { sed -n "s/^$1=//p" "$LIVE/.env.production" | tail -n 1 | tr -d "\\"'"; }`;

export function preflightScript(a: { liveDir: string; mastodonUser: string; domain: string; dbName: string; mediaOnS3: boolean; elasticsearch: boolean }): string {
    return `
LIVE=${q(a.liveDir)}
DB=${q(a.dbName)}
${ENV_VALUE_FUNCTION}
[ -d "$LIVE" ] || die "no Mastodon checkout at $LIVE on the old server: set sourceLiveDir"
[ -r "$LIVE/.env.production" ] || die "no $LIVE/.env.production on the old server: set sourceLiveDir"
domain=$(env_value LOCAL_DOMAIN)
[ "$domain" = ${q(a.domain)} ] || die "LOCAL_DOMAIN in .env.production is '$domain' but the stack's domain is ${q(a.domain)}: LOCAL_DOMAIN never changes, so set: pulumi config set domain $domain"
s3=$(env_value S3_ENABLED); s3=\${s3:-false}
[ "$s3" = ${a.mediaOnS3} ] || die "S3_ENABLED=$s3 in .env.production but mediaOnS3 is ${a.mediaOnS3}: pulumi config set mediaOnS3 $s3"
es=$(env_value ES_ENABLED); es=\${es:-false}
[ "$es" = ${a.elasticsearch} ] || die "ES_ENABLED=$es in .env.production but elasticsearch is ${a.elasticsearch}: pulumi config set elasticsearch $es"
db_host=$(env_value DB_HOST); db_host=\${db_host:-/var/run/postgresql}
case "$db_host" in
  /*|localhost|127.0.0.1|::1) ;;
  *) die "DB_HOST=$db_host: the database is not on this server; this tool moves a local PostgreSQL only" ;;
esac
redis_host=$(env_value REDIS_HOST); redis_host=\${redis_host:-localhost}
case "$redis_host" in
  localhost|127.0.0.1|::1) ;;
  *) die "REDIS_HOST=$redis_host: Redis is not on this server; this tool moves a local Redis only" ;;
esac
redis_port=$(env_value REDIS_PORT); redis_port=\${redis_port:-6379}
version=$(as_user ${q(a.mastodonUser)} git -C "$LIVE" describe --tags 2>/dev/null) || die "cannot read the Mastodon version (git describe --tags in $LIVE)"
db_exists "$DB" || die "database $DB does not exist on the old server: set sourceDbName"
pg_major=$(( $(psql_admin -c 'SHOW server_version_num') / 10000 ))
collate=$(psql_admin -c "SELECT datcollate FROM pg_database WHERE datname = '$DB'")
db_bytes=$(psql_admin -c "SELECT pg_database_size('$DB')")
media_bytes=0
${a.mediaOnS3 ? "# media is in object storage" : `if [ -d "$LIVE/public/system" ]; then media_bytes=$(du -sb "$LIVE/public/system" | cut -f1); fi`}
free=$(df -B1 --output=avail "$WORK" | tail -n 1)
[ "$free" -gt "$db_bytes" ] || die "only $free bytes free in $WORK on the old server; the dump needs up to $db_bytes: free space or set workDir"
log "Mastodon $version, PostgreSQL $pg_major, database $DB $db_bytes bytes, media $media_bytes bytes"
printf 'FACTS {"mastodonVersion":"%s","pgMajor":%d,"collate":"%s","dbBytes":%d,"mediaBytes":%d,"redisPort":%d}\\n' \\
  "$version" "$pg_major" "$collate" "$db_bytes" "$media_bytes" "$redis_port"
`;
}

/** Parse the FACTS line of the preflight's stdout. */
export function parseFacts(stdout: string): SourceFacts {
    return taggedJson<SourceFacts>(stdout, "FACTS", "the old server's preflight");
}

export class Preflight extends pulumi.ComponentResource {
    readonly check: command.remote.Command;
    readonly facts: pulumi.Output<SourceFacts>;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Preflight", name, {}, opts);
        this.check = runStep(this, `${name}-old-server`, args.server, preflightScript({
            liveDir: args.server.liveDir, mastodonUser: args.server.mastodonUser, domain: args.domain,
            dbName: args.dbName, mediaOnS3: args.mediaOnS3, elasticsearch: args.elasticsearch,
        }));
        this.facts = this.check.stdout.apply(parseFacts);
        this.durations = durationsOf({ [`${name}-old-server`]: this.check });
        this.registerOutputs({ facts: this.facts, durations: this.durations });
    }
}
