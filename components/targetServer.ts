/**
 * The new server. `aws`: an EC2 instance (pinned AMI, or an Ubuntu 24.04 lookup that can never replace a
 * running instance), an Elastic IP with a separate association, security-group rules (SSH from the admin
 * CIDRs only, HTTP and HTTPS from anywhere), a root volume sized in config, and cloud-init that installs the
 * install guide's prerequisites and checks out the SAME Mastodon version as the old server, without ever
 * running `mastodon:setup`; a step waits for cloud-init. `existing`: any host reachable over SSH.
 * Either way, a readiness step checks the host against the old server's facts before any data moves.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { AwsTargetConfig, SshAccess } from "../lib/config";
import { q, ShellHost } from "../lib/shell";
import { connectionOf, durationsOf, runStep, Server } from "../lib/step";
import { SourceFacts } from "./preflight";

export interface TargetServerArgs {
    kind: "aws" | "existing";
    /** SSH access; `host` is ignored for aws (the Elastic IP is used). */
    ssh: SshAccess;
    /** aws settings (required when kind is aws). */
    aws?: AwsTargetConfig;
    shell: ShellHost;
    mastodonUser: string;
    liveDir: string;
    dbRole: string;
    domain: string;
    /** Facts read from the old server: the version to check out, sizes and versions to check. */
    facts: pulumi.Input<SourceFacts>;
    mediaOnS3: boolean;
    /** The database the restore will create; an existing one with tables is refused unless allowed. */
    dbName: string;
    allowNonEmptyDb: boolean;
}

/** Ubuntu 24.04 (noble) amd64 images published by Canonical. */
export const UBUNTU_2404 = { owner: "099720109477", name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" };

/**
 * cloud-init user data: the install guide's prerequisites, the mastodon user, the PostgreSQL role and a
 * checkout of the old server's Mastodon version with its gems and packages. `mastodon:setup` is never run:
 * the database, `.env.production` and media come from the old server.
 */
export function cloudInitUserData(a: { version: string; mastodonUser: string; dbRole: string; liveDir: string }): string {
    const script = `#!/bin/bash
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
VERSION=${q(a.version)}
MUSER=${q(a.mastodonUser)}
ROLE=${q(a.dbRole)}
LIVE=${q(a.liveDir)}
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_22.x nodistro main" > /etc/apt/sources.list.d/nodesource.list
apt-get update
apt-get install -y imagemagick ffmpeg libvips-tools libpq-dev libxml2-dev libxslt1-dev file git-core \\
  g++ libprotobuf-dev protobuf-compiler pkg-config gcc autoconf bison build-essential libssl-dev libyaml-dev \\
  libreadline-dev zlib1g-dev libncurses-dev libffi-dev libgdbm-dev nginx nodejs redis-server postgresql \\
  postgresql-contrib certbot python3-certbot-nginx libidn-dev libicu-dev libjemalloc-dev rsync
corepack enable
id "$MUSER" >/dev/null 2>&1 || adduser --disabled-password --gecos "" "$MUSER"
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'" | grep -q 1 || runuser -u postgres -- createuser --createdb "$ROLE"
home=$(getent passwd "$MUSER" | cut -d: -f6)
# shellcheck disable=SC2016 # expanded by the mastodon user's shell
runuser -u "$MUSER" -- bash -lc '
  set -euo pipefail
  [ -d ~/.rbenv ] || git clone https://github.com/rbenv/rbenv.git ~/.rbenv
  [ -d ~/.rbenv/plugins/ruby-build ] || git clone https://github.com/rbenv/ruby-build.git ~/.rbenv/plugins/ruby-build
  [ -d "$1/.git" ] || git clone https://github.com/mastodon/mastodon.git "$1"
  cd "$1" && git fetch --tags && git checkout "$2"
  export PATH="$HOME/.rbenv/bin:$PATH" && eval "$(rbenv init -)"
  RUBY_CONFIGURE_OPTS=--with-jemalloc rbenv install --skip-existing
  gem install bundler --no-document
  bundle config deployment true && bundle config without "development test"
  bundle install -j"$(nproc)"
  yarn install
' _ "$LIVE" "$VERSION"
chmod o+x "$home"
# Leave only PostgreSQL running: Redis receives the old server's dump.rdb later.
systemctl stop redis-server
`;
    return `#cloud-config
disable_root: false
write_files:
  - path: /usr/local/sbin/mastodon-prerequisites
    permissions: "0700"
    encoding: b64
    content: ${Buffer.from(script).toString("base64")}
runcmd:
  - [/usr/local/sbin/mastodon-prerequisites]
`;
}

/** Wait for cloud-init and fail when it reported an error. */
export function waitForCloudInitScript(): string {
    return `
log "waiting for cloud-init (prerequisites and the Mastodon checkout take a while)"
heartbeat 'cloud-init status 2>/dev/null | head -n 1'
status=0
cloud-init status --wait >/dev/null || status=$?
[ "$status" -eq 0 ] || die "cloud-init finished with status $status: see /var/log/cloud-init-output.log on the new server"
log "cloud-init done"
`;
}

/** The new server is ready for the move: same Mastodon, new-enough PostgreSQL, role, room, Redis without AOF. */
export function targetReadyScript(a: { liveDir: string; mastodonUser: string; dbRole: string; facts: SourceFacts; mediaOnS3: boolean; dbName: string; allowNonEmptyDb: boolean }): string {
    const f = a.facts;
    return `
LIVE=${q(a.liveDir)}
ROLE=${q(a.dbRole)}
for tool in pg_restore psql rsync redis-cli nginx curl flock ssh-keygen; do
  command -v "$tool" >/dev/null || die "$tool is missing on the new server: install the prerequisites of the install guide"
done
[ -d "$LIVE" ] || die "no Mastodon checkout at $LIVE on the new server: follow the install guide (without mastodon:setup) or set targetLiveDir"
version=$(as_user ${q(a.mastodonUser)} git -C "$LIVE" describe --tags 2>/dev/null) || die "cannot read the Mastodon version in $LIVE on the new server"
[ "$version" = ${q(f.mastodonVersion)} ] || die "the new server has Mastodon $version but the old one runs ${f.mastodonVersion}: check out the same version (git -C $LIVE checkout ${f.mastodonVersion})"
pg_major=$(( $(psql_admin -c 'SHOW server_version_num') / 10000 ))
[ "$pg_major" -ge ${f.pgMajor} ] || die "PostgreSQL $pg_major on the new server is older than the old server's ${f.pgMajor}: install PostgreSQL ${f.pgMajor} or newer"
[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = 1 ] || die "role $ROLE does not exist on the new server: sudo -u postgres createuser --createdb $ROLE (or set targetDbRole)"
collate=$(psql_admin -c "SELECT datcollate FROM pg_database WHERE datname = 'template0'")
if [ "$collate" != ${q(f.collate)} ]; then
  log "WARNING: collation $collate here, ${f.collate} on the old server: text indexes may need tootctl maintenance fix-duplicates"
fi
pg_data=$(psql_admin -c 'SHOW data_directory')
need_db=$(( ${f.dbBytes} * 2 ))
free_db=$(df -B1 --output=avail "$pg_data" | tail -n 1)
[ "$free_db" -gt "$need_db" ] || die "only $free_db bytes free for PostgreSQL on the new server; the dump and the restored database need about $need_db"
${a.mediaOnS3 ? "# media is in object storage: no room needed for it" : `mkdir -p "$LIVE/public"
free_media=$(df -B1 --output=avail "$LIVE/public" | tail -n 1)
[ "$free_media" -gt ${f.mediaBytes} ] || die "only $free_media bytes free under $LIVE/public on the new server; the media needs ${f.mediaBytes}"`}
${a.allowNonEmptyDb ? "# dbAllowNonEmptyTarget: an existing database is renamed aside by the restore" : `# Found now, before any downtime (the restore checks again). Our own restore leaves a marker.
if [ ! -f "$WORK/db/${a.dbName}.restored" ] && db_exists ${q(a.dbName)}; then
  n=$(db_tables ${q(a.dbName)})
  [ "$n" -eq 0 ] || die "database ${a.dbName} on the new server already holds $n tables: the restore would refuse it. Rename or drop it yourself, or pulumi config set dbAllowNonEmptyTarget true (it is then renamed aside, not dropped)"
fi`}
aof=$(redis-cli -p ${f.redisPort} CONFIG GET appendonly 2>/dev/null | sed -n 2p || true)
[ "$aof" != yes ] || die "Redis on the new server has appendonly yes: it would load its AOF and ignore the copied dump.rdb; set appendonly no in /etc/redis/redis.conf"
log "the new server is ready: Mastodon $version, PostgreSQL $pg_major, role $ROLE"
`;
}

export class TargetServer extends pulumi.ComponentResource {
    /** Public IPv4 of the new server (SSH, transfers and the DNS record). */
    readonly address: pulumi.Output<string>;
    /** Public IPv6 when known (aws with IPv6, or configured). */
    readonly ipv6: pulumi.Output<string | undefined>;
    readonly server: Server;
    /** The readiness check: every data step waits for it. */
    readonly ready: command.remote.Command;
    readonly instanceId?: pulumi.Output<string>;
    readonly durations: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: TargetServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mastodon-migration:index:TargetServer", name, {}, opts);
        const steps: Record<string, command.remote.Command> = {};
        let waitFor: pulumi.Resource[] = [];

        if (args.kind === "aws") {
            if (!args.aws) throw new Error("TargetServer: kind aws needs aws settings");
            const ec2 = this.createEc2(name, args.aws, args);
            this.address = ec2.eip.publicIp;
            this.ipv6 = ec2.instance.ipv6Addresses.apply(a => a?.[0]);
            this.instanceId = ec2.instance.id;
            this.server = this.serverFor(args, this.address);
            const cloudInit = runStep(this, `${name}-cloud-init`, this.server, waitForCloudInitScript(), { dependsOn: [ec2.association] });
            steps[`${name}-cloud-init`] = cloudInit;
            waitFor = [cloudInit];
        } else {
            this.address = pulumi.output(args.ssh.host);
            this.ipv6 = pulumi.output(undefined);
            this.server = this.serverFor(args, this.address);
        }

        this.ready = runStep(this, `${name}-ready`, this.server, pulumi.output(args.facts).apply(facts => targetReadyScript({
            liveDir: args.liveDir, mastodonUser: args.mastodonUser, dbRole: args.dbRole, facts, mediaOnS3: args.mediaOnS3,
            dbName: args.dbName, allowNonEmptyDb: args.allowNonEmptyDb,
        })), { dependsOn: waitFor });
        steps[`${name}-ready`] = this.ready;
        this.durations = durationsOf(steps);
        this.registerOutputs({ address: this.address, ipv6: this.ipv6, durations: this.durations });
    }

    private serverFor(args: TargetServerArgs, host: pulumi.Input<string>): Server {
        return {
            role: "new",
            connection: connectionOf({ ...args.ssh, host }),
            shell: args.shell,
            mastodonUser: args.mastodonUser,
            liveDir: args.liveDir,
            dbRole: args.dbRole,
        };
    }

    private createEc2(name: string, cfg: AwsTargetConfig, args: TargetServerArgs) {
        const parent = { parent: this };
        const tags = { Name: `${args.domain} (mastodon-migration)`, "mastodon-migration": args.domain };
        const vpcId = cfg.subnetId
            ? aws.ec2.getSubnetOutput({ id: cfg.subnetId }, parent).vpcId
            : aws.ec2.getVpcOutput({ default: true }, parent).id;
        const group = new aws.ec2.SecurityGroup(`${name}-sg`, {
            vpcId,
            description: `Mastodon ${args.domain}: SSH from admin CIDRs, HTTP(S) from anywhere`,
            tags,
        }, parent);
        const rule = (suffix: string, r: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId">) =>
            new aws.vpc.SecurityGroupIngressRule(`${name}-${suffix}`, { securityGroupId: group.id, ...r }, parent);
        cfg.adminCidrs.forEach((cidr, i) => rule(`ssh-${i}`, { cidrIpv4: cidr, ipProtocol: "tcp", fromPort: 22, toPort: 22, description: "SSH (admin, old server)" }));
        for (const [port, label] of [[80, "http"], [443, "https"]] as const) {
            rule(label, { cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: port, toPort: port });
            rule(`${label}-v6`, { cidrIpv6: "::/0", ipProtocol: "tcp", fromPort: port, toPort: port });
        }
        new aws.vpc.SecurityGroupEgressRule(`${name}-egress`, { securityGroupId: group.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" }, parent);
        const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: cfg.publicKey, tags }, parent);
        const ami = cfg.ami ?? aws.ec2.getAmiOutput({
            mostRecent: true, owners: [UBUNTU_2404.owner], filters: [{ name: "name", values: [UBUNTU_2404.name] }],
        }, parent).id;
        const userData = pulumi.output(args.facts).apply(f => cloudInitUserData({
            version: f.mastodonVersion, mastodonUser: args.mastodonUser, dbRole: args.dbRole, liveDir: args.liveDir,
        }));
        const instance = new aws.ec2.Instance(`${name}-instance`, {
            ami,
            instanceType: cfg.instanceType,
            subnetId: cfg.subnetId,
            vpcSecurityGroupIds: [group.id],
            keyName: keyPair.keyName,
            userData,
            rootBlockDevice: { volumeSize: cfg.rootVolumeGb, volumeType: "gp3", encrypted: true },
            metadataOptions: { httpTokens: "required" },
            tags,
        }, {
            ...parent,
            // A newer AMI from the lookup, or a changed version in the user data, must never replace the server.
            ignoreChanges: cfg.ami ? ["userData"] : ["ami", "userData"],
        });
        const eip = new aws.ec2.Eip(`${name}-eip`, { domain: "vpc", tags }, parent);
        const association = new aws.ec2.EipAssociation(`${name}-eip-association`, { instanceId: instance.id, allocationId: eip.allocationId }, parent);
        return { instance, eip, association };
    }
}
