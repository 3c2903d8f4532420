/**
 * scripts/pulumi-tools.sh decides, without building anything here: a CLI at the pinned version or newer is
 * used ($PULUMI_ROOT, then the script's own install root, then PATH), an older one is not; without one it builds
 * from the Go modules into $PULUMI_HOME/versions/<v>/bin (a fake go here), reports a module the proxy refuses in
 * one line and goes on; when the build fails it falls back to the npm launcher; with nothing it fails with one
 * error that names Go and the Pulumi CLI. The pins agree (tools/pulumi/go.mod, package.json) and the script
 * passes shellcheck.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..");
const script = join(root, "scripts", "pulumi-tools.sh");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
const pin = pkg.dependencies["@pulumi/pulumi"];

let dir: string;
let home: string;
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pulumi-tools-"));
    home = join(dir, "home");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function executable(path: string, text: string): string {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
    chmodSync(path, 0o755);
    return path;
}

/** A fake `pulumi` that prints `version`, in `<dir>/<name>/bin`. Returns its root. */
function fakePulumi(name: string, version: string): string {
    executable(join(dir, name, "bin", "pulumi"), `#!/bin/sh\necho ${version}\n`);
    return join(dir, name);
}

/** A fake go: `env` answers Go 1.26.8; `build -o X` writes a fake CLI at the pin (or fails); `get` and
 * `install` are refused as the module proxy refuses them. It logs its arguments to go.log. */
function fakeGo(opts: { failBuild?: boolean } = {}): string {
    const build = opts.failBuild
        ? `echo "fake go: build failed" >&2; exit 1`
        : `printf '#!/bin/sh\\necho v${pin}\\n' > "$out"; chmod +x "$out"`;
    return executable(
        join(dir, "go", "bin", "go"),
        `#!/bin/sh
echo "$*" >> "${join(dir, "go.log")}"
case "$1" in
  env) echo go1.26.8; echo local ;;
  mod) ;;
  build) while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done; ${build} ;;
  *) echo "go: reading https://proxy.example/$2: 403 Forbidden" >&2; echo "	server response: This module version is not available." >&2; exit 1 ;;
esac
`,
    );
}

/** A fake npx that does what the npm launcher does: puts the CLI of $PULUMI_VERSION in $PULUMI_HOME/versions. */
function fakeNpx(): string {
    return executable(
        join(dir, "npx", "bin", "npx"),
        `#!/bin/sh
echo "PULUMI_VERSION=$PULUMI_VERSION $*" >> "${join(dir, "npx.log")}"
mkdir -p "$PULUMI_HOME/versions/$PULUMI_VERSION/bin"
printf '#!/bin/sh\\necho v%s\\n' "$PULUMI_VERSION" > "$PULUMI_HOME/versions/$PULUMI_VERSION/bin/pulumi"
chmod +x "$PULUMI_HOME/versions/$PULUMI_VERSION/bin/pulumi"
`,
    );
}

function run(args: string[], env: { path?: string[]; go?: string; npx?: string; root?: string } = {}) {
    const r = spawnSync("bash", [script, ...args], {
        encoding: "utf8",
        env: {
            HOME: join(dir, "user"),
            PULUMI_HOME: home,
            PATH: [...(env.path ?? []), "/usr/bin", "/bin"].join(":"),
            PULUMI_TOOLS_GO: env.go ?? "/nonexistent/go",
            PULUMI_TOOLS_NPX: env.npx ?? "/nonexistent/npx",
            ...(env.root ? { PULUMI_ROOT: env.root } : {}),
        },
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

describe("pulumi-tools.sh --check (the decision, nothing built)", () => {
    it("uses a pulumi on PATH at a newer version, and --print-root prints only its root", () => {
        const r = fakePulumi("newer", "v3.249.0");
        const c = run(["--check"], { path: [join(r, "bin")] });
        expect(c.status).toBe(0);
        expect(c.out).toContain(`== pulumi-tools: present: ${r}/bin/pulumi (v3.249.0)`);
        const p = run(["--check", "--print-root"], { path: [join(r, "bin")] });
        expect(p.status).toBe(0);
        expect(p.stdout).toBe(`${r}\n`);
        expect(p.stderr).toContain("== pulumi-tools: present:");
    });

    it("does not use an older one: with Go it would build, into $PULUMI_HOME/versions/<v>/bin", () => {
        const r = fakePulumi("older", "v3.100.0");
        const c = run(["--check"], { path: [join(r, "bin")], go: fakeGo() });
        expect(c.out).toContain(`${r}/bin/pulumi is v3.100.0, older than ${pin}: not used`);
        expect(c.out).toContain(`would build pulumi v${pin} with Go 1.26.8`);
        expect(c.out).toContain(`${home}/versions/${pin}/bin`);
        expect(c.status).toBe(3);
        expect(existsSync(home)).toBe(false);
    });

    it("without Go it would run the npm launcher, and says that it downloads", () => {
        const c = run(["--check"], { npx: fakeNpx() });
        expect(c.status).toBe(3);
        expect(c.out).toMatch(/would run the npm launcher pulumi@[\d.]+ .*downloads/);
        expect(existsSync(join(dir, "npx.log"))).toBe(false);
    });

    it("no Go, no CLI, no npx: one clear error naming Go and the Pulumi CLI", () => {
        const r = fakePulumi("older", "v3.100.0");
        const c = run(["--check"], { path: [join(r, "bin")] });
        expect(c.status).toBe(1);
        expect(c.stderr).toMatch(
            /no Pulumi CLI >= 3\.248\.0.*Install Go >= [\d.]+ .*a Pulumi CLI >= 3\.248\.0 \(https:\/\/www\.pulumi\.com\/docs\/install\/\)/,
        );
    });

    it("prefers $PULUMI_ROOT, then its own install root, then PATH", () => {
        const onPath = fakePulumi("path", "v3.260.0");
        const own = executable(join(home, "versions", pin, "bin", "pulumi"), `#!/bin/sh\necho v${pin}\n`);
        expect(run(["--check"], { path: [join(onPath, "bin")] }).out).toContain(`present: ${own} (v${pin})`);
        const explicit = fakePulumi("explicit", "v3.250.0");
        expect(run(["--check"], { path: [join(onPath, "bin")], root: explicit }).out).toContain(`present: ${explicit}/bin/pulumi`);
        const tooOld = fakePulumi("old-root", "v3.200.0");
        const c = run(["--check"], { path: [join(onPath, "bin")], root: tooOld });
        expect(c.out).toContain("is v3.200.0, older than");
        expect(c.out).toContain(`present: ${own}`);
    });
});

describe("pulumi-tools.sh (a fake go and npx: the order and the layout)", () => {
    it("builds the CLI with the version stamped, reports each refused module in one line, and goes on", () => {
        const c = run([], { go: fakeGo(), npx: fakeNpx() });
        expect(c.status).toBe(0);
        const cli = join(home, "versions", pin, "bin", "pulumi");
        expect(existsSync(cli)).toBe(true);
        expect(c.out).toMatch(new RegExp(`built ${cli}: took \\d+ s`));
        const goLog = readFileSync(join(dir, "go.log"), "utf8");
        expect(goLog).toContain(`build -mod=mod -ldflags -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${pin}`);
        expect(goLog).toContain("github.com/pulumi/pulumi/pkg/v3/cmd/pulumi");
        expect(goLog).toMatch(
            /get -tool github.com\/pulumi\/pulumi\/sdk\/nodejs\/cmd\/pulumi-language-nodejs\/v3@v3\.0\.0-\d+-[0-9a-f]{12}/,
        );
        expect(goLog).toMatch(/install -ldflags -X github.com\/pulumi\/pulumi-command\/provider\/pkg\/version.Version=1\.2\.1 /);
        const refused = c.out.split("\n").filter(l => l.includes("refused"));
        expect(refused).toHaveLength(2);
        expect(refused[0]).toMatch(
            /refused github.com\/pulumi\/pulumi\/sdk\/nodejs\/cmd\/pulumi-language-nodejs\/v3@.*inline programs need no language host/,
        );
        expect(refused[1]).toMatch(/refused github.com\/pulumi\/pulumi-command\/provider@.*stand-in command plugin/);
        expect(c.out).toContain(`== pulumi-tools: CLI: ${cli}`);
        expect(c.out).toContain(`== pulumi-tools: pulumi version: v${pin}`);
        expect(existsSync(join(dir, "npx.log"))).toBe(false);

        // Idempotent: the second run builds nothing and prints only the root with --print-root.
        writeFileSync(join(dir, "go.log"), "");
        const again = run(["--print-root"], { go: fakeGo(), npx: fakeNpx() });
        expect(again.status).toBe(0);
        expect(again.stdout).toBe(`${join(home, "versions", pin)}\n`);
        expect(readFileSync(join(dir, "go.log"), "utf8")).not.toMatch(/^build /m);
    });

    it("falls back to the npm launcher when the build fails, with the pinned version, into the same directory", () => {
        const c = run([], { go: fakeGo({ failBuild: true }), npx: fakeNpx() });
        expect(c.status).toBe(0);
        expect(c.out).toContain("the build of pulumi");
        expect(c.out).toMatch(/npm launcher .* DOWNLOADS pulumi/);
        expect(readFileSync(join(dir, "npx.log"), "utf8")).toMatch(new RegExp(`^PULUMI_VERSION=${pin} --yes pulumi@[\\d.]+ version$`, "m"));
        expect(c.out).toContain(`CLI: ${join(home, "versions", pin, "bin", "pulumi")}`);
    });

    it("fails with the clear error when neither works", () => {
        const c = run([], { go: fakeGo({ failBuild: true }) });
        expect(c.status).toBe(1);
        expect(c.stderr).toContain("Install Go >= ");
        expect(c.stderr).toContain("https://www.pulumi.com/docs/install/");
    });
});

describe("pulumi-tools: the pins and the script", () => {
    it("tools/pulumi/go.mod builds the version of @pulumi/pulumi in package.json, as a tool", () => {
        const mod = readFileSync(join(root, "tools", "pulumi", "go.mod"), "utf8");
        expect(mod).toContain(`\tgithub.com/pulumi/pulumi/pkg/v3 v${pin} `);
        expect(mod).toContain(`\tgithub.com/pulumi/pulumi/sdk/v3 v${pin} `);
        expect(mod).toMatch(/^tool github.com\/pulumi\/pulumi\/pkg\/v3\/cmd\/pulumi$/m);
        expect(mod).not.toContain("pulumi-language-nodejs");
    });

    it("passes shellcheck (style level and above)", () => {
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", script], { encoding: "utf8" });
        if (r.error) throw r.error;
        expect(r.stdout + r.stderr).toBe("");
    });
});
