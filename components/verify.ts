/**
 * Verification before DNS moves (`verify/counts.sh`): the exact row count of every table and materialized
 * view, and the media (the paths the final pass copied from its change journal, or every file), read on both
 * servers and compared. The result is a
 * stack output; any mismatch fails the step, so the DNS cutover (which depends on it) never happens.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "verify");

export interface VerifyArgs {
    /** The source server: the comparison runs there and asks the target over SSH. */
    source: Server;
    /** The target server, reached with the migration key. */
    target: Server;
    /** The database, the same name on both servers. */
    dbName: string;
    /** Media is in object storage: no files to count. */
    mediaOnS3: boolean;
    /**
     * The final media pass's step name (`Media.finalStepName`; none with media in object storage): when its
     * change journal decided what it copied, the verification checks those paths instead of walking the whole
     * tree again in the window.
     */
    mediaFinalStep?: string;
}

/** What the verification found (a stack output). */
export interface VerificationReport {
    /** Every count equal on both servers. */
    identical: boolean;
    /** Tables counted. */
    tables: number;
    /** Rows in those tables on the source. */
    rows: number;
    /**
     * Which media were compared: `tree` (every file), `changed paths` (those the final pass copied from its
     * change journal, and all below them), `none` (object storage).
     */
    media: "tree" | "changed paths" | "none";
    /** Media files compared, on the source. */
    mediaFiles: number;
    /** Their total size in bytes. */
    mediaBytes: number;
    /** The differing lines (up to 50), `source: ...` / `target: ...`. */
    mismatches: string[];
}

export const verifyScript = (a: VerifyArgs): StepScript =>
    script(
        "counts.sh",
        {
            DB: a.dbName,
            SOURCE_LIVE: a.source.liveDir,
            TARGET_LIVE: a.target.liveDir,
            MEDIA_ON_S3: a.mediaOnS3,
            MEDIA_FINAL: a.mediaFinalStep ?? "",
        },
        ["mastodon"],
    );

export class Verify extends StepGroup {
    /** The comparison: DNS waits for it. */
    readonly check: command.remote.Command;
    readonly report: pulumi.Output<VerificationReport>;

    constructor(name: string, args: VerifyArgs, opts?: StepGroupOptions) {
        super("Verify", name, opts);
        ({ step: this.check, report: this.report } = this.reportingStep<VerificationReport>(
            "counts",
            args.source,
            verifyScript(args),
            "VERIFY",
            {
                peer: args.target,
            },
        ));
        this.done({ report: this.report });
    }
}
