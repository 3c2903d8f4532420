#!/usr/bin/env bash
# The subscription on the target server: it copies every published table (the initial copy) and then
# streams the source's changes. It connects from the target to the source's PostgreSQL over TCP as the
# replication role; the password is read from our root-only file (sent by the access step) and reaches
# psql on stdin, never argv. TCP keepalives make a dropped link fail within about 10 s; the workers reconnect.
# inputs: DB SUBSCRIPTION PUBLICATION SOURCE_PG_ADDRESS SOURCE_PG_PORT SSLMODE REPL_ROLE
PASS_FILE="$WORK/replication/password"
if [ -f "$WORK/replication/$DB.promoted" ]; then
  log "$DB on the target server was promoted by the cutover: no subscription (the rollback sets it aside; copy again with dbReplicationRun <n+1>)"
  exit 0
fi
[ -s "$PASS_FILE" ] || die "$PASS_FILE is missing on the target server: the access step sends it (run pulumi up in prepare)"
db_exists "$DB" || die "database $DB is missing on the target server: the schema step creates it"
if [ "$(psql_admin -d "$DB" -c "SELECT 1 FROM pg_subscription WHERE subname = '$SUBSCRIPTION'")" = 1 ]; then
  log "subscription $SUBSCRIPTION already exists"
else
  conninfo="host=$SOURCE_PG_ADDRESS port=$SOURCE_PG_PORT dbname=$DB user=$REPL_ROLE sslmode=$SSLMODE connect_timeout=10"
  conninfo+=" keepalives_idle=5 keepalives_interval=2 keepalives_count=3 tcp_user_timeout=10000 application_name=$SUBSCRIPTION"
  {
    echo "SET log_statement = 'none';"
    echo "CREATE SUBSCRIPTION $SUBSCRIPTION CONNECTION '$conninfo password=$(cat "$PASS_FILE")' PUBLICATION $PUBLICATION WITH (slot_name = '$SUBSCRIPTION', copy_data = true);"
  } | psql_admin -d "$DB"
  log "subscription $SUBSCRIPTION created: the initial copy runs, then the source's changes stream"
fi
psql_admin -d "$DB" -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE srsubstate <> 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = '$SUBSCRIPTION'" |
  while read -r tables copying; do log "$tables tables, $copying still in the initial copy"; done
