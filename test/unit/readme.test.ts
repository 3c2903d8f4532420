import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS } from "../../lib/config-keys";

const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
const ci = readFileSync(join(__dirname, "..", "..", ".ci", "run"), "utf8");

describe("README", () => {
    it("opens with the rehearsal and the test command, and CI runs that test command", () => {
        const firstBlock = readme
            .match(/```bash\n([\s\S]*?)```/)![1]
            .split("\n")
            .filter(Boolean);
        expect(firstBlock[0]).toMatch(/^npm ci && npm run rehearse\b/);
        expect(firstBlock[1]).toMatch(/^npm ci && npm test\b/);
        expect(ci).toMatch(/^npm ci\b/m);
        expect(ci).toMatch(/^npm test$/m);
    });

    it("documents every config key", () => {
        for (const key of Object.keys(CONFIG_KEYS)) expect(readme).toContain(`| \`${key}\` |`);
    });
});
