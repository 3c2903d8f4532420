/**
 * An EC2 instance for an aws target: a pinned AMI (or an Ubuntu 24.04 lookup that can never replace a running
 * instance), an Elastic IP with a separate association, security-group rules (SSH from the admin CIDRs only,
 * HTTP and HTTPS from anywhere), an encrypted root volume sized in config, and cloud-init that installs the
 * install guide's prerequisites and checks out the SAME Mastodon version as the source server
 * (`ec2-host/prerequisites.sh`). The instance and its address are protected: they hold the instance once
 * the move is done. Nothing here is ever replaced by a later `up` (a changed AMI, user data, key pair or
 * subnet is ignored; the root volume survives a termination), and every resource is retained on delete, so
 * `pulumi destroy` leaves the server serving.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Ec2Settings } from "../lib/ec2-settings";
import { SourceFacts } from "../lib/facts";
import { scriptsIn, standaloneScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "ec2-host");

export interface Ec2HostArgs extends Ec2Settings {
    /** The instance's domain, for tags and descriptions. */
    domain: string;
    /** Facts read from the source server: the Mastodon version to check out. */
    facts: pulumi.Input<SourceFacts>;
    /** Unix user that will run Mastodon. */
    mastodonUser: string;
    /** PostgreSQL role to create. */
    dbRole: string;
    /** Where to check Mastodon out. */
    liveDir: string;
    /** The stack adopts an AAAA record: the instance gets an IPv6 address (its subnet must have an IPv6 range). */
    ipv6: boolean;
    /** The source uses full-text search (ES_ENABLED=true): cloud-init installs Elasticsearch 7 on the instance. */
    elasticsearch: boolean;
}

/** Ubuntu 24.04 (noble) amd64 images published by Canonical. */
export const UBUNTU_2404 = { owner: "099720109477", name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" };

/**
 * cloud-init user data that runs `ec2-host/prerequisites.sh` once, then `ec2-host/search-engine.sh` when the
 * source uses full-text search (the user data holds that script only then).
 */
export function cloudInitUserData(a: {
    version: string;
    mastodonUser: string;
    dbRole: string;
    liveDir: string;
    pgbouncer: boolean;
    elasticsearch?: boolean;
}): string {
    const files: [string, string][] = [
        [
            "mastodon-prerequisites",
            standaloneScript(
                script("prerequisites.sh", {
                    VERSION: a.version,
                    MUSER: a.mastodonUser,
                    ROLE: a.dbRole,
                    LIVE: a.liveDir,
                    PGBOUNCER: a.pgbouncer,
                }),
            ),
        ],
    ];
    if (a.elasticsearch) files.push(["mastodon-search-engine", standaloneScript(script("search-engine.sh", {}))]);
    return [
        "#cloud-config",
        "disable_root: false",
        "write_files:",
        ...files.flatMap(([name, text]) => [
            `  - path: /usr/local/sbin/${name}`,
            '    permissions: "0700"',
            "    encoding: b64",
            `    content: ${Buffer.from(text).toString("base64")}`,
        ]),
        "runcmd:",
        ...files.map(([name]) => `  - [/usr/local/sbin/${name}]`),
        "",
    ].join("\n");
}

export class Ec2Host extends pulumi.ComponentResource {
    /** The instance's public IPv4 (the Elastic IP). */
    readonly address: pulumi.Output<string>;
    /** The instance's IPv6, when its subnet gives it one. */
    readonly ipv6: pulumi.Output<string | undefined>;
    readonly instance: aws.ec2.Instance;
    /** The Elastic IP's association: SSH to `address` works once it exists. */
    readonly association: aws.ec2.EipAssociation;

    constructor(name: string, args: Ec2HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:Ec2Host", name, {}, opts);
        // Retained on delete: destroying the stack never takes the server, its address or its firewall away.
        const parent = { parent: this, retainOnDelete: true };
        const tags = { Name: `${args.domain} (mastodon-migration)`, "mastodon-migration": args.domain };
        const vpcId = args.subnetId
            ? aws.ec2.getSubnetOutput({ id: args.subnetId }, parent).vpcId
            : aws.ec2.getVpcOutput({ default: true }, parent).id;
        const group = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            { vpcId, description: `Mastodon ${args.domain}: SSH from admin CIDRs, HTTP(S) from anywhere`, tags },
            parent,
        );
        const rule = (suffix: string, r: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId">) =>
            new aws.vpc.SecurityGroupIngressRule(`${name}-${suffix}`, { securityGroupId: group.id, ...r }, parent);
        args.adminCidrs.forEach((cidr, i) =>
            rule(`ssh-${i}`, { cidrIpv4: cidr, ipProtocol: "tcp", fromPort: 22, toPort: 22, description: "SSH (admin, source server)" }),
        );
        for (const [port, label] of [
            [80, "http"],
            [443, "https"],
        ] as const) {
            rule(label, { cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: port, toPort: port });
            rule(`${label}-v6`, { cidrIpv6: "::/0", ipProtocol: "tcp", fromPort: port, toPort: port });
        }
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-egress`,
            { securityGroupId: group.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" },
            parent,
        );
        // A changed targetSshPublicKey must not replace the key pair and, through keyName, the server: the key
        // pair only seeds the first boot; rotate the key in ~/.ssh/authorized_keys on the server.
        const keyPair = new aws.ec2.KeyPair(
            `${name}-key`,
            { publicKey: args.publicKey, tags },
            { ...parent, ignoreChanges: ["publicKey"] },
        );
        const ami =
            args.ami ??
            aws.ec2.getAmiOutput(
                { mostRecent: true, owners: [UBUNTU_2404.owner], filters: [{ name: "name", values: [UBUNTU_2404.name] }] },
                parent,
            ).id;
        const userData = pulumi.output(args.facts).apply(f =>
            cloudInitUserData({
                version: f.mastodonVersion,
                mastodonUser: args.mastodonUser,
                dbRole: args.dbRole,
                liveDir: args.liveDir,
                pgbouncer: f.pgbouncer,
                elasticsearch: args.elasticsearch,
            }),
        );
        this.instance = new aws.ec2.Instance(
            `${name}-instance`,
            {
                ami,
                instanceType: args.instanceType,
                subnetId: args.subnetId,
                vpcSecurityGroupIds: [group.id],
                keyName: keyPair.keyName,
                userData,
                // The root volume holds the database and media: kept even if the instance is ever terminated.
                rootBlockDevice: { volumeSize: args.rootVolumeGb, volumeType: "gp3", encrypted: true, deleteOnTermination: false },
                ipv6AddressCount: args.ipv6 ? 1 : undefined,
                metadataOptions: { httpTokens: "required" },
                tags,
            },
            {
                ...parent,
                // The server holds the instance once the move is done: never deleted by accident.
                protect: true,
                // Never replaced by a later `up` (a replacement would move the Elastic IP to an empty server and
                // delete the root volume): a newer or re-pinned AMI, changed user data, a new key pair (a rotated
                // targetSshPublicKey), another subnet or IPv6 setting are ignored. Moving the server is a new stack.
                ignoreChanges: ["ami", "userData", "keyName", "subnetId", "availabilityZone", "ipv6AddressCount"],
            },
        );
        const eip = new aws.ec2.Eip(`${name}-eip`, { domain: "vpc", tags }, { ...parent, protect: true });
        // Never re-pointed at another instance by a later `up`.
        this.association = new aws.ec2.EipAssociation(
            `${name}-eip-association`,
            { instanceId: this.instance.id, allocationId: eip.allocationId },
            { ...parent, protect: true, ignoreChanges: ["instanceId", "allocationId"] },
        );
        this.address = eip.publicIp;
        this.ipv6 = this.instance.ipv6Addresses.apply(a => a?.[0]);
        this.registerOutputs({ address: this.address, ipv6: this.ipv6, instanceId: this.instance.id });
    }
}
