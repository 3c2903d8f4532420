/**
 * Reading the stack config from the Pulumi runtime: the raw values go through `parseConfig` (every problem
 * reported before any resource exists), and the secrets come back wrapped with `pulumi.secret`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { PROJECT } from "./config-keys";
import { parseConfig } from "./config-parse";
import { MigrationConfig } from "./config-types";

/** `<workDir>/<stack>`: the directory of one stack on both servers. */
export function stackWorkDir(workDir: string, stack: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack)) throw new Error(`stack name ${JSON.stringify(stack)} cannot name a directory`);
    return `${workDir.replace(/\/+$/, "")}/${stack}`;
}

/**
 * Read the stack config from the Pulumi runtime and validate it. Secret values (the SSH keys) are
 * wrapped with `pulumi.secret` so they reach state only encrypted.
 */
export function loadConfig(): MigrationConfig {
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    const secretKeys = new Set<string>();
    // The runtime knows which keys were set with --secret; this accessor is internal to the SDK.
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = value;
        if (isSecret?.(key)) secretKeys.add(name);
    }
    const parsed = parseConfig(raw, secretKeys, {
        awsRegion: aws.config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    });
    // One directory per stack: staging and prod moving from the same source server never share a dump, a
    // lock or the migration key (one stack's complete would remove the other's key).
    const workDir = stackWorkDir(parsed.source.workDir, pulumi.getStack());
    return {
        ...parsed,
        source: { ...parsed.source, workDir, ssh: { ...parsed.source.ssh, privateKey: pulumi.secret(parsed.source.ssh.privateKey) } },
        target: { ...parsed.target, workDir, ssh: { ...parsed.target.ssh, privateKey: pulumi.secret(parsed.target.ssh.privateKey) } },
    };
}
