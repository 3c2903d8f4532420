/**
 * The S3 bucket that keeps the instance's final archive (the encrypted database dump) after it closed:
 * private (every public access blocked, ACLs off), versioned, server-side encrypted (SSE-S3), every version
 * expiring after `days` days. It is protected and retained on delete: destroying the stack never deletes
 * the archive.
 *
 * `UploadCredentials` (`archive-bucket-upload`): an IAM user whose only right is to write and read back the
 * one archive object, and its access key, created for the tombstone phase's upload and removed after it
 * (they leave the program in the parked phase). The key's secret is a secret Output: it reaches the upload
 * step only as its stdin.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface ArchiveBucketArgs {
    /** Bucket name. */
    bucket: string;
    /** Days every version of the archive is kept. */
    days: number;
    /** The instance's domain (tags). */
    domain: string;
}

export class ArchiveBucket extends pulumi.ComponentResource {
    /** The bucket. */
    readonly bucket: aws.s3.Bucket;
    /** Its name. */
    readonly name: pulumi.Output<string>;
    /** Its ARN. */
    readonly arn: pulumi.Output<string>;
    /** Private, versioned, encrypted and expiring: the settings the upload waits for. */
    readonly settings: pulumi.Resource[];

    constructor(name: string, args: ArchiveBucketArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("mastodon-migration:index:ArchiveBucket", name, {}, opts);
        const keep = { parent: this, protect: true, retainOnDelete: true };
        this.bucket = new aws.s3.Bucket(
            name,
            { bucket: args.bucket, forceDestroy: false, tags: { "mastodon-migration": "final archive", domain: args.domain } },
            keep,
        );
        const bucket = this.bucket.id;
        const child = { parent: this, dependsOn: [this.bucket] };
        this.settings = [
            new aws.s3.BucketPublicAccessBlock(
                `${name}-private`,
                { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
                child,
            ),
            new aws.s3.BucketOwnershipControls(`${name}-owner`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, child),
            new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: "Enabled" } }, child),
            new aws.s3.BucketServerSideEncryptionConfiguration(
                `${name}-encryption`,
                { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
                child,
            ),
            new aws.s3.BucketLifecycleConfiguration(
                `${name}-expiry`,
                {
                    bucket,
                    rules: [
                        {
                            id: "expire-archive",
                            status: "Enabled",
                            filter: {},
                            expiration: { days: args.days },
                            noncurrentVersionExpiration: { noncurrentDays: args.days },
                            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                        },
                    ],
                },
                child,
            ),
        ];
        this.name = this.bucket.bucket;
        this.arn = this.bucket.arn;
        this.registerOutputs({ name: this.name, arn: this.arn });
    }
}

export interface UploadCredentialsArgs {
    /** The bucket's ARN. */
    bucketArn: pulumi.Input<string>;
    /** The one object key the credentials may write. */
    key: string;
}

/** The IAM policy of the upload user: put (encrypted) and read back that one object, nothing else. */
export function uploadPolicy(bucketArn: string, key: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WriteTheArchiveOnly",
                Effect: "Allow",
                Action: ["s3:PutObject"],
                Resource: `${bucketArn}/${key}`,
                Condition: { StringEquals: { "s3:x-amz-server-side-encryption": "AES256" } },
            },
            { Sid: "CheckTheUpload", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${bucketArn}/${key}` },
        ],
    });
}

export class UploadCredentials extends pulumi.ComponentResource {
    /** "<access key id>\n<secret>\n", a secret. */
    readonly credentials: pulumi.Output<string>;
    /** The access key (its id is not secret). */
    readonly accessKey: aws.iam.AccessKey;

    constructor(name: string, args: UploadCredentialsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("mastodon-migration:index:UploadCredentials", name, {}, opts);
        const user = new aws.iam.User(name, { path: "/mastodon-migration/", forceDestroy: true }, { parent: this });
        const policy = new aws.iam.UserPolicy(
            name,
            { user: user.name, policy: pulumi.output(args.bucketArn).apply(arn => uploadPolicy(arn, args.key)) },
            { parent: this },
        );
        this.accessKey = new aws.iam.AccessKey(name, { user: user.name }, { parent: this, dependsOn: [policy] });
        this.credentials = pulumi.secret(pulumi.interpolate`${this.accessKey.id}\n${this.accessKey.secret}\n`);
        this.registerOutputs({ accessKeyId: this.accessKey.id });
    }
}
