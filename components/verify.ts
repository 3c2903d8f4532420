/**
 * Verification before DNS moves: the exact row count of every table and materialized view, and the number
 * and total size of media files, read on both servers and compared. The result is a stack output; any
 * mismatch fails the step, so the DNS cutover (which depends on it) never happens.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { onPeer, PeerSsh, peerSetup, q, taggedJson } from "../lib/shell";
import { durationsOf, runStep, Server } from "../lib/step";

export interface VerifyArgs {
    /** The old server (the comparison runs there and asks the new one over SSH). */
    source: Server;
    target: Server;
    peer: pulumi.Input<PeerSsh>;
    dbName: string;
    mediaOnS3: boolean;
    /** Runs after these (restore and final media pass). */
    dependsOn?: pulumi.Resource[];
}

export interface VerificationReport {
    identical: boolean;
    tables: number;
    rows: number;
    mediaFiles: number;
    mediaBytes: number;
    mismatches: string[];
}

/** Self-contained counting script (runs on either server): `table <name> <rows>`, `media_files N`, `media_bytes N`. */
export function countsScript(a: { dbName: string; liveDir: string; mediaOnS3: boolean }): string {
    return `
cd /
runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -qAt -F ' ' -d ${q(a.dbName)} <<'SQL' | sort
SELECT format('SELECT %L, %L, count(*) FROM public.%I', kind, name, name) FROM (
  SELECT 'table' AS kind, tablename AS name FROM pg_tables WHERE schemaname = 'public'
  UNION ALL SELECT 'matview', matviewname FROM pg_matviews WHERE schemaname = 'public') AS relations
\\gexec
SQL
${a.mediaOnS3 ? "printf 'media_files 0\\nmedia_bytes 0\\n' # media is in object storage" : `if [ -d ${q(`${a.liveDir}/public/system`)} ]; then
  find ${q(`${a.liveDir}/public/system`)} -type f -printf '%s\\n' | awk '{ n++; b += $1 } END { printf "media_files %d\\nmedia_bytes %d\\n", n, b }'
else
  printf 'media_files 0\\nmedia_bytes 0\\n'
fi`}
`;
}

export function verifyScript(a: { dbName: string; sourceLive: string; targetLive: string; mediaOnS3: boolean; peer: PeerSsh }): string {
    return `
${peerSetup(a.peer)}
OLD="$WORK/verify-old.txt"; NEW="$WORK/verify-new.txt"
( ${countsScript({ dbName: a.dbName, liveDir: a.sourceLive, mediaOnS3: a.mediaOnS3 }).trim()}
) > "$OLD"
target_counts=$(
${onPeer(a.peer, countsScript({ dbName: a.dbName, liveDir: a.targetLive, mediaOnS3: a.mediaOnS3 }))}
)
printf '%s\\n' "$target_counts" > "$NEW"
tables=$(grep -c '^table ' "$OLD" || true)
rows=$(awk '$1 == "table" { r += $3 } END { print r + 0 }' "$OLD")
files=$(awk '$1 == "media_files" { print $2 }' "$OLD"); bytes=$(awk '$1 == "media_bytes" { print $2 }' "$OLD")
mismatches=$(diff "$OLD" "$NEW" | sed -n 's/^< \\(.*\\)/old: \\1/p; s/^> \\(.*\\)/new: \\1/p' | head -n 50 | awk 'BEGIN { ORS = "" } { gsub(/"/, ""); printf "%s\\"%s\\"", (NR > 1 ? "," : ""), $0 }')
identical=true; [ -z "$mismatches" ] || identical=false
printf 'VERIFY {"identical":%s,"tables":%d,"rows":%d,"mediaFiles":%d,"mediaBytes":%d,"mismatches":[%s]}\\n' \\
  "$identical" "$tables" "$rows" "\${files:-0}" "\${bytes:-0}" "$mismatches"
[ "$identical" = true ] || die "the new server differs from the old one (see VERIFY above): DNS is not moved"
log "$tables tables, $rows rows, $files media files ($bytes bytes): identical on both servers"
`;
}

export function parseVerification(stdout: string): VerificationReport {
    return taggedJson<VerificationReport>(stdout, "VERIFY", "the verification");
}

export class Verify extends pulumi.ComponentResource {
    readonly check: command.remote.Command;
    readonly report: pulumi.Output<VerificationReport>;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: VerifyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Verify", name, {}, opts);
        this.check = runStep(this, `${name}-counts`, args.source, pulumi.output(args.peer).apply(peer => verifyScript({
            dbName: args.dbName, sourceLive: args.source.liveDir, targetLive: args.target.liveDir, mediaOnS3: args.mediaOnS3, peer,
        })), { dependsOn: args.dependsOn });
        this.report = this.check.stdout.apply(parseVerification);
        this.durations = durationsOf({ [`${name}-counts`]: this.check });
        this.registerOutputs({ report: this.report, durations: this.durations });
    }
}
