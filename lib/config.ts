/**
 * Reading the stack config from the Pulumi runtime: the raw values go through `parseConfig` (every problem
 * reported before any resource exists), and the secrets come back wrapped with `pulumi.secret`.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "./config-keys";
import { parseConfig } from "./config-parse";
import { MigrationConfig } from "./config-types";

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
    const parsed = parseConfig(raw, secretKeys);
    return {
        ...parsed,
        source: { ...parsed.source, ssh: { ...parsed.source.ssh, privateKey: pulumi.secret(parsed.source.ssh.privateKey) } },
        target: { ...parsed.target, ssh: { ...parsed.target.ssh, privateKey: pulumi.secret(parsed.target.ssh.privateKey) } },
    };
}
