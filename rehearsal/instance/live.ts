/**
 * The live side of parity: the instance keeps changing while its stand-in app runs, so a move is checked
 * against the source server AS IT WAS WHEN ITS SERVICES STOPPED, and what the target server's own app wrote
 * after its start (its journal, `log/writes.log`) is told apart from what the move carried.
 *
 * - `readJournal`: the writes of one host's app (rows, media files, Redis keys, jobs run and enqueued).
 * - `sidekiqJobs`: every job id waiting in Redis (`queue:*`, `schedule`, `retry`, `dead`).
 * - `withStoppedRedis`: the source's Redis is stopped after the cutover; its `dump.rdb` (the state at stop)
 *   is read by a throwaway redis-server on another port, never by restarting the source's own.
 * - `withRedisSnapshot`: the target's running Redis is read the same way from a BGSAVE, so the long Lua
 *   script of the fingerprint never blocks the app that keeps writing there.
 * - `accountJobs`: every job the source held at stop is either still waiting on the target or was run
 *   there, and every job waiting on the target was either carried or enqueued there: none lost or doubled.
 */
import { Run, runChecked, shQuote } from "./host";

export interface Journal {
    rows: Record<string, string[]>;
    files: Set<string>;
    keys: Set<string>;
    jobsRun: Set<string>;
    enqueued: Set<string>;
}

const LIVE = "/home/mastodon/live";

export function parseJournal(text: string): Journal {
    const j: Journal = { rows: {}, files: new Set(), keys: new Set(), jobsRun: new Set(), enqueued: new Set() };
    for (const line of text.split("\n").filter(Boolean)) {
        const space = line.indexOf(" ");
        const kind = line.slice(0, space);
        const rest = line.slice(space + 1);
        if (kind === "row") {
            const [table = "", id = ""] = rest.split(" ");
            (j.rows[table] ??= []).push(id);
        } else if (kind === "file") j.files.add(rest);
        else if (kind === "key") j.keys.add(rest);
        else if (kind === "job") j.jobsRun.add(rest);
        else if (kind === "enqueued") j.enqueued.add(rest);
        else throw new Error(`unexpected journal line: ${line.slice(0, 200)}`);
    }
    return j;
}

/** The journal of the app on one host (empty when the app never ran there). */
export function readJournal(run: Run, liveDir = LIVE): Journal {
    const r = runChecked(run, "read journal", `cat ${shQuote(`${liveDir}/log/writes.log`)} 2>/dev/null || true`);
    return parseJournal(r.stdout);
}

const JOBS_LUA = String.raw`
local out = {}
local function add(key, job) out[#out + 1] = key .. ' ' .. (string.match(job, '"jid":"([^"]+)"') or ('NOJID:' .. redis.sha1hex(job))) end
for _, k in ipairs(redis.call('KEYS', 'queue:*')) do
  if redis.call('TYPE', k)['ok'] == 'list' then for _, j in ipairs(redis.call('LRANGE', k, 0, -1)) do add(k, j) end end
end
for _, k in ipairs({'schedule', 'retry', 'dead'}) do
  if redis.call('TYPE', k)['ok'] == 'zset' then for _, j in ipairs(redis.call('ZRANGE', k, 0, -1)) do add(k, j) end end
end
return table.concat(out, '\n')
`;

/** `where jid` for every job waiting in Redis. */
export function sidekiqJobs(run: Run, port = 6379): { where: string; jid: string }[] {
    const r = runChecked(run, "list sidekiq jobs", `redis-cli -p ${port} --raw EVAL ${shQuote(JOBS_LUA)} 0`);
    return r.stdout
        .split("\n")
        .filter(Boolean)
        .map(line => {
            const [where = "", jid = ""] = line.split(" ");
            return { where, jid };
        });
}

const SCRATCH_PORT = 6391;

/**
 * Runs `fn(port)` against the source's Redis as it was saved when it stopped: the live one when it still
 * runs, otherwise a throwaway redis-server (another port, a copy of dump.rdb, no saving) that is shut down after.
 */
export function withStoppedRedis<T>(run: Run, fn: (port: number) => T): T {
    if (run("redis-cli -p 6379 PING").stdout.trim() === "PONG") return fn(6379);
    return withScratchRedis(run, fn);
}

/**
 * Runs `fn(port)` against a point-in-time snapshot of a host's running Redis (BGSAVE, then a throwaway
 * redis-server on its dump.rdb), never against the live one: the fingerprint reads every key in one Lua
 * script, which at --size large blocks Redis for seconds, and the app's clients then get BUSY replies (the
 * stand-in Sidekiq lost a job it had taken from `retry` when its push was refused). Keys the app writes after
 * the snapshot are in its journal, read after this.
 */
export function withRedisSnapshot<T>(run: Run, fn: (port: number) => T): T {
    runChecked(
        run,
        "redis snapshot",
        [
            "set -euo pipefail",
            'cli() { redis-cli -e -p 6379 "$@"; }',
            "saving() { cli INFO persistence | tr -d '\\r' | grep -qx 'rdb_bgsave_in_progress:1'; }",
            "before=$(cli LASTSAVE)",
            // LASTSAVE counts seconds: ours must end in a later second than the last save.
            'while [ "$(date +%s)" -le "$before" ]; do sleep 0.2; done',
            // A save of Redis's own (its save points) may be running: BGSAVE is refused until it ends.
            "started=",
            "for _ in $(seq 1 600); do",
            "  if ! saving && cli BGSAVE >/dev/null 2>&1; then started=1 && break; fi",
            "  sleep 0.1",
            "done",
            "[ -n \"$started\" ] || { echo 'BGSAVE did not start within 60 s' >&2; exit 1; }",
            "for _ in $(seq 1 1200); do",
            '  if ! saving && [ "$(cli LASTSAVE)" != "$before" ]; then',
            "    cli INFO persistence | tr -d '\\r' | grep -qx 'rdb_last_bgsave_status:ok' && exit 0",
            "    echo 'BGSAVE failed' >&2; exit 1",
            "  fi",
            "  sleep 0.1",
            "done",
            "echo 'BGSAVE did not finish within 120 s' >&2; exit 1",
        ].join("\n"),
    );
    return withScratchRedis(run, fn);
}

/** `fn(port)` against a throwaway redis-server (another port, no saving) on a copy of /var/lib/redis/dump.rdb. */
function withScratchRedis<T>(run: Run, fn: (port: number) => T): T {
    const dir = "/tmp/parity-redis";
    runChecked(
        run,
        "scratch redis",
        [
            "set -euo pipefail",
            `rm -rf ${dir} && install -d -o redis -g redis ${dir}`,
            `install -o redis -g redis -m 600 /var/lib/redis/dump.rdb ${dir}/dump.rdb`,
            `runuser -u redis -- redis-server --port ${SCRATCH_PORT} --bind 127.0.0.1 --dir ${dir} --dbfilename dump.rdb --save '' --appendonly no --daemonize yes --pidfile ${dir}/redis.pid --logfile ${dir}/redis.log`,
            `for _ in $(seq 1 100); do [ "$(redis-cli -p ${SCRATCH_PORT} PING 2>/dev/null)" = PONG ] && exit 0; sleep 0.1; done`,
            `cat ${dir}/redis.log >&2; exit 1`,
        ].join("\n"),
    );
    try {
        return fn(SCRATCH_PORT);
    } finally {
        run(`redis-cli -p ${SCRATCH_PORT} SHUTDOWN NOSAVE >/dev/null 2>&1; rm -rf ${dir}`);
    }
}

/** Jobs lost or doubled by the move, as parity differences (empty when every job is accounted for). */
export function accountJobs(
    atStop: { where: string; jid: string }[],
    target: { where: string; jid: string }[],
    journal: Journal,
): { differences: string[]; carried: number; ranOnTarget: number } {
    const differences: string[] = [];
    const source = new Set(atStop.map(j => j.jid));
    const waiting = new Map<string, number>();
    for (const j of target) waiting.set(j.jid, (waiting.get(j.jid) ?? 0) + 1);
    for (const [jid, n] of waiting) if (n > 1) differences.push(`sidekiq job ${jid}: ${n} copies waiting on the target server`);
    let ranOnTarget = 0;
    for (const j of atStop) {
        if (waiting.has(j.jid)) continue;
        if (journal.jobsRun.has(j.jid)) ranOnTarget++;
        else differences.push(`sidekiq job ${j.jid} (${j.where} at stop): lost (neither waiting nor run on the target server)`);
    }
    for (const j of target) {
        if (!source.has(j.jid) && !journal.enqueued.has(j.jid))
            differences.push(`sidekiq job ${j.jid} (${j.where}): on the target server, but neither carried nor enqueued there`);
    }
    const deadAtStop = atStop.filter(j => j.where === "dead").length;
    const deadNow = target.filter(j => j.where === "dead").length;
    if (deadAtStop !== deadNow) differences.push(`sidekiq dead set: ${deadAtStop} jobs at stop, ${deadNow} on the target server`);
    return { differences, carried: atStop.length, ranOnTarget };
}
