/**
 * TEST STAND-IN for `pulumi up` (not Pulumi): run a program under the rehearsal engine.
 *
 *   npx tsx rehearsal/engine/cli.ts --project-dir . --stack X --config-file Pulumi.X.yaml --state S.json \
 *     [--project mastodon-migration] [--aws-address A] [--log L] [--secret-key phase ...]
 *
 * The config file is shaped like Pulumi.<stack>.yaml (`config:` map). `{secure: ...}` values are not
 * supported: pass the plain throwaway value and mark it with --secret-key instead.
 */
import * as fs from "node:fs";
import { parse } from "yaml";
import { up } from "./runner";

interface CliArgs {
    projectDir: string;
    project: string;
    stack: string;
    configFile?: string;
    statePath: string;
    awsAddress?: string;
    logPath?: string;
    secretKeys: string[];
}

function parseArgs(argv: string[]): CliArgs {
    const args: CliArgs = { projectDir: ".", project: "mastodon-migration", stack: "", statePath: "", secretKeys: [] };
    for (let i = 0; i < argv.length; i++) {
        const value = argv[i + 1];
        if (value === undefined) throw new Error(`missing value for ${argv[i]}`);
        switch (argv[i]) {
            case "--project-dir":
                args.projectDir = value;
                break;
            case "--project":
                args.project = value;
                break;
            case "--stack":
                args.stack = value;
                break;
            case "--config-file":
                args.configFile = value;
                break;
            case "--state":
                args.statePath = value;
                break;
            case "--aws-address":
                args.awsAddress = value;
                break;
            case "--log":
                args.logPath = value;
                break;
            case "--secret-key":
                args.secretKeys.push(value);
                break;
            default:
                throw new Error(`unknown option ${argv[i]}`);
        }
        i++;
    }
    if (!args.stack || !args.statePath) throw new Error("--stack and --state are required");
    return args;
}

const qualify = (project: string, key: string) => (key.includes(":") ? key : `${project}:${key}`);

/** Pulumi.<stack>.yaml `config:` values: strings stay, everything else becomes JSON. */
export function readConfigFile(file: string, project: string): Record<string, string> {
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (typeof value === "object" && value !== null && "secure" in value) {
            throw new Error(`${key}: {secure: ...} is not supported by the stand-in; use a plain value and --secret-key`);
        }
        config[qualify(project, key)] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return config;
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const result = await up({
        projectDir: args.projectDir,
        project: args.project,
        stack: args.stack,
        config: args.configFile ? readConfigFile(args.configFile, args.project) : {},
        secretKeys: args.secretKeys.map(k => qualify(args.project, k)),
        statePath: args.statePath,
        logPath: args.logPath,
        echo: true,
        awsAddress: args.awsAddress,
    });
    console.log(`\nTEST STAND-IN engine: ${result.ok ? "succeeded" : "FAILED"}`);
    for (const e of result.events)
        console.log(`  ${e.ok ? "ok  " : "FAIL"} ${e.op.padEnd(14)} ${e.name.padEnd(24)} ${e.seconds.toFixed(1)}s`);
    console.log(`outputs: ${JSON.stringify(result.outputs, null, 2)}`);
    process.exitCode = result.ok ? 0 : 1;
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(err instanceof Error ? err.message : err);
        process.exitCode = 2;
    });
}
