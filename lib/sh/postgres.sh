#!/usr/bin/env bash
# PostgreSQL server helpers, only for the steps that may restart it (the replication strategy's wal_level).

# restart_postgresql: restart PostgreSQL (without the step's lock) and wait up to 60 s until it accepts connections.
restart_postgresql() {
  systemctl restart postgresql 9>&-
  for _ in $(seq 1 120); do
    if psql_admin -c "SELECT 1" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "PostgreSQL did not come back within 60 s after the restart"
}
