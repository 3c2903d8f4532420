/**
 * Redis, per the current guide: stop Redis on the new server first (it would overwrite the file on exit),
 * `SAVE` and stop Redis on the old server, copy `dump.rdb` server to server, start Redis on the new server.
 * Without it queued Sidekiq jobs are lost and trends and "active users" reset. The delete (rollback) starts
 * Redis on the old server again.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { onPeer, PeerSsh, peerSetup, q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";
import { ENV_VALUE_FUNCTION } from "./preflight";

export interface RedisArgs {
    source: Server;
    target: Server;
    peer: pulumi.Input<PeerSsh>;
    /** Starts after these (Mastodon stopped on the old server, .env.production on the new one). */
    dependsOn?: pulumi.Resource[];
}

/** `redis_cli` using the port and password of a server's `.env.production` (password via REDISCLI_AUTH, never printed). */
export function redisCliFunction(liveDir: string): string {
    return `LIVE=${q(liveDir)}
${ENV_VALUE_FUNCTION}
redis_cli() {
  local port password
  port=$(env_value REDIS_PORT 2>/dev/null); password=$(env_value REDIS_PASSWORD 2>/dev/null)
  REDISCLI_AUTH="\${password:-}" redis-cli -p "\${port:-6379}" "$@"
}`;
}

export function copyRedisScript(a: { sourceLive: string; targetLive: string; targetWorkDir: string; peer: PeerSsh }): string {
    const onTarget = (body: string) => onPeer(a.peer, `${redisCliFunction(a.targetLive)}\n${body}`);
    return `
${peerSetup(a.peer)}
${redisCliFunction(a.sourceLive)}
SAVED="$WORK/redis-saved"
target_file=$(
${onTarget(`install -d -m 711 ${q(a.targetWorkDir)}
if redis_cli PING >/dev/null 2>&1; then
  [ "$(redis_cli CONFIG GET appendonly | sed -n 2p)" != yes ] || { echo "appendonly is on: the copied dump.rdb would be ignored" >&2; exit 1; }
  dir=$(redis_cli CONFIG GET dir | sed -n 2p); file=$(redis_cli CONFIG GET dbfilename | sed -n 2p)
  printf '%s/%s\\n' "$dir" "$file" > ${q(`${a.targetWorkDir}/redis-target.tmp`)}
  mv ${q(`${a.targetWorkDir}/redis-target.tmp`)} ${q(`${a.targetWorkDir}/redis-target`)}
  systemctl stop redis-server
fi
cat ${q(`${a.targetWorkDir}/redis-target`)} 2>/dev/null || echo /var/lib/redis/dump.rdb`)}
)
log "Redis stopped on the new server (its data file: $target_file)"
if redis_cli PING >/dev/null 2>&1; then
  dir=$(redis_cli CONFIG GET dir | sed -n 2p); file=$(redis_cli CONFIG GET dbfilename | sed -n 2p)
  keys=$(redis_cli DBSIZE)
  redis_cli SAVE >/dev/null
  systemctl stop redis-server
  printf '%s/%s %s\\n' "$dir" "$file" "$keys" > "$SAVED.tmp" && mv "$SAVED.tmp" "$SAVED"
  log "SAVE done on the old server ($keys keys) and Redis stopped"
fi
[ -s "$SAVED" ] || die "Redis is not running on the old server and this step did not save it: start redis-server there and run pulumi up again"
read -r source_file keys < "$SAVED"
rsync --stats --human-readable -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$source_file" "$PEER:$target_file.migrating" | grep -E '^Total file size' || true
copied=$(
${onTarget(`tf=$(cat ${q(`${a.targetWorkDir}/redis-target`)} 2>/dev/null || echo /var/lib/redis/dump.rdb)
chown redis:redis "$tf.migrating" && mv "$tf.migrating" "$tf"
systemctl start redis-server
for _ in $(seq 1 60); do redis_cli PING >/dev/null 2>&1 && break; sleep 1; done
redis_cli DBSIZE`)}
)
[ "$copied" = "$keys" ] || die "Redis on the new server holds $copied keys, the old server saved $keys"
log "Redis copied: $copied keys on the new server"
`;
}

export function restartSourceRedisScript(): string {
    return `
systemctl start redis-server 9>&-
rm -f "$WORK/redis-saved"
log "Redis running again on the old server"
`;
}

export class Redis extends pulumi.ComponentResource {
    readonly copy: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Redis", name, {}, opts);
        this.copy = runStep(this, `${name}-copy`, args.source, pulumi.output(args.peer).apply(peer => copyRedisScript({
            sourceLive: args.source.liveDir, targetLive: args.target.liveDir, targetWorkDir: args.target.shell.workDir, peer,
        })), { delete: restartSourceRedisScript(), dependsOn: args.dependsOn });
        this.durations = durationsOf({ [`${name}-copy`]: this.copy });
        this.registerOutputs({ durations: this.durations });
    }
}
