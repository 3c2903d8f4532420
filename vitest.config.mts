import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        projects: [
            {
                test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000 },
            },
            {
                // Real hosts, real daemons: one file at a time, long timeouts.
                test: {
                    name: "rehearsal", include: ["test/rehearsal/**/*.test.ts"], testTimeout: 900_000, hookTimeout: 900_000,
                    fileParallelism: false, sequence: { concurrent: false },
                },
            },
        ],
    },
});
