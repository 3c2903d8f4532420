#!/usr/bin/env bash
# Generate the migration key on the source server (once); only the public half is printed. With a pinned
# host key for the target, write our own known_hosts; otherwise the first transfer records it (accept-new).
# inputs: COMMENT KNOWN_HOST_NAME TARGET_HOST_KEY
KEY="$WORK/migration_ed25519"
if [ ! -s "$KEY" ] || [ ! -s "$KEY.pub" ]; then
  rm -f "$KEY.tmp" "$KEY.tmp.pub"
  ssh-keygen -q -t ed25519 -N '' -C "$COMMENT" -f "$KEY.tmp"
  mv "$KEY.tmp.pub" "$KEY.pub" && mv "$KEY.tmp" "$KEY"
  log "generated the migration key on the source server"
fi
chmod 600 "$KEY"
if [ -n "$TARGET_HOST_KEY" ]; then
  printf '%s %s\n' "$KNOWN_HOST_NAME" "$TARGET_HOST_KEY" >"$WORK/known_hosts.tmp" && mv "$WORK/known_hosts.tmp" "$WORK/known_hosts"
fi
result "$(cat "$KEY.pub")"
