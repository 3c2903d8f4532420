/**
 * The rehearsal sandbox (rehearsal/sandbox): up.sh builds two namespace hosts, "source" and "target", each
 * with its own sshd, localhost PostgreSQL/Redis, nginx, stand-in systemctl and stand-in Mastodon
 * checkout. Needs root (CI runs as root); traffic stays on the sandbox's 10.213.N.0/24 bridge (MMIG_SANDBOX=N) and loopback.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    sshArgsFor,
    DEFAULT_DOMAIN,
    REPO_ROOT,
    SANDBOX_DIR,
    SANDBOX_SRC,
    SOURCE_ADDR,
    TARGET_ADDR,
    BRIDGE,
    HOST_NETNS,
    NETNS_PREFIX,
    SANDBOX_ID,
    type HostName,
    killSshSessions,
    onHost,
    pidRunning,
    sandboxDown,
    sandboxParams,
    sandboxRunning,
    sandboxUp,
    SEARCH_ENGINE_UP,
    sshArgs,
} from "../../rehearsal/sandbox/sandbox";

const LONG = 300_000;

function must(host: HostName, cmd: string, input?: string): string {
    const r = onHost(host, cmd, input);
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

function ssh(host: HostName, cmd: string, timeoutMs = 20_000) {
    return spawnSync("ssh", [...sshArgs(host), cmd], { encoding: "utf8", timeout: timeoutMs });
}

/** The network namespaces on this machine, by name. */
function netnsNames(): string[] {
    return spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
        .stdout.split("\n")
        .map(l => l.split(" ")[0])
        .filter(Boolean);
}

/** This sandbox's namespaces (other sandboxes, MMIG_SANDBOX=N, may be running at the same time). */
function ownNetns(): string[] {
    return netnsNames().filter(n => n.startsWith(`${NETNS_PREFIX}-`));
}

/** A tiny instance on source: .env.production, database with the generator's tables, a few rows. */
const SEED_SOURCE = `set -e
cd /home/mastodon/live
cat > .env.production <<'ENV'
LOCAL_DOMAIN=${DEFAULT_DOMAIN}
RAILS_ENV=production
DB_HOST=/var/run/postgresql
DB_USER=mastodon
DB_NAME=mastodon_production
DB_PORT=5432
REDIS_HOST=localhost
REDIS_PORT=6379
ENV
chown mastodon:mastodon .env.production && chmod 600 .env.production
# This minimal schema is not Mastodon's: the stand-in app's live writes are paused (rehearsal test hook).
runuser -u mastodon -- touch tmp/standin-writes-paused
cd / && runuser -u postgres -- createdb -O mastodon mastodon_production
runuser -u mastodon -- psql -X -q -d mastodon_production <<'SQL'
CREATE TABLE accounts (id bigint PRIMARY KEY, username text NOT NULL, domain text);
CREATE TABLE users (id bigint PRIMARY KEY, account_id bigint NOT NULL);
CREATE TABLE statuses (id bigint PRIMARY KEY, account_id bigint NOT NULL, text text, created_at timestamp NOT NULL);
CREATE TABLE follows (id bigint PRIMARY KEY, account_id bigint NOT NULL, target_account_id bigint NOT NULL);
INSERT INTO accounts VALUES (1, 'alice', NULL), (2, 'bob', NULL), (3, 'carol', 'remote.example');
INSERT INTO users VALUES (1, 1), (2, 2);
INSERT INTO follows VALUES (1, 1, 2), (2, 1, 3);
INSERT INTO statuses SELECT g, 1 + g % 3, 'post ' || g, now() - g * interval '1 minute' FROM generate_series(1, 900) g;
SQL
`;

describe("rehearsal sandbox (default parameters)", { timeout: 120_000 }, () => {
    let upSeconds = 0;

    beforeAll(() => {
        upSeconds = sandboxUp().seconds;
        console.log(`sandbox up.sh took ${upSeconds.toFixed(1)} s`);
    }, LONG);

    it("builds both hosts and records its parameters", () => {
        expect(sandboxRunning()).toBe(true);
        expect(sandboxParams()).toEqual({ domain: DEFAULT_DOMAIN, targetDbRole: "mastodon" });
        expect(netnsNames()).toContain(HOST_NETNS.source);
        expect(netnsNames()).toContain(HOST_NETNS.target);
        expect(upSeconds).toBeGreaterThan(0);
    });

    it("answers SSH as root with the admin key from the root namespace", () => {
        const source = ssh("source", "hostname; cloud-init status --wait");
        expect(source.status, source.stderr).toBe(0);
        expect(source.stdout).toBe("mastodon-source\nstatus: done\n");
        const target = ssh("target", "hostname");
        expect(target.status, target.stderr).toBe(0);
        expect(target.stdout.trim()).toBe("mastodon-target");
    });

    it("lets source reach target's sshd over the bridge (and nothing else)", () => {
        const banner = must("source", `exec 3<>/dev/tcp/${TARGET_ADDR}/22 && head -c 8 <&3`);
        expect(banner).toBe("SSH-2.0-");
        // Without a key of its own, source's root gets to authentication and is refused: reachability is the point.
        const r = onHost("source", `ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 root@${TARGET_ADDR} true`);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/Permission denied/);
        expect(must("target", "ip -4 -o addr show eth0")).toContain(`${TARGET_ADDR}/24`);
        expect(onHost("target", "ip route get 1.1.1.1").code).not.toBe(0);
    });

    it("gives each host its own localhost PostgreSQL and Redis", () => {
        must("source", "redis-cli -h localhost set sandbox:probe source-only");
        expect(must("source", "redis-cli -h localhost get sandbox:probe").trim()).toBe("source-only");
        expect(must("target", "redis-cli -h localhost exists sandbox:probe").trim()).toBe("0");
        const sysid = (h: HostName) =>
            must(h, "cd / && runuser -u postgres -- psql -XAtc 'SELECT system_identifier FROM pg_control_system()'").trim();
        expect(sysid("source")).not.toBe(sysid("target"));
        expect(
            must(
                "source",
                "cd / && runuser -u postgres -- psql -XAtc \"SELECT rolcreatedb FROM pg_roles WHERE rolname='mastodon'\"",
            ).trim(),
        ).toBe("t");
        expect(
            must(
                "target",
                "cd / && runuser -u postgres -- psql -XAtc \"SELECT rolcanlogin FROM pg_roles WHERE rolname='mastodon'\"",
            ).trim(),
        ).toBe("t");
        // Own processes only: one redis-server per host.
        expect(must("source", "pgrep -c redis-server").trim()).toBe("1");
    });

    it("starts target without Mastodon units or site: starting mastodon-web fails with 'not found'", () => {
        const r = onHost("target", "systemctl start mastodon-web");
        expect(r.code).toBe(5);
        expect(r.stderr).toMatch(/Unit mastodon-web\.service not found/);
        expect(onHost("target", "systemctl is-active mastodon-web").stdout.trim()).toBe("inactive");
        expect(
            must(
                "target",
                "find /etc/nginx/sites-enabled /etc/ssl/mastodon-sandbox /etc/systemd/system -mindepth 1 -name 'mastodon*' | wc -l",
            ).trim(),
        ).toBe("0");
        expect(must("target", "systemctl is-active nginx postgresql redis-server ssh")).toBe("active\nactive\nactive\nactive\n");
        expect(must("target", "cd / && runuser -u mastodon -- git -C /home/mastodon/live describe --tags")).toBe("v4.5.2\n");
    });

    it("runs Mastodon on source behind nginx once .env.production and the database exist", () => {
        must("source", SEED_SOURCE);
        must("source", "systemctl daemon-reload && systemctl start mastodon-web mastodon-streaming mastodon-sidekiq");
        const running = must("source", "systemctl list-units --type=service --state=running --plain --no-legend 'mastodon-*'");
        expect(
            running
                .split("\n")
                .filter(Boolean)
                .map(l => l.split(" ")[0]),
        ).toEqual(["mastodon-sidekiq.service", "mastodon-streaming.service", "mastodon-web.service"]);
        const curl = (path: string) =>
            must("source", `curl -sk --max-time 10 --resolve ${DEFAULT_DOMAIN}:443:127.0.0.1 https://${DEFAULT_DOMAIN}${path}`);
        expect(curl("/health")).toBe("OK");
        expect(curl("/api/v1/streaming/health")).toBe("OK");
        const instance = JSON.parse(curl("/api/v2/instance"));
        expect(instance).toMatchObject({ domain: DEFAULT_DOMAIN, version: "4.5.2", usage: { users: { active_month: 2 } } });
        const redirect = must(
            "source",
            `curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --resolve ${DEFAULT_DOMAIN}:80:127.0.0.1 http://${DEFAULT_DOMAIN}/about`,
        );
        expect(redirect).toBe(`301 https://${DEFAULT_DOMAIN}/about`);
        // Web stopped: nginx serves Mastodon's error page.
        must("source", "systemctl stop mastodon-web");
        expect(onHost("source", "systemctl is-active mastodon-web").code).toBe(3);
        expect(curl("/api/v2/instance")).toMatch(/something went wrong/);
        must("source", "systemctl start mastodon-web");
    });

    it("runs bin/tootctl only with Mastodon's preconditions, leaving evidence", () => {
        const bare = onHost("source", "cd /home/mastodon/live && runuser -u mastodon -- bin/tootctl version");
        expect(bare.code).not.toBe(0);
        expect(bare.stderr).toMatch(/RAILS_ENV must be 'production'/);
        const asRoot = onHost("source", "cd /home/mastodon/live && RAILS_ENV=production bin/tootctl version");
        expect(asRoot.code).not.toBe(0);
        expect(asRoot.stderr).toMatch(/not reachable as OS user root/);
        const tootctl = (args: string) =>
            must("source", `cd /home/mastodon/live && runuser -u mastodon -- env RAILS_ENV=production bin/tootctl ${args}`);
        expect(tootctl("version")).toBe("4.5.2\n");
        expect(tootctl("feeds build --concurrency 2")).toMatch(/Regenerated feeds for 2 accounts/);
        // alice follows bob and carol: 400 newest of her feed; bob only his own 300 statuses.
        expect(must("source", "redis-cli zcard feed:home:1; redis-cli zcard feed:home:2")).toBe("400\n300\n");
        // search deploy: refused without ES_ENABLED, and without an engine; with both it indexes over HTTP.
        const noSearch = onHost(
            "source",
            "cd /home/mastodon/live && runuser -u mastodon -- env RAILS_ENV=production bin/tootctl search deploy",
        );
        expect(noSearch.stderr).toMatch(/Elasticsearch is not enabled \(ES_ENABLED=unset/);
        const engineDown = onHost(
            "source",
            "cd /home/mastodon/live && runuser -u mastodon -- env RAILS_ENV=production ES_ENABLED=true bin/tootctl search deploy",
        );
        expect(engineDown.stderr).toMatch(/the search engine at http:\/\/localhost:9200 is not reachable/);
        must("source", `systemctl start elasticsearch && ${SEARCH_ENGINE_UP}`);
        const deployed = must(
            "source",
            "cd /home/mastodon/live && runuser -u mastodon -- env RAILS_ENV=production ES_ENABLED=true bin/tootctl search deploy",
        );
        expect(deployed).toMatch(/Indexed 3 records into accounts .*\nIndexed 900 records into statuses .*\nDone\n$/);
        expect(JSON.parse(must("source", "curl -fsS http://127.0.0.1:9200/statuses/_count")).count).toBe(900);
        expect(onHost("source", "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9200/_cat/indices").stdout).toBe("400");
        must("source", "systemctl stop elasticsearch");
        const log = must("source", "cat /home/mastodon/live/log/standin.log");
        expect(log).toMatch(/tootctl feeds build --concurrency 2/);
        expect(log).toMatch(/tootctl FAILED: RAILS_ENV/);
    });

    it("drops a host's SSH connections on demand (fault helper)", () => {
        const started = Date.now();
        const child = spawnSync(
            "bash",
            [
                "-c",
                `ssh ${sshArgs("source")
                    .map(a => `'${a}'`)
                    .join(" ")} 'sleep 30' & sleep 1.5; bash '${SANDBOX_SRC}/fault.sh' source kill-ssh >/dev/null; wait $!`,
            ],
            { encoding: "utf8", timeout: 25_000 },
        );
        expect(child.status).not.toBe(0);
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(killSshSessions("source").code).toBe(0);
        expect(ssh("source", "true").status).toBe(0);
    });

    it("passes shellcheck", () => {
        const r = spawnSync(
            "bash",
            [
                "-c",
                "shellcheck -x -P SCRIPTDIR -P . up.sh down.sh host.sh fault.sh env.sh lib/*.sh files/sbin/* files/bundle files/app/bin/* files/app/lib/standin/*.sh",
            ],
            { cwd: SANDBOX_SRC, encoding: "utf8" },
        );
        expect(r.stdout + r.stderr).toBe("");
        expect(r.status).toBe(0);
    });
});

describe("rehearsal sandbox (other domain, other database role on target)", { timeout: 120_000 }, () => {
    beforeAll(() => {
        const { seconds } = sandboxUp({ domain: "social.rehearsal.test", targetDbRole: "mastodon_app" });
        console.log(`sandbox up.sh (rebuild) took ${seconds.toFixed(1)} s`);
    }, LONG);

    afterAll(() => {
        sandboxDown();
    }, LONG);

    it("rebuilds fresh hosts with the new parameters", () => {
        expect(sandboxParams()).toEqual({ domain: "social.rehearsal.test", targetDbRole: "mastodon_app" });
        expect(onHost("source", "redis-cli exists sandbox:probe").stdout.trim()).toBe("0");
        expect(onHost("source", "test -e /home/mastodon/live/.env.production").code).not.toBe(0);
        expect(must("source", "grep -h server_name /etc/nginx/sites-enabled/mastodon | sort -u")).toMatch(
            /server_name social\.rehearsal\.test;/,
        );
        expect(must("source", "openssl x509 -noout -subject -enddate -in /etc/ssl/mastodon-sandbox/fullchain.pem")).toMatch(
            /CN = social\.rehearsal\.test/,
        );
    });

    it("maps OS user mastodon to the other role on target", () => {
        expect(
            must(
                "target",
                "cd / && runuser -u mastodon -- psql -X -h /var/run/postgresql -U mastodon_app -d postgres -Atc 'SELECT current_user'",
            ),
        ).toBe("mastodon_app\n");
        expect(onHost("target", "cd / && runuser -u mastodon -- psql -X -U mastodon -d postgres -Atc 'SELECT 1'").code).not.toBe(0);
        expect(must("target", "cd / && runuser -u postgres -- psql -X -Atc 'SELECT 1'")).toBe("1\n");
    });

    it("down.sh removes every namespace, link and process, and is safe to repeat", () => {
        const inits = (["source", "target"] as const).map(h => readFileSync(join(SANDBOX_DIR, "hosts", h, "init.pid"), "utf8").trim());
        sandboxDown();
        expect(ownNetns()).toEqual([]);
        for (const pid of inits) expect(pidRunning(pid)).toBe(false);
        expect(spawnSync("ip", ["link", "show", BRIDGE]).status).not.toBe(0);
        expect(sandboxRunning()).toBe(false);
        sandboxDown();
    });
});

describe("rehearsal sandbox from a clone under /tmp", { timeout: 120_000 }, () => {
    // A checkout anywhere works: the per-host directories (<clone>/.rehearsal/sandbox/hosts/...) then lie under
    // /tmp, which each host covers with a mount of its own. The clone holds the COMMITTED files only: commit a
    // sandbox change before relying on this test. node_modules is linked, not installed (npm ci is slow).
    let base = "";
    let clone = "";
    const env = (): NodeJS.ProcessEnv => {
        const e = { ...process.env };
        delete e.REHEARSAL_DIR; // the clone's default sandbox directory, inside the clone
        return e;
    };
    /** Runs TypeScript in the clone (its own rehearsal/sandbox/sandbox.ts), returning the last stdout line. */
    const inClone = (code: string): string => {
        const r = spawnSync(join(clone, "node_modules", ".bin", "tsx"), ["-e", code], {
            cwd: clone,
            env: env(),
            encoding: "utf8",
            timeout: LONG,
        });
        if (r.status !== 0) throw new Error(`in the clone (exit ${r.status}): ${code}\n${r.stdout}\n${r.stderr}`);
        return r.stdout.trim().split("\n").pop() ?? "";
    };

    beforeAll(() => {
        base = mkdtempSync("/tmp/sbx.");
        clone = join(base, "repo");
        const git = spawnSync("git", ["clone", "-q", REPO_ROOT, clone], { encoding: "utf8" });
        if (git.status !== 0) throw new Error(`git clone failed: ${git.stderr}`);
        symlinkSync(join(REPO_ROOT, "node_modules"), join(clone, "node_modules"));
    }, LONG);

    afterAll(() => {
        if (clone) spawnSync("bash", [join(clone, "rehearsal", "sandbox", "down.sh")], { env: env(), encoding: "utf8" });
        if (base) rmSync(base, { recursive: true, force: true });
    }, LONG);

    it("brings the sandbox up from there (hosts answer SSH with the clone's keys) and down again", () => {
        const { dir, seconds } = JSON.parse(
            inClone(
                `import { sandboxUp, SANDBOX_DIR } from "./rehearsal/sandbox/sandbox";
       const { seconds } = sandboxUp();
       console.log(JSON.stringify({ dir: SANDBOX_DIR, seconds }));`,
            ),
        ) as { dir: string; seconds: number };
        console.log(`sandbox up.sh from ${clone} took ${seconds.toFixed(1)} s`);
        expect(dir).toBe(join(clone, ".rehearsal", "sandbox"));
        expect(dir.startsWith("/tmp/")).toBe(true);
        for (const [host, addr] of [
            ["source", SOURCE_ADDR],
            ["target", TARGET_ADDR],
        ] as const) {
            const r = spawnSync(
                "ssh",
                [
                    ...sshArgsFor(join(dir, "keys"), addr),
                    `hostname; cat /etc/hostname; grep -c mastodon- /etc/hosts; test -e '${clone}' || echo hidden`,
                ],
                { encoding: "utf8", timeout: 20_000 },
            );
            expect(r.status, r.stderr).toBe(0);
            // Its own /etc/hostname and /etc/hosts (the single-file mounts), and its own /tmp, which hides the clone.
            expect(r.stdout).toBe(`mastodon-${host}\nmastodon-${host}\n1\nhidden\n`);
        }
        inClone(`import { sandboxDown } from "./rehearsal/sandbox/sandbox"; sandboxDown();`);
        expect(ownNetns()).toEqual([]);
        expect(spawnSync("ip", ["link", "show", BRIDGE]).status).not.toBe(0);
    });
});

describe("sandbox addresses and names", () => {
    it("are env.sh's for this MMIG_SANDBOX, and the documented ones for sandbox 0", () => {
        const fromEnv = (id: string) =>
            spawnSync(
                "bash",
                ["-c", `source '${join(SANDBOX_SRC, "env.sh")}' && echo "$SOURCE_ADDR $TARGET_ADDR $BRIDGE $SOURCE_NETNS $TARGET_NETNS"`],
                { encoding: "utf8", env: { ...process.env, MMIG_SANDBOX: id, REHEARSAL_DIR: "/nonexistent" } },
            ).stdout.trim();
        expect(fromEnv(String(SANDBOX_ID))).toBe([SOURCE_ADDR, TARGET_ADDR, BRIDGE, HOST_NETNS.source, HOST_NETNS.target].join(" "));
        expect(fromEnv("0")).toBe("10.213.0.2 10.213.0.3 mmig0 mmig-source mmig-target");
        expect(fromEnv("7")).toBe("10.213.7.2 10.213.7.3 mmig7 mmig7-source mmig7-target");
        expect([SOURCE_ADDR, TARGET_ADDR]).toEqual([`10.213.${SANDBOX_ID}.2`, `10.213.${SANDBOX_ID}.3`]);
    });
});
