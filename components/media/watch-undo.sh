#!/usr/bin/env bash
# Rollback of the cutover's media steps: stop the change journal's watcher if it still runs.
# inputs:
journal_stop
log "media change journal stopped"
