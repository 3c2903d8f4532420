/**
 * Writes Pulumi.yaml from the key table in lib/config.ts (CONFIG_KEYS), the single source of truth for
 * config keys. Run after adding or changing a key: `npm run gen:pulumi-yaml`. A unit test fails when the
 * two disagree.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { CONFIG_KEYS, PROJECT } from "../lib/config-keys";

const config: Record<string, unknown> = {};
for (const [key, spec] of Object.entries(CONFIG_KEYS) as [
    string,
    { type: string; description: string; default?: unknown; secret?: boolean },
][]) {
    config[key] = {
        type: spec.type,
        description: spec.description,
        ...(spec.type === "array" ? { items: { type: "string" } } : {}),
        ...(spec.secret ? { secret: true } : { default: spec.default }),
    };
}
const project = {
    name: PROJECT,
    runtime: { name: "nodejs", options: { typescript: true, packagemanager: "npm" } },
    description: "Move a running Mastodon instance to a new server as a phased Pulumi program (prepare, cutover, complete).",
    config,
};
writeFileSync(
    join(__dirname, "..", "Pulumi.yaml"),
    "# Project file. The config keys are generated from lib/config.ts (CONFIG_KEYS) by `npm run gen:pulumi-yaml`.\n" +
        YAML.stringify(project, { lineWidth: 0 }),
);
