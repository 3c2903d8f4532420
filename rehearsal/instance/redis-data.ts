import { Account, BASE_MS, Model } from "./model";
import { Rng } from "./rng";
import { FileSink, RespWriter } from "./writers";

const QUEUES = ["default", "push", "pull", "mailers", "scheduler", "ingress"];

const JOB_CLASSES: Record<string, string[]> = {
    default: ["LinkCrawlWorker", "DistributionWorker", "ThreadResolveWorker"],
    push: ["ActivityPub::DeliveryWorker", "Web::PushNotificationWorker"],
    pull: ["ActivityPub::FetchRepliesWorker", "RemoteAccountRefreshWorker"],
    mailers: ["ActionMailer::MailDeliveryJob"],
};

function sidekiqJob(rng: Rng, model: Model, queue: string, atMs: number, extra: Record<string, unknown> = {}): string {
    const si = rng.int(0, model.statusIds.length - 1);
    const account = model.accounts[model.statusAccount[si] as number] as Account;
    const klass = rng.pick(JOB_CLASSES[queue] ?? JOB_CLASSES.default ?? []);
    const args =
        queue === "push"
            ? [
                  JSON.stringify({ type: "Create", object: `https://${model.domain}/statuses/${model.statusIds[si]}`, summary: "été 🐘" }),
                  account.id,
                  `https://${account.domain ?? "mastodon.social"}/inbox`,
              ]
            : [model.statusIds[si]];
    return JSON.stringify({
        retry: true,
        queue,
        class: klass,
        args,
        jid: rng.hex(24),
        created_at: atMs / 1000,
        enqueued_at: atMs / 1000 + 0.25,
        ...extra,
    });
}

/** `feed:home:<id>` ZSETs: the newest statuses of followed accounts and one's own, score = member = id. */
function writeFeeds(resp: RespWriter, model: Model, feedMax: number): void {
    for (const ai of model.local) {
        const sources = [ai, ...(model.following.get(ai) ?? [])];
        const candidates = sources.flatMap(s => (model.byAccount[s] ?? []).slice(-feedMax));
        if (candidates.length === 0) continue;
        const newest = candidates.sort((x, y) => y - x).slice(0, feedMax);
        const args: string[] = [];
        for (const si of newest) args.push(model.statusIds[si] as string, model.statusIds[si] as string);
        resp.keyed(["ZADD", `feed:home:${(model.accounts[ai] as Account).id}`, ...args]);
    }
}

function writeSidekiq(resp: RespWriter, rng: Rng, model: Model): void {
    const jobs = Math.max(3, Math.round(model.accounts.length / 60));
    resp.keyed(["SADD", "queues", ...QUEUES]);
    for (const queue of ["default", "push", "pull"]) {
        for (let i = 0; i < jobs; i++) resp.keyed(["LPUSH", `queue:${queue}`, sidekiqJob(rng, model, queue, BASE_MS - rng.int(0, 60_000))]);
    }
    for (let i = 0; i < jobs; i++) {
        const at = BASE_MS + rng.int(60_000, 86_400_000);
        resp.keyed(["ZADD", "schedule", String(at / 1000), sidekiqJob(rng, model, "default", BASE_MS, { at: at / 1000 })]);
        const failed = BASE_MS - rng.int(0, 3_600_000);
        const retry = {
            retry_count: rng.int(0, 10),
            error_class: "Net::ReadTimeout",
            error_message: "Net::ReadTimeout with #<TCPSocket:(closed)>",
            failed_at: failed / 1000,
        };
        resp.keyed(["ZADD", "retry", String((failed + 600_000) / 1000), sidekiqJob(rng, model, "push", failed, retry)]);
    }
    // Jobs that ran out of retries: Sidekiq keeps them in `dead` and never runs them again.
    for (let i = 0; i < Math.max(2, Math.round(jobs / 3)); i++) {
        const died = BASE_MS - rng.int(3_600_000, 86_400_000);
        const dead = {
            retry_count: 25,
            error_class: "HTTP::ConnectionError",
            error_message: "failed to connect: été 🐘",
            failed_at: died / 1000,
        };
        resp.keyed(["ZADD", "dead", String(died / 1000), sidekiqJob(rng, model, "pull", died, dead)]);
    }
    const process = `sidekiq-source:${rng.int(1000, 99999)}:${rng.hex(12)}`;
    resp.keyed(["SADD", "processes", process]);
    resp.keyed([
        "HSET",
        process,
        "info",
        JSON.stringify({ hostname: "source", concurrency: 25, queues: QUEUES }),
        "busy",
        "0",
        "beat",
        String(BASE_MS / 1000),
    ]);
}

function writeStats(resp: RespWriter, rng: Rng, model: Model): void {
    resp.keyed(["SET", "stat:processed", rng.int(100_000, 9_000_000)]);
    resp.keyed(["SET", "stat:failed", rng.int(10, 9_000)]);
    const week = Math.floor(BASE_MS / 1000 / 604_800) * 604_800;
    resp.keyed(["SET", `activity:statuses:local:${week}`, rng.int(10, 5000)]);
    resp.keyed(["EXPIRE", `activity:statuses:local:${week}`, 90 * 86_400]);
    resp.keyed(["PFADD", `activity:logins:${week}`, ...model.local.slice(0, 200).map(i => (model.accounts[i] as Account).id)]);
    resp.keyed(["SET", "mastodon:instance_presenter:note", "Bienvenue ! ようこそ 🐘"]);
}

/** Writes Redis contents as RESP for `redis-cli --pipe`. */
export function writeRedis(path: string, rng: Rng, model: Model, feedMax: number): { keys: number; commands: number } {
    const sink = new FileSink(path);
    const resp = new RespWriter(sink);
    writeFeeds(resp, model, feedMax);
    writeSidekiq(resp, rng.fork("sidekiq"), model);
    writeStats(resp, rng.fork("stats"), model);
    sink.close();
    return { keys: resp.keys.size, commands: resp.commands };
}
