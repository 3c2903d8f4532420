import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        // The rehearsal files share the one sandbox of this machine: never run two files at once.
        fileParallelism: false,
        projects: [
            {
                test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000 },
            },
            {
                // Real hosts, real daemons: long timeouts.
                test: { name: "rehearsal", include: ["test/rehearsal/**/*.test.ts"], testTimeout: 900_000, hookTimeout: 900_000 },
            },
        ],
    },
});
