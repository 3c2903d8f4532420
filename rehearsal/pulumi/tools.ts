/**
 * The real Pulumi CLI the rehearsal drives, and the rehearsal's own PULUMI_HOME with its provider plugins.
 *  - The CLI: `$PULUMI_ROOT/bin/pulumi` when set, else what `scripts/pulumi-tools.sh` gets (an installed
 *    pulumi at the pinned version or newer, or one built from the Go modules into ~/.pulumi/versions/<v>).
 *  - PULUMI_HOME: `$REHEARSAL_PULUMI_HOME`, default ~/.cache/mastodon-migration/pulumi-home-<checkout>;
 *    nothing the rehearsal installs reaches the user's ~/.pulumi. Plugins there:
 *      command 1.2.1   the real pulumi-resource-command when pulumi-tools.sh could build it, else the stand-in
 *                      (rehearsal/providers/command);
 *      aws 7.48.0, cloudflare 6.22.1   always stand-ins (rehearsal/providers/aws, /cloudflare): the real
 *                      plugins cannot be built here and their APIs do not exist here.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PROVIDERS = path.join(REPO_ROOT, "rehearsal", "providers");
/** tsx's loader, for `node --import` of TypeScript entry points. */
export const TSX_LOADER = path.join(REPO_ROOT, "node_modules", "tsx", "dist", "loader.mjs");

/** The plugins a rehearsal needs, at the versions package.json pins. */
export const PLUGINS = [
    { name: "command", version: "1.2.1" },
    { name: "aws", version: "7.48.0" },
    { name: "cloudflare", version: "6.22.1" },
] as const;

let root: string | undefined;

/** The directory holding bin/pulumi. */
export function cliRoot(): string {
    if (root) return root;
    const given = process.env.PULUMI_ROOT;
    if (given && fs.existsSync(path.join(given, "bin", "pulumi"))) return (root = given);
    const script = path.join(REPO_ROOT, "scripts", "pulumi-tools.sh");
    root = execFileSync("bash", [script, "--print-root"], { stdio: ["ignore", "pipe", "inherit"] })
        .toString()
        .trim();
    if (!fs.existsSync(path.join(root, "bin", "pulumi"))) throw new Error(`${script} printed ${root}, which has no bin/pulumi`);
    return root;
}

/** The real pulumi-resource-command built by pulumi-tools.sh into the user's plugin cache, if any. */
function realCommandPlugin(): string | undefined {
    const home = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    const bin = path.join(home, "plugins", "resource-command-v1.2.1", "pulumi-resource-command");
    if (!fs.existsSync(bin)) return undefined;
    // Ours are shell launchers; the real one is a Go binary (ELF).
    return fs.readFileSync(bin).subarray(0, 4).toString("latin1") === "\x7fELF" ? bin : undefined;
}

/** A `#!/bin/sh` launcher that serves a stand-in provider from this checkout. */
function launcher(name: string): string {
    const entry = path.join(PROVIDERS, name, "provider.ts");
    if (!fs.existsSync(entry)) throw new Error(`no stand-in provider at ${entry}`);
    return `#!/bin/sh\n# STAND-IN ${name} provider plugin of the rehearsal (rehearsal/providers/${name}).\nexec "${process.execPath}" --import "${TSX_LOADER}" "${entry}" "$@"\n`;
}

let home: string | undefined;
const used: Record<string, string> = {};

/** The rehearsal's PULUMI_HOME, with the plugins installed (once; again when a launcher changed). */
export function pulumiHome(): string {
    if (home) return home;
    const checkout = createHash("sha256").update(REPO_ROOT).digest("hex").slice(0, 10);
    home = process.env.REHEARSAL_PULUMI_HOME ?? path.join(os.homedir(), ".cache", "mastodon-migration", `pulumi-home-${checkout}`);
    const launchers = path.join(home, "launchers");
    fs.mkdirSync(launchers, { recursive: true });
    const pulumi = path.join(cliRoot(), "bin", "pulumi");
    for (const p of PLUGINS) {
        const real = p.name === "command" ? realCommandPlugin() : undefined;
        const file = real ?? path.join(launchers, `pulumi-resource-${p.name}`);
        if (!real) {
            const text = launcher(p.name);
            if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) fs.writeFileSync(file, text, { mode: 0o755 });
        }
        const installed = path.join(home, "plugins", `resource-${p.name}-v${p.version}`, `pulumi-resource-${p.name}`);
        const same = fs.existsSync(installed) && fs.readFileSync(installed).equals(fs.readFileSync(file));
        if (!same) {
            fs.rmSync(path.dirname(installed), { recursive: true, force: true });
            execFileSync(pulumi, ["plugin", "install", "resource", p.name, p.version, "--file", file], {
                env: { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true" },
                stdio: ["ignore", "ignore", "inherit"],
            });
        }
        used[p.name] = real ? `${p.name} ${p.version} (real)` : `${p.name} ${p.version} (STAND-IN)`;
    }
    return home;
}

/**
 * A directory for PATH holding `pulumi-analyzer-policy-nodejs`: without a Node.js language host (its module
 * cannot be fetched here), the CLI runs a policy pack through that plugin instead
 * (sdk/go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer: the fallback for a runtime with no
 * language plugin). STAND-IN for the language host's RunPlugin: it runs the SDK's own
 * `@pulumi/pulumi/cmd/run-policy-pack`, resolved from the policy pack's directory (the plugin's cwd), as the
 * language host does.
 */
export function policyShimDir(): string {
    const dir = path.join(pulumiHome(), "policy-shim");
    const file = path.join(dir, "pulumi-analyzer-policy-nodejs");
    const text =
        "#!/bin/sh\n# STAND-IN for pulumi-language-nodejs's RunPlugin of a policy pack (rehearsal/pulumi/tools.ts).\n" +
        `run=$("${process.execPath}" -e "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))") || exit 1\n` +
        `exec "${process.execPath}" "$run" "$@"\n`;
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) fs.writeFileSync(file, text, { mode: 0o755 });
    return dir;
}

/** Which plugins the rehearsal's PULUMI_HOME holds: "command 1.2.1 (STAND-IN), aws 7.48.0 (STAND-IN), …". */
export function pluginsLine(): string {
    pulumiHome();
    return PLUGINS.map(p => used[p.name]).join(", ");
}
