/**
 * Configuration files, server to server (never through Pulumi): `.env.production` (DB_USER rewritten when
 * the new server's role differs), the nginx site with its TLS certificate files copied to a directory of our
 * own and nginx pointed at them, the systemd units (`daemon-reload` after), and `/etc/pgbouncer` when present.
 * Done in prepare, outside the downtime; a changed input (site path, role, directory) re-runs a step.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { onPeer, PeerSsh, peerSetup, q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface ConfigFilesArgs {
    source: Server;
    target: Server;
    peer: pulumi.Input<PeerSsh>;
    /** nginx site file (same path on both servers). */
    nginxSite: string;
    /** Directory of our own on the new server for the certificate files. */
    tlsDir: string;
    /** Steps that must finish first (the migration key). */
    dependsOn?: pulumi.Resource[];
}

export function copyEnvScript(a: { sourceLive: string; targetLive: string; targetUser: string; sourceRole: string; targetRole: string; peer: PeerSsh }): string {
    const env = `${a.targetLive}/.env.production`;
    const rewrite = a.sourceRole === a.targetRole ? "" : `
${onPeer(a.peer, `{ grep -v '^DB_USER=' ${q(env)} || true; echo DB_USER=${q(a.targetRole)}; } > ${q(`${env}.tmp`)}
chown --reference=${q(env)} ${q(`${env}.tmp`)} && chmod 600 ${q(`${env}.tmp`)} && mv ${q(`${env}.tmp`)} ${q(env)}`)}
log "DB_USER set to ${a.targetRole} on the new server (was ${a.sourceRole})"`;
    return `
${peerSetup(a.peer)}
ENV=${q(`${a.sourceLive}/.env.production`)}
[ -r "$ENV" ] || die "no $ENV on the old server"
rsync --chmod=F600 --chown=${q(`${a.targetUser}:${a.targetUser}`)} -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$ENV" "$PEER:${env}"
log ".env.production copied server to server (contents never leave the servers)"${rewrite}
`;
}

export function copyNginxScript(a: { site: string; tlsDir: string; peer: PeerSsh }): string {
    return `
${peerSetup(a.peer)}
SITE=${q(a.site)}
[ -r "$SITE" ] || die "no nginx site $SITE on the old server: set nginxSite"
STAGE="$WORK/nginx"
rm -rf "$STAGE" && install -d -m 700 "$STAGE/tls"
# Certificate files named by ssl_certificate / ssl_certificate_key, dereferenced (letsencrypt live/ holds links).
sed -n 's/^[[:space:]]*ssl_certificate\\(_key\\)\\{0,1\\}[[:space:]]\\{1,\\}\\([^;]*\\);.*/\\2/p' "$SITE" | sort -u | while read -r cert; do
  base=$(basename "$cert")
  [ ! -e "$STAGE/tls/$base" ] || die "two certificate files are named $base: rename one in $SITE"
  cp -L "$cert" "$STAGE/tls/$base"
done
sed 's#^\\([[:space:]]*ssl_certificate\\(_key\\)\\{0,1\\}[[:space:]]\\{1,\\}\\)[^;]*/\\([^/;]*\\);#\\1'${q(a.tlsDir)}'/\\3;#' "$SITE" > "$STAGE/site"
${onPeer(a.peer, `install -d -m 700 ${q(a.tlsDir)}`)}
rsync -a --chmod=D700,F600 -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$STAGE/tls/" "$PEER:"${q(`${a.tlsDir}/`)}
rsync --chmod=F644 -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "$STAGE/site" "$PEER:"${q(a.site)}
rm -rf "$STAGE"
${onPeer(a.peer, `ln -sfn ${q(a.site)} /etc/nginx/sites-enabled/${q(a.site.split("/").pop() ?? "mastodon")}
nginx -t 2>&1 | tail -n 1
if systemctl is-active --quiet nginx; then systemctl reload nginx; else systemctl start nginx; fi`)}
log "nginx site and certificates in place on the new server (certificates in ${a.tlsDir})"
`;
}

export function copyUnitsScript(a: { sourceUser: string; targetUser: string; sourceLive: string; targetLive: string; peer: PeerSsh }): string {
    const rewrite = a.sourceUser === a.targetUser && a.sourceLive === a.targetLive ? "" :
        `sed -i -e 's#^User=.*#User=${a.targetUser}#' -e 's#^WorkingDirectory=.*#WorkingDirectory=${a.targetLive}#' /etc/systemd/system/mastodon-*.service\n`;
    return `
${peerSetup(a.peer)}
shopt -s nullglob
units=(/etc/systemd/system/mastodon-*.service)
[ \${#units[@]} -gt 0 ] || die "no /etc/systemd/system/mastodon-*.service on the old server"
rsync -a -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" "\${units[@]}" "$PEER:/etc/systemd/system/"
${onPeer(a.peer, `${rewrite}systemctl daemon-reload`)}
log "systemd units copied: $(basename -a "\${units[@]}" | tr '\\n' ' ')"
`;
}

export function copyPgbouncerScript(a: { peer: PeerSsh }): string {
    return `
${peerSetup(a.peer)}
if [ ! -d /etc/pgbouncer ]; then log "no /etc/pgbouncer on the old server: nothing to copy"; exit 0; fi
rsync -a -e "$RSYNC_SSH" --rsync-path="$RSYNC_PEER" /etc/pgbouncer/ "$PEER:/etc/pgbouncer/"
log "/etc/pgbouncer copied (started with the application)"
`;
}

export class ConfigFiles extends pulumi.ComponentResource {
    readonly env: command.remote.Command;
    readonly nginx: command.remote.Command;
    readonly units: command.remote.Command;
    readonly pgbouncer: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: ConfigFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:ConfigFiles", name, {}, opts);
        const { source, target } = args;
        const step = (suffix: string, script: (peer: PeerSsh) => string) =>
            runStep(this, `${name}-${suffix}`, source, pulumi.output(args.peer).apply(script), { dependsOn: args.dependsOn });
        this.env = step("env", peer => copyEnvScript({
            sourceLive: source.liveDir, targetLive: target.liveDir, targetUser: target.mastodonUser,
            sourceRole: source.dbRole, targetRole: target.dbRole, peer,
        }));
        this.nginx = step("nginx", peer => copyNginxScript({ site: args.nginxSite, tlsDir: args.tlsDir, peer }));
        this.units = step("systemd", peer => copyUnitsScript({
            sourceUser: source.mastodonUser, targetUser: target.mastodonUser, sourceLive: source.liveDir, targetLive: target.liveDir, peer,
        }));
        this.pgbouncer = step("pgbouncer", peer => copyPgbouncerScript({ peer }));
        this.durations = durationsOf({
            [`${name}-env`]: this.env, [`${name}-nginx`]: this.nginx, [`${name}-systemd`]: this.units, [`${name}-pgbouncer`]: this.pgbouncer,
        });
        this.registerOutputs({ durations: this.durations });
    }
}
