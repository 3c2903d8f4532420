#!/usr/bin/env bash
# Preflight on the source server, before anything changes: the checkout and .env.production are where the
# config says, LOCAL_DOMAIN equals the stack's domain, S3/Elasticsearch settings agree with the stack, the
# database exists, and there is room for the dump. Prints one FACTS line (no secrets) that the target's
# readiness check compares against.
# inputs: LIVE MASTODON_USER DOMAIN DB MEDIA_ON_S3 ELASTICSEARCH
[ -d "$LIVE" ] || die "no Mastodon checkout at $LIVE on the source server: set sourceLiveDir"
[ -r "$LIVE/.env.production" ] || die "no $LIVE/.env.production on the source server: set sourceLiveDir"
local_domain=$(env_value "$LIVE" LOCAL_DOMAIN)
[ "$local_domain" = "$DOMAIN" ] || die "LOCAL_DOMAIN in .env.production is '$local_domain' but the stack's domain is '$DOMAIN': LOCAL_DOMAIN never changes, so set: pulumi config set domain $local_domain"
s3=$(env_value "$LIVE" S3_ENABLED)
s3=${s3:-false}
[ "$s3" = "$MEDIA_ON_S3" ] || die "S3_ENABLED=$s3 in .env.production but mediaOnS3 is $MEDIA_ON_S3: pulumi config set mediaOnS3 $s3"
es=$(env_value "$LIVE" ES_ENABLED)
es=${es:-false}
[ "$es" = "$ELASTICSEARCH" ] || die "ES_ENABLED=$es in .env.production but elasticsearch is $ELASTICSEARCH: pulumi config set elasticsearch $es"
db_host=$(env_value "$LIVE" DB_HOST)
case "${db_host:-/var/run/postgresql}" in
  /* | localhost | 127.0.0.1 | ::1) ;;
  *) die "DB_HOST=$db_host: the database is not on this server; this tool moves a local PostgreSQL only" ;;
esac
redis_host=$(env_value "$LIVE" REDIS_HOST)
case "${redis_host:-localhost}" in
  localhost | 127.0.0.1 | ::1) ;;
  *) die "REDIS_HOST=$redis_host: Redis is not on this server; this tool moves a local Redis only" ;;
esac
redis_port=$(env_value "$LIVE" REDIS_PORT)
# Empty while Redis is stopped (a rollback surveys the source before Redis is started again); the Redis
# copy compares the versions again.
redis_version=$(redis_info "$LIVE" redis_version)
version=$(as_user "$MASTODON_USER" git -C "$LIVE" describe --tags 2>/dev/null) || die "cannot read the Mastodon version (git describe --tags in $LIVE)"
db_exists "$DB" || die "database $DB does not exist on the source server: set sourceDbName"
pg_major=$(($(psql_admin -c 'SHOW server_version_num') / 10000))
collate=$(psql_admin -c "SELECT datcollate FROM pg_database WHERE datname = '$DB'")
db_bytes=$(psql_admin -c "SELECT pg_database_size('$DB')")
media_bytes=0
if [ "$MEDIA_ON_S3" = false ]; then read -r _ media_bytes < <(media_stats "$LIVE"); fi
free=$(df -B1 --output=avail "$WORK" | tail -n 1)
[ "$free" -gt "$db_bytes" ] || die "only $free bytes free in $WORK on the source server; the dump needs up to $db_bytes: free space or set workDir"
pgbouncer=false
[ ! -f /etc/pgbouncer/pgbouncer.ini ] || pgbouncer=true
log "Mastodon $version, PostgreSQL $pg_major, database $DB $db_bytes bytes, media $media_bytes bytes"
result "$(printf 'FACTS {"mastodonVersion":"%s","pgMajor":%d,"collate":"%s","dbBytes":%d,"mediaBytes":%d,"redisPort":%d,"redisVersion":"%s","pgbouncer":%s}' \
  "$version" "$pg_major" "$collate" "$db_bytes" "$media_bytes" "${redis_port:-6379}" "$redis_version" "$pgbouncer")"
