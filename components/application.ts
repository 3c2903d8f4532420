/**
 * Mastodon on the new server: `assets:precompile` in prepare (outside the downtime); in cutover the services
 * are started (`daemon-reload`, `enable --now`, nginx restarted), a health check must pass through nginx with
 * the instance's Host header (`/health`, `/api/v1/streaming/health`, and `/api/v2/instance` naming the
 * domain), then `tootctl feeds build`, and `tootctl search deploy` when Elasticsearch is used.
 * Deleting the start step (rollback) stops Mastodon on the new server again.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface ApplicationArgs {
    /** The new server. */
    server: Server;
    domain: string;
    /** Phase cutover or later: start, check, build feeds. */
    start: boolean;
    elasticsearch: boolean;
    feedsConcurrency: number;
    healthTimeoutSeconds: number;
    /** precompile waits for these (.env.production on the new server). */
    dependsOn?: pulumi.Resource[];
    /** start waits for these too (database, media, Redis, config files). */
    startAfter?: pulumi.Resource[];
}

/** Run a Rails/tootctl command as Mastodon runs it: as its user, in the live directory, RAILS_ENV=production. */
export function asMastodon(server: Server, commandLine: string): string {
    return `# shellcheck disable=SC2016 # expanded by the inner shell
as_user ${q(server.mastodonUser)} bash -c 'cd "$1" && RAILS_ENV=production ${commandLine}' _ ${q(server.liveDir)}`;
}

export function precompileScript(server: Server): string {
    return `
[ -r ${q(`${server.liveDir}/.env.production`)} ] || die ".env.production is missing on the new server"
log "assets:precompile (outside the downtime)"
${asMastodon(server, "bundle exec rails assets:precompile")}
log "assets precompiled"
`;
}

/** Units to run: every mastodon-* unit file; a streaming template only when there is no plain streaming unit. */
export const UNITS_FUNCTION = `mastodon_units() {
  local f name units=()
  for f in /etc/systemd/system/mastodon-*.service; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .service)
    case "$name" in
      *@) [ -e "/etc/systemd/system/\${name%@}.service" ] || units+=("\${name}4000") ;;
      *) units+=("$name") ;;
    esac
  done
  [ \${#units[@]} -gt 0 ] || die "no mastodon-*.service unit on the new server"
  echo "\${units[@]}"
}`;

export function startScript(): string {
    return `
${UNITS_FUNCTION}
read -r -a unit_list <<< "$(mastodon_units)"
systemctl daemon-reload
systemctl start redis-server 9>&-
if [ -f /etc/pgbouncer/pgbouncer.ini ]; then systemctl enable --now pgbouncer 9>&-; fi
log "starting \${unit_list[*]}"
systemctl enable --now "\${unit_list[@]}" 9>&-
systemctl restart nginx 9>&-
log "Mastodon started on the new server"
`;
}

export function stopScript(): string {
    return `
${UNITS_FUNCTION}
read -r -a unit_list <<< "$(mastodon_units)"
systemctl disable --now "\${unit_list[@]}"
log "Mastodon stopped on the new server (\${unit_list[*]})"
`;
}

export function healthScript(domain: string, timeoutSeconds: number): string {
    return `
DOMAIN=${q(domain)}
check() { curl -fsS -k --max-time 10 --resolve "$DOMAIN:443:127.0.0.1" "https://$DOMAIN$1"; }
deadline=$(( $(date +%s) + ${timeoutSeconds} ))
until [ "$(check /health 2>/dev/null)" = OK ] && [ "$(check /api/v1/streaming/health 2>/dev/null)" = OK ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "the new server does not answer /health and /api/v1/streaming/health through nginx after ${timeoutSeconds} s"
  sleep 2
done
check /api/v2/instance | grep -q "\\"domain\\":\\"$DOMAIN\\"" || die "/api/v2/instance on the new server does not name $DOMAIN"
log "healthy through nginx: /health, /api/v1/streaming/health, /api/v2/instance ($DOMAIN)"
`;
}

export function feedsScript(server: Server, concurrency: number): string {
    return `
log "rebuilding home feeds (long on big instances)"
${asMastodon(server, `bin/tootctl feeds build --concurrency ${concurrency}`)}
log "feeds rebuilt"
`;
}

export function searchDeployScript(server: Server): string {
    return `
log "rebuilding the Elasticsearch index"
${asMastodon(server, "bin/tootctl search deploy")}
`;
}

export class Application extends pulumi.ComponentResource {
    readonly precompile: command.remote.Command;
    readonly start?: command.remote.Command;
    readonly health?: command.remote.Command;
    readonly feeds?: command.remote.Command;
    readonly search?: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: ApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Application", name, {}, opts);
        const s = args.server;
        const steps: Record<string, command.remote.Command> = {};
        const step = (suffix: string, body: string, options: Parameters<typeof runStep>[4]) =>
            (steps[`${name}-${suffix}`] = runStep(this, `${name}-${suffix}`, s, body, options));

        this.precompile = step("precompile", precompileScript(s), { dependsOn: args.dependsOn });
        if (args.start) {
            this.start = step("start", startScript(), { delete: stopScript(), dependsOn: [this.precompile, ...(args.startAfter ?? [])] });
            this.health = step("health", healthScript(args.domain, args.healthTimeoutSeconds), { dependsOn: [this.start] });
            this.feeds = step("feeds", feedsScript(s, args.feedsConcurrency), { dependsOn: [this.health] });
            if (args.elasticsearch) this.search = step("search", searchDeployScript(s), { dependsOn: [this.health] });
        }
        this.durations = durationsOf(steps);
        this.registerOutputs({ durations: this.durations });
    }
}
