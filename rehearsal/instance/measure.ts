/**
 * Measures generation, load and fingerprint time and the resulting DB size for each size, against
 * throwaway local PostgreSQL + Redis. Usage: `npx tsx rehearsal/instance/measure.ts [tiny|default|large ...]`.
 */
import { rmSync } from "node:fs";
import { SizeName, generateInstance } from "./generate";
import { psqlAsPostgres, resolveTarget, runChecked } from "./host";
import { loadInstance } from "./load";
import { startLocalServices } from "./local-services";
import { fingerprint, totals } from "./parity";

function since(start: number): string {
    return `${((Date.now() - start) / 1000).toFixed(1)}s`;
}

async function measure(size: SizeName): Promise<void> {
    const svc = await startLocalServices({ pgPort: 55439 });
    let dir: string | undefined;
    try {
        let t = Date.now();
        const bundle = generateInstance({ size, seed: 1, domain: "source.example" });
        dir = bundle.dir;
        const generate = since(t);
        t = Date.now();
        const report = loadInstance(bundle, svc.run, svc.target);
        const load = since(t);
        t = Date.now();
        const fp = fingerprint(svc.run, svc.target);
        const fpTime = since(t);
        const target = resolveTarget(svc.target);
        const dbSize = runChecked(
            svc.run,
            "db size",
            psqlAsPostgres(target, target.dbName, `-At -c "SELECT pg_size_pretty(pg_database_size(current_database()))"`),
        ).stdout.trim();
        const s = bundle.summary;
        const tt = totals(fp);
        console.log(
            `${size}: generate ${generate}, load ${load} ${JSON.stringify(report.timings)}, fingerprint ${fpTime}; ` +
                `db ${dbSize} (${tt.rows} rows; sql ${(s.sqlBytes / 1048576).toFixed(1)} MiB), media ${s.mediaFiles} files ${(s.mediaBytes / 1048576).toFixed(1)} MiB, redis ${s.redisKeys} keys`,
        );
    } finally {
        await svc.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    const sizes = process.argv.slice(2) as SizeName[];
    for (const size of sizes.length > 0 ? sizes : (["tiny", "default"] as SizeName[])) await measure(size);
}

main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
