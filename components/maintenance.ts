/**
 * Maintenance page on the old server: while Mastodon is stopped, nginx answers every request with
 * `public/500.html` (its `error_page 500 501 502 503 504 /500.html`), so the guide replaces that page.
 * The original is kept beside it and put back when the step is deleted (rollback).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { q } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface MaintenanceArgs {
    /** The old server. */
    server: Server;
    /** The instance's domain, shown on the page. */
    domain: string;
    /** Text of the page (plain text; HTML-escaped here). */
    message: string;
    /** Steps that must finish first. */
    dependsOn?: pulumi.Resource[];
    /** Keep the page when the stack is destroyed (set once the move is complete). */
    retainOnDelete?: boolean;
}

export function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** The maintenance page itself. */
export function maintenancePage(domain: string, message: string): string {
    return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(domain)} is moving</title>
<style>body{font-family:sans-serif;background:#191b22;color:#d9e1e8;text-align:center;padding:15vh 1em}</style></head>
<body><h1>${escapeHtml(domain)}</h1><p>${escapeHtml(message)}</p><!-- mastodon-migration maintenance page --></body>
</html>
`;
}

/** Put the maintenance page in place, keeping the original once. */
export function showMaintenanceScript(liveDir: string, page: string): string {
    return `
PAGE=${q(`${liveDir}/public/500.html`)}
SAVED="$PAGE.pre-migration"
[ -f "$PAGE" ] || die "no $PAGE on the old server: is sourceLiveDir right?"
if [ ! -e "$SAVED" ]; then
  cp -p "$PAGE" "$SAVED.tmp" && mv "$SAVED.tmp" "$SAVED"
  log "original page kept as $SAVED"
fi
printf '%s' ${q(page)} > "$PAGE.tmp"
chown --reference="$SAVED" "$PAGE.tmp" && chmod --reference="$SAVED" "$PAGE.tmp"
mv "$PAGE.tmp" "$PAGE"
log "maintenance page in place"
`;
}

/** Put the original page back (rollback). */
export function restorePageScript(liveDir: string): string {
    return `
PAGE=${q(`${liveDir}/public/500.html`)}
SAVED="$PAGE.pre-migration"
if [ -e "$SAVED" ]; then
  mv "$SAVED" "$PAGE"
  log "original page restored"
else
  log "no saved page at $SAVED: nothing to restore"
fi
`;
}

export class Maintenance extends pulumi.ComponentResource {
    /** The step that shows the page. */
    readonly show: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: MaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Maintenance", name, {}, opts);
        const live = args.server.liveDir;
        this.show = runStep(this, `${name}-page`, args.server, showMaintenanceScript(live, maintenancePage(args.domain, args.message)), {
            delete: restorePageScript(live),
            dependsOn: args.dependsOn,
            retainOnDelete: args.retainOnDelete,
        });
        this.durations = durationsOf({ [`${name}-page`]: this.show });
        this.registerOutputs({ durations: this.durations });
    }
}
