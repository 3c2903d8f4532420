#!/usr/bin/env bash
# Making way for a copy of the database on the target server, only for the steps that make one (the dump's
# restore, the replica's schema): the one place that may drop a database, and only an empty one.
# Helpers: db_make_room.

# db_make_room DB WHAT: make way for a new copy of DB on this server (WHAT says what comes: "restore over it",
# "replicate into it"). A DB with tables is refused, or renamed aside with ALLOW_NON_EMPTY=true (never
# dropped); an empty one (no tables) is dropped.
db_make_room() {
  local n aside
  db_exists "$1" || return 0
  n=$(db_tables "$1")
  if [ "$n" -gt 0 ] && [ "$ALLOW_NON_EMPTY" = true ]; then
    aside=$(db_set_aside "$1" before_migration)
    log "database $1 already held $n tables: renamed it to $aside (dbAllowNonEmptyTarget)"
  elif [ "$n" -gt 0 ]; then
    die "database $1 on the target server already holds $n tables: refusing to $2. Rename or drop it yourself, or pulumi config set dbAllowNonEmptyTarget true (it is then renamed aside, not dropped)"
  else
    log "dropping the empty database $1 (no tables) before the copy"
    psql_admin -c "DROP DATABASE \"$1\""
  fi
}
