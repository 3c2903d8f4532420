#!/usr/bin/env bash
# A tootctl task on the target (feeds build, search deploy), as Mastodon runs it.
# inputs: MASTODON_USER LIVE WHAT ARGS
log "$WHAT (long on big instances)"
as_mastodon "$MASTODON_USER" "$LIVE" bin/tootctl "${ARGS[@]}"
log "$WHAT: done"
