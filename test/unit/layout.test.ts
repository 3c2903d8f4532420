/**
 * The shape of the code that the README's "How the code is organised" promises: step scripts are bash files,
 * not TypeScript strings; components depend on `lib/` only, never on the config or on each other.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..");
const components = readdirSync(join(root, "components"))
    .filter(f => f.endsWith(".ts"))
    .map(f => join(root, "components", f));
const libs = readdirSync(join(root, "lib"))
    .filter(f => f.endsWith(".ts"))
    .map(f => join(root, "lib", f));
const program = [join(root, "index.ts"), join(root, "close.ts"), ...components, ...libs];

const parse = (file: string) => ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);

/** Template literals longer than `maxLines` lines in a source text. */
export function longTemplates(file: string, text: string, maxLines: number): string[] {
    const found: string[] = [];
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node) => {
        if (ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
            const lines = node.getText(source).split("\n").length;
            if (lines > maxLines)
                found.push(`${relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} (${lines} lines)`);
            return;
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

function imports(file: string): string[] {
    return parse(file)
        .statements.filter(ts.isImportDeclaration)
        .map(d => (d.moduleSpecifier as ts.StringLiteral).text);
}

/** Properties of the interfaces in a file (those whose name matches `which`) that have no TSDoc comment. */
export function undocumented(file: string, which: RegExp): string[] {
    const source = parse(file);
    const missing: string[] = [];
    const visit = (node: ts.Node, owner: string) => {
        if (ts.isInterfaceDeclaration(node)) owner = node.name.text;
        if (ts.isPropertySignature(node) && which.test(owner) && ts.getJSDocCommentsAndTags(node).length === 0) {
            missing.push(`${relative(root, file)}: ${owner}.${node.name.getText(source)}`);
        }
        ts.forEachChild(node, child => visit(child, owner));
    };
    visit(source, "");
    return missing;
}

describe("layout", () => {
    it("every component Args field and every config interface field has TSDoc", () => {
        const missing = [
            ...components.flatMap(f => undocumented(f, /Args$/)),
            ...undocumented(join(root, "lib", "config-types.ts"), /./),
            ...undocumented(join(root, "lib", "ec2-settings.ts"), /./),
            ...undocumented(join(root, "lib", "server.ts"), /./),
            ...undocumented(join(root, "lib", "facts.ts"), /./),
        ];
        expect(missing).toEqual([]);
    });

    it("no script over 5 lines inside a TypeScript string in the program", () => {
        expect(program.flatMap(f => longTemplates(f, readFileSync(f, "utf8"), 5))).toEqual([]);
    });

    it("the template check finds a long script (it can fail)", () => {
        const text = "const s = `\nset -e\nlog a\nlog b\nlog c\nlog d\n`;\n";
        expect(longTemplates(join(root, "x.ts"), text, 5)).toEqual(["x.ts:1 (7 lines)"]);
    });

    it("components import only from lib/ (never the config, never each other) and the SDKs", () => {
        const bad = components.flatMap(f =>
            imports(f)
                .filter(m => m.startsWith(".") && (!m.startsWith("../lib/") || m.startsWith("../lib/config")))
                .map(m => `${relative(root, f)} imports ${m}`),
        );
        expect(bad).toEqual([]);
    });

    it("every component file has a script folder or none, and every step script beside it is used by it", () => {
        for (const f of components) {
            const name = relative(join(root, "components"), f).replace(/\.ts$/, "");
            let scripts: string[] = [];
            try {
                scripts = readdirSync(join(root, "components", name)).filter(s => s.endsWith(".sh"));
            } catch {
                continue;
            }
            const text = readFileSync(f, "utf8");
            for (const s of scripts) expect(text, `${name}.ts uses ${s}`).toContain(`"${s}"`);
        }
    });
});
