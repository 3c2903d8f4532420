/**
 * Configuration files, server to server (never through Pulumi): `.env.production` (DB_USER rewritten when
 * the target's role differs), the nginx site with its TLS certificate files, the systemd units
 * (`daemon-reload` after), and `/etc/pgbouncer` when present. Done in prepare, outside the downtime; a
 * changed input (site path, role, directory) runs a step again.
 */
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "config-files");

export interface ConfigFilesArgs {
    /** The source server: the copies run there. */
    source: Server;
    /** The target server, reached with the migration key. */
    target: Server;
    /** nginx site file (same path on both servers). */
    nginxSite: string;
    /** Directory of our own on the target for the certificate files. */
    tlsDir: string;
    /**
     * The cutover's refresh (after Mastodon stopped on the source): also carry the Mastodon user's crontab,
     * which the stop set aside on the source (`config-files/crontab.sh`).
     */
    crontab?: boolean;
}

export const copyEnvScript = ({ source, target }: { source: Server; target: Server }): StepScript =>
    script("env.sh", {
        SOURCE_LIVE: source.liveDir,
        TARGET_LIVE: target.liveDir,
        TARGET_USER: target.mastodonUser,
        SOURCE_ROLE: source.dbRole,
        TARGET_ROLE: target.dbRole,
    });

export const copyNginxScript = (a: { site: string; tlsDir: string }): StepScript => script("nginx.sh", { SITE: a.site, TLS_DIR: a.tlsDir });

export const copyUnitsScript = ({ source, target }: { source: Server; target: Server }): StepScript =>
    script("systemd.sh", {
        SOURCE_USER: source.mastodonUser,
        TARGET_USER: target.mastodonUser,
        SOURCE_LIVE: source.liveDir,
        TARGET_LIVE: target.liveDir,
    });

export const carryCrontabScript = ({ source, target }: { source: Server; target: Server }): StepScript =>
    script("crontab.sh", {
        TARGET_USER: target.mastodonUser,
        SOURCE_LIVE: source.liveDir,
        TARGET_LIVE: target.liveDir,
        TARGET_WORK: target.workDir,
    });

export class ConfigFiles extends StepGroup {
    readonly env: command.remote.Command;
    readonly nginx: command.remote.Command;
    readonly units: command.remote.Command;
    readonly pgbouncer: command.remote.Command;
    /** The crontab carried to the target (the cutover's refresh only). */
    readonly crontab?: command.remote.Command;

    constructor(name: string, args: ConfigFilesArgs, opts?: StepGroupOptions) {
        super("ConfigFiles", name, opts);
        const copy = (suffix: string, s: StepScript) => this.step(suffix, args.source, s, { peer: args.target });
        this.env = copy("env", copyEnvScript(args));
        this.nginx = copy("nginx", copyNginxScript({ site: args.nginxSite, tlsDir: args.tlsDir }));
        this.units = copy("systemd", copyUnitsScript(args));
        this.pgbouncer = copy("pgbouncer", script("pgbouncer.sh", {}));
        if (args.crontab) this.crontab = copy("crontab", carryCrontabScript(args));
        this.done();
    }
}
