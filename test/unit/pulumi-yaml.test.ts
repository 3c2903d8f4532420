import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv/dist/2020";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, PROJECT } from "../../lib/config-keys";
import { parseConfig } from "../../lib/config-parse";

const root = join(__dirname, "..", "..");
const project = YAML.parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));

describe("Pulumi.yaml", () => {
    it("validates against the CLI's project schema", () => {
        const schema = JSON.parse(readFileSync(join(root, "vendor", "pulumi", "project.schema.json"), "utf8"));
        const ajv = new Ajv({ strict: false, allErrors: true });
        const validate = ajv.compile(schema);
        expect(validate(project), JSON.stringify(validate.errors, null, 2)).toBe(true);
        expect(project.name).toBe(PROJECT);
        expect(project.runtime.name).toBe("nodejs");
    });

    it("declares exactly the keys the program reads, with type, description and default (secrets: secret)", () => {
        expect(Object.keys(project.config)).toEqual(Object.keys(CONFIG_KEYS));
        for (const [key, spec] of Object.entries(CONFIG_KEYS) as [
            string,
            { type: string; description: string; default?: unknown; secret?: boolean },
        ][]) {
            const declared = project.config[key];
            expect(declared.type, key).toBe(spec.type);
            expect(declared.description, key).toBe(spec.description);
            if (spec.secret) {
                expect(declared.secret, key).toBe(true);
                expect(declared.default, key).toBeUndefined();
            } else {
                expect(declared.default, key).toEqual(spec.default);
            }
        }
    });

    it.each(["prod", "staging"])("Pulumi.%s.yaml is a valid stack for the program (secrets set separately)", stack => {
        const file = YAML.parse(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8"));
        const raw: Record<string, string> = {};
        for (const [k, v] of Object.entries(file.config as Record<string, unknown>)) {
            if (!k.startsWith(`${PROJECT}:`)) continue;
            raw[k.slice(PROJECT.length + 1)] = Array.isArray(v) ? JSON.stringify(v) : String(v);
        }
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----";
        const cfg = parseConfig({ ...raw, sourceSshKey: key, targetSshKey: key }, new Set(["sourceSshKey", "targetSshKey"]));
        expect(cfg.domain).toBe("mastodon.example.social");
        if (stack === "staging") expect(cfg.dns).toBeUndefined();
        else expect(cfg.target.kind).toBe("aws");
    });
});

describe("the language host starts the program fast", () => {
    it("Pulumi.yaml names a tsconfig with noCheck, read as the SDK reads it (ts-node then only transpiles)", async () => {
        const { parse } = await import("yaml");
        const { readFileSync } = await import("node:fs");
        const { join } = await import("node:path");
        const root = join(__dirname, "..", "..");
        const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { runtime: { options: Record<string, unknown> } };
        const tsconfig = String(project.runtime.options.tsconfig);
        // @pulumi/pulumi/cmd/run: transpileOnly = PULUMI_NODEJS_TRANSPILE_ONLY, else the tsconfig's compilerOptions.noCheck.
        const tsutils = require("@pulumi/pulumi/tsutils") as { loadTypeScriptCompilerOptions(path: string): Record<string, unknown> };
        expect(tsutils.loadTypeScriptCompilerOptions(join(root, tsconfig)).noCheck).toBe(true);
        // The type check itself is npm test's: the project's tsconfig.json checks.
        expect(tsutils.loadTypeScriptCompilerOptions(join(root, "tsconfig.json")).noCheck).toBeUndefined();
    });
});
