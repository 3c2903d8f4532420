/**
 * How components declare a step: a `command.remote.Command` whose create (and delete) scripts come from
 * pure functions, wrapped in the common preamble of `lib/shell.ts`, with provider options chosen once.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { parseDuration, remoteCommand, ShellHost, stepScript } from "./shell";

/** A Mastodon server as the components see it. */
export interface Server {
    /** Which side of the move: used in descriptions only. */
    role: "old" | "new";
    /** SSH connection from the admin machine (Pulumi); the private key is a secret Output. */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    shell: ShellHost;
    mastodonUser: string;
    liveDir: string;
    /** PostgreSQL role Mastodon uses on this server. */
    dbRole: string;
}

export interface StepOptions {
    /** Bash body run when the step leaves the program (rollback) or is destroyed. */
    delete?: pulumi.Input<string>;
    /** A change of any trigger replaces the step: its create runs again. */
    triggers?: pulumi.Input<unknown>[];
    /** Steps (or other resources) that must have completed before this one starts. */
    dependsOn?: pulumi.Resource[];
    /** Keep the step's delete from running on `pulumi destroy` (used once the move is complete). */
    retainOnDelete?: boolean;
}

/**
 * Declare one step on `server`. `name` is the Pulumi resource name and also the step's lock and log
 * name on the host, so it must be stable (derive it from the component name).
 */
export function runStep(parent: pulumi.Resource, name: string, server: Server, body: pulumi.Input<string>,
    options: StepOptions = {}): command.remote.Command {
    const wrap = (stepName: string, b: string) => remoteCommand(stepScript(stepName, server.shell, b), server.shell);
    return new command.remote.Command(name, {
        connection: server.connection,
        create: pulumi.output(body).apply(b => wrap(name, b)),
        delete: options.delete === undefined ? undefined : pulumi.output(options.delete).apply(b => wrap(`${name}-undo`, b)),
        triggers: options.triggers,
        // Never feed a previous (possibly large) stdout back into the environment.
        addPreviousOutputInEnv: false,
    }, { parent, dependsOn: options.dependsOn, retainOnDelete: options.retainOnDelete });
}

/** Step name → seconds, read from the duration marker each step prints last. */
export function durationsOf(steps: Record<string, command.remote.Command>): pulumi.Output<Record<string, number>> {
    const names = Object.keys(steps);
    return pulumi.all(names.map(n => steps[n].stdout)).apply(outs => {
        const result: Record<string, number> = {};
        outs.forEach((out, i) => {
            const seconds = parseDuration(out);
            if (seconds !== undefined) result[names[i]] = seconds;
        });
        return result;
    });
}

/** Connection arguments for `command.remote` from the config's SSH access. */
export function connectionOf(ssh: { host: pulumi.Input<string>; port: number; user: string; privateKey: pulumi.Input<string>; hostKey?: string }):
    pulumi.Output<command.types.input.remote.ConnectionArgs> {
    return pulumi.secret(pulumi.output({
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        privateKey: ssh.privateKey,
        hostKey: ssh.hostKey,
        // Cloud hosts take a while to accept SSH after boot; retry dials for about 5 minutes.
        dialErrorLimit: 20,
        perDialTimeout: 15,
    }));
}
