/**
 * The tombstone on the server of the instance that closed:
 * - `tombstone/dump.sh`: a final `pg_dump -Fc` piped straight into `age` with the public key from config,
 *   so only the encrypted archive ever touches the disk; its sha256 and size are printed;
 * - `tombstone/upload.sh`: the archive uploaded to the archive bucket with credentials that may only write
 *   that one object, given on the step's stdin (a secret input, never in the script, the log or a file
 *   that outlives the step), and checked by its MD5 (the object's ETag);
 * - `tombstone/stop.sh`: every Mastodon unit, Sidekiq included, then PostgreSQL and Redis stopped and
 *   disabled; nginx keeps answering 410 (`GoneSite` in mode `gone`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup } from "../lib/step-group";
import { scriptsIn, StepScript, taggedJson } from "../lib/step-script";

const script = scriptsIn(__dirname, "tombstone");

/** Where the upload goes, and the short-lived credentials (secret) that may write only that object. */
export interface UploadTarget {
    /** Bucket name. */
    bucket: pulumi.Input<string>;
    /** Object key of the archive. */
    key: string;
    /** AWS region of the bucket. */
    region: pulumi.Input<string>;
    /** Base URL of the S3 endpoint (path-style: `<endpoint>/<bucket>/<key>`). */
    endpoint: pulumi.Input<string>;
    /** Access key id and secret, as two lines (a secret Output). */
    credentials: pulumi.Input<string>;
}

export interface TombstoneArgs {
    /** The server of the instance that closed. */
    server: Server;
    /** The database (DB_NAME). */
    dbName: string;
    /** age recipient (age1...). */
    ageRecipient: string;
    /** The upload (tombstone phase only; the archive stays on the server too). */
    upload?: UploadTarget;
    /** Stop and disable everything but nginx. */
    stopServices: boolean;
}

/** The archive's file name on the server and its object key in the bucket. */
export const archiveName = (dbName: string) => `${dbName}.final.dump.age`;

export const dumpScript = (a: TombstoneArgs): StepScript =>
    script("dump.sh", { DB: a.dbName, RECIPIENT: a.ageRecipient, NAME: archiveName(a.dbName) });

export const uploadScript = (a: { bucket: string; key: string; region: string; endpoint: string; name: string }): StepScript =>
    script("upload.sh", { BUCKET: a.bucket, KEY: a.key, REGION: a.region, ENDPOINT: a.endpoint, NAME: a.name });

/** What the dump step reports about the archive (no secret: a checksum and a size). */
export interface ArchiveFacts {
    sha256: string;
    bytes: number;
    name: string;
}

export function parseArchive(stdout: string): ArchiveFacts {
    return taggedJson<ArchiveFacts>(stdout, "ARCHIVE", "the final dump");
}

export class Tombstone extends StepGroup {
    /** The encrypted final dump on the server. */
    readonly dump: command.remote.Command;
    /** The archive in the bucket (tombstone phase only). */
    readonly upload?: command.remote.Command;
    /** Everything but nginx stopped and disabled. */
    readonly stop?: command.remote.Command;
    /** Checksum and size of the archive. */
    readonly archive: pulumi.Output<ArchiveFacts>;
    /** When everything but nginx was stopped (ISO time): the tombstone period counts from it. */
    readonly stoppedAt?: pulumi.Output<string>;

    constructor(name: string, args: TombstoneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("Tombstone", name, opts);
        const s = args.server;
        this.dump = this.step("dump", s, dumpScript(args));
        const u = args.upload;
        if (u) {
            const upload = pulumi
                .all([u.bucket, u.region, u.endpoint])
                .apply(([bucket, region, endpoint]) =>
                    uploadScript({ bucket, key: u.key, region, endpoint, name: archiveName(args.dbName) }),
                );
            this.upload = this.step("upload", s, upload, { after: [this.dump], stdin: u.credentials });
        }
        if (args.stopServices) this.stop = this.step("stop", s, script("stop.sh", {}, ["mastodon"]), { after: [this.dump, this.upload] });
        this.archive = this.dump.stdout.apply(parseArchive);
        this.stoppedAt = this.stop?.stdout.apply(out => taggedJson<{ at: string }>(out, "STOPPED", "the tombstone").at);
        this.done({ archive: this.archive, stoppedAt: this.stoppedAt });
    }
}
