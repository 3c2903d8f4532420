/**
 * Stop Mastodon on the old server (`mastodon-*` units); PostgreSQL and Redis keep running for the
 * dump and the Redis copy. The units that were running are recorded on the server, and the step's
 * delete (rollback) starts exactly those again and waits until they are active.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { durationsOf, runStep, Server } from "../lib/step";

export interface StopServicesArgs {
    /** The old server. */
    server: Server;
    /** Steps that must finish first (the maintenance page). */
    dependsOn?: pulumi.Resource[];
    /** Keep the services stopped when the stack is destroyed (set once the move is complete). */
    retainOnDelete?: boolean;
}

/** Units started on rollback when no record of the stopped units exists. */
export const MASTODON_UNITS = ["mastodon-web", "mastodon-sidekiq", "mastodon-streaming"];

export function stopServicesScript(): string {
    return `
RECORD="$WORK/stopped-units"
mapfile -t running < <(systemctl list-units --type=service --state=running --plain --no-legend 'mastodon-*' | awk '{print $1}')
if [ ! -e "$RECORD" ]; then
  # Keep the list from the first run: a re-run finds nothing running any more.
  printf '%s\\n' "\${running[@]}" | sed '/^$/d' > "$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
fi
if [ \${#running[@]} -gt 0 ]; then
  log "stopping: \${running[*]}"
  systemctl stop "\${running[@]}"
fi
while read -r unit; do
  for _ in $(seq 1 120); do systemctl is-active --quiet "$unit" || break; sleep 1; done
  ! systemctl is-active --quiet "$unit" || die "$unit is still active after 120 s"
done < "$RECORD"
log "Mastodon is stopped on the old server (PostgreSQL and Redis keep running)"
`;
}

export function startServicesScript(): string {
    return `
RECORD="$WORK/stopped-units"
units=()
[ ! -e "$RECORD" ] || mapfile -t units < "$RECORD"
[ \${#units[@]} -gt 0 ] || units=(${MASTODON_UNITS.join(" ")})
log "starting: \${units[*]}"
systemctl start "\${units[@]}" 9>&-
for unit in "\${units[@]}"; do
  for _ in $(seq 1 120); do systemctl is-active --quiet "$unit" && break; sleep 1; done
  systemctl is-active --quiet "$unit" || die "$unit did not become active"
done
rm -f "$RECORD"
log "Mastodon is running again on the old server"
`;
}

export class StopServices extends pulumi.ComponentResource {
    readonly stop: command.remote.Command;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: StopServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:StopServices", name, {}, opts);
        this.stop = runStep(this, `${name}-stop`, args.server, stopServicesScript(), {
            delete: startServicesScript(),
            dependsOn: args.dependsOn,
            retainOnDelete: args.retainOnDelete,
        });
        this.durations = durationsOf({ [`${name}-stop`]: this.stop });
        this.registerOutputs({ durations: this.durations });
    }
}
