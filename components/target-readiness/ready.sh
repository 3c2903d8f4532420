#!/usr/bin/env bash
# The target server is ready for the move: the same Mastodon version as the source, a PostgreSQL at least as
# new, the role, room for the database and media, no database in the way, Redis without AOF. Runs in
# prepare, so every refusal comes before any downtime.
# inputs: LIVE MASTODON_USER ROLE DB ALLOW_NON_EMPTY_DB MEDIA_ON_S3 SOURCE_VERSION SOURCE_PG_MAJOR SOURCE_COLLATE SOURCE_DB_BYTES SOURCE_MEDIA_BYTES REDIS_PORT SOURCE_REDIS_VERSION SOURCE_PGBOUNCER
for tool in pg_restore psql rsync redis-cli redis-server nginx curl flock ssh-keygen; do
  command -v "$tool" >/dev/null || die "$tool is missing on the target server: install the prerequisites of the install guide"
done
if [ "$SOURCE_PGBOUNCER" = true ]; then
  command -v pgbouncer >/dev/null || die "pgbouncer is configured on the source server (/etc/pgbouncer/pgbouncer.ini) but not installed on the target server: apt-get install pgbouncer"
fi
[ -d "$LIVE" ] || die "no Mastodon checkout at $LIVE on the target server: follow the install guide (without mastodon:setup) or set targetLiveDir"
version=$(as_user "$MASTODON_USER" git -C "$LIVE" describe --tags 2>/dev/null) || die "cannot read the Mastodon version in $LIVE on the target server"
[ "$version" = "$SOURCE_VERSION" ] || die "the target server has Mastodon $version but the source server runs $SOURCE_VERSION: check out the same version (git -C $LIVE checkout $SOURCE_VERSION)"
pg_major=$(($(psql_admin -c 'SHOW server_version_num') / 10000))
[ "$pg_major" -ge "$SOURCE_PG_MAJOR" ] || die "PostgreSQL $pg_major on the target server is older than the source server's $SOURCE_PG_MAJOR: install PostgreSQL $SOURCE_PG_MAJOR or newer"
[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = 1 ] || die "role $ROLE does not exist on the target server: sudo -u postgres createuser --createdb $ROLE (or set targetDbRole)"
collate=$(psql_admin -c "SELECT datcollate FROM pg_database WHERE datname = 'template0'")
if [ "$collate" != "$SOURCE_COLLATE" ]; then
  log "WARNING: collation $collate here, $SOURCE_COLLATE on the source server: text indexes may need tootctl maintenance fix-duplicates"
fi
pg_data=$(psql_admin -c 'SHOW data_directory')
need_db=$((SOURCE_DB_BYTES * 2))
free_db=$(df -B1 --output=avail "$pg_data" | tail -n 1)
[ "$free_db" -gt "$need_db" ] || die "only $free_db bytes free for PostgreSQL on the target server; the dump and the restored database need about $need_db"
if [ "$MEDIA_ON_S3" = false ]; then
  mkdir -p "$LIVE/public"
  free_media=$(df -B1 --output=avail "$LIVE/public" | tail -n 1)
  [ "$free_media" -gt "$SOURCE_MEDIA_BYTES" ] || die "only $free_media bytes free under $LIVE/public on the target server; the media needs $SOURCE_MEDIA_BYTES"
fi
# With dbAllowNonEmptyTarget an existing database is renamed aside by the restore. Otherwise it is found
# now, before any downtime (the restore checks again); our own restore, and our own replica
# (dbStrategy replication), leave a marker.
if [ "$ALLOW_NON_EMPTY_DB" = false ] && [ ! -f "$WORK/db/$DB.restored" ] && [ ! -f "$WORK/replication/$DB.replica" ] && db_exists "$DB"; then
  n=$(db_tables "$DB")
  [ "$n" -eq 0 ] || die "database $DB on the target server already holds $n tables: the restore would refuse it. Rename or drop it yourself, or pulumi config set dbAllowNonEmptyTarget true (it is then renamed aside, not dropped)"
fi
redis_version=$(redis_server_version)
redis_refuse_older "$SOURCE_REDIS_VERSION" "$redis_version"
# From the running Redis, or from redis.conf when it is stopped (it starts with that): never skipped.
aof=$(redis_config "$REDIS_PORT" /etc/redis/redis.conf appendonly no)
[ "$aof" != yes ] || die "Redis on the target server has appendonly yes: it would load its AOF and ignore the copied dump.rdb; set appendonly no in /etc/redis/redis.conf"
log "the target server is ready: Mastodon $version, PostgreSQL $pg_major, role $ROLE, Redis $redis_version"
