#!/usr/bin/env bash
# .env.production, server to server (its contents never leave the servers); DB_USER rewritten on the target
# when its role differs.
# inputs: SOURCE_LIVE TARGET_LIVE TARGET_USER SOURCE_ROLE TARGET_ROLE
ENV="$SOURCE_LIVE/.env.production"
[ -r "$ENV" ] || die "no $ENV on the source server"
rsync --chmod=F600 --chown="$TARGET_USER:$TARGET_USER" -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$ENV" "$PEER:$TARGET_LIVE/.env.production"
log ".env.production copied server to server (contents never leave the servers)"
if [ "$SOURCE_ROLE" != "$TARGET_ROLE" ]; then
  set_db_user() { sed -i "s/^DB_USER=.*/DB_USER=$TARGET_ROLE/" "$TARGET_LIVE/.env.production"; }
  on_peer set_db_user TARGET_LIVE TARGET_ROLE
  log "DB_USER set to $TARGET_ROLE on the target server (was $SOURCE_ROLE)"
fi
