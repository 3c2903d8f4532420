#!/usr/bin/env bash
# The promoted database on the target server (the catch-up promoted it). This step holds the rollback:
# its delete sets the database aside. It runs beside the start and the verification, not before them.
# inputs: DB
STATE="$WORK/replication"
[ -f "$STATE/$DB.promoted" ] || die "$DB on the target server was not promoted by the catch-up"
log "$DB on the target server is the instance's database (promoted $(cat "$STATE/$DB.promoted"))"
