/**
 * The rest of a Mastodon-shaped schema, beyond the core tables of schema.ts: Rails' own bookkeeping
 * (`schema_migrations`, `ar_internal_metadata`), the join table `statuses_tags` (no primary key, only a
 * unique index, as in Mastodon), favourites, mentions, notifications, tags, blocks, mutes, lists and their
 * accounts, custom emojis, preview cards, web settings, account stats, and two more materialized
 * views (`account_summaries`, `global_follow_recommendations`). Rows derive from the model, written as COPY.
 */
import { Account, BASE_MS, Model, toTimestamp } from "./model";
import { Rng } from "./rng";
import { CopyWriter, FileSink, SqlValue } from "./writers";

/** bigserial tables of this module: their sequences are set after the data. */
const SERIAL = [
    "tags",
    "favourites",
    "mentions",
    "notifications",
    "blocks",
    "mutes",
    "lists",
    "list_accounts",
    "custom_emojis",
    "preview_cards",
    "web_settings",
    "account_stats",
];

export const MORE_TABLES_SQL = `
CREATE TABLE public.schema_migrations (version character varying NOT NULL);
CREATE TABLE public.ar_internal_metadata (
    key character varying NOT NULL,
    value character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
${SERIAL.map(t => `CREATE SEQUENCE public.${t}_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;`).join("\n")}
CREATE TABLE public.tags (id bigint NOT NULL, name character varying DEFAULT ''::character varying NOT NULL,
    usable boolean, trendable boolean, created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.statuses_tags (status_id bigint NOT NULL, tag_id bigint NOT NULL);
CREATE TABLE public.favourites (id bigint NOT NULL, account_id bigint NOT NULL, status_id bigint NOT NULL,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.mentions (id bigint NOT NULL, status_id bigint, account_id bigint, silent boolean DEFAULT false NOT NULL,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.notifications (id bigint NOT NULL, activity_id bigint NOT NULL, activity_type character varying NOT NULL,
    account_id bigint NOT NULL, from_account_id bigint NOT NULL, type character varying,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.blocks (id bigint NOT NULL, account_id bigint NOT NULL, target_account_id bigint NOT NULL, uri character varying,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.mutes (id bigint NOT NULL, account_id bigint NOT NULL, target_account_id bigint NOT NULL,
    hide_notifications boolean DEFAULT true NOT NULL, expires_at timestamp without time zone,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.lists (id bigint NOT NULL, account_id bigint NOT NULL, title character varying DEFAULT ''::character varying NOT NULL,
    replies_policy integer DEFAULT 0 NOT NULL, created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.list_accounts (id bigint NOT NULL, list_id bigint NOT NULL, account_id bigint NOT NULL, follow_id bigint);
CREATE TABLE public.custom_emojis (id bigint NOT NULL, shortcode character varying DEFAULT ''::character varying NOT NULL,
    domain character varying, image_file_name character varying, image_file_size integer, disabled boolean DEFAULT false NOT NULL,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.preview_cards (id bigint NOT NULL, url character varying DEFAULT ''::character varying NOT NULL,
    title character varying DEFAULT ''::character varying NOT NULL, description character varying DEFAULT ''::character varying NOT NULL,
    type integer DEFAULT 0 NOT NULL, created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL);
CREATE TABLE public.web_settings (id bigint NOT NULL, data json, created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL, user_id bigint NOT NULL);
CREATE TABLE public.account_stats (id bigint NOT NULL, account_id bigint NOT NULL, statuses_count bigint DEFAULT 0 NOT NULL,
    following_count bigint DEFAULT 0 NOT NULL, followers_count bigint DEFAULT 0 NOT NULL,
    created_at timestamp without time zone NOT NULL, updated_at timestamp without time zone NOT NULL, last_status_at timestamp without time zone);
${SERIAL.map(t => `ALTER SEQUENCE public.${t}_id_seq OWNED BY public.${t}.id;\nALTER TABLE ONLY public.${t} ALTER COLUMN id SET DEFAULT nextval('public.${t}_id_seq'::regclass);`).join("\n")}
CREATE MATERIALIZED VIEW public.account_summaries AS
 SELECT accounts.id AS account_id, mode() WITHIN GROUP (ORDER BY t0.language) AS language, accounts.domain IS NULL AS local
   FROM public.accounts
     CROSS JOIN LATERAL (SELECT statuses.language FROM public.statuses
          WHERE statuses.account_id = accounts.id AND statuses.deleted_at IS NULL ORDER BY statuses.id DESC LIMIT 20) t0
  GROUP BY accounts.id, accounts.domain
  WITH NO DATA;
CREATE MATERIALIZED VIEW public.global_follow_recommendations AS
 SELECT follows.target_account_id AS account_id, count(*)::double precision AS rank, 'most_followed'::text AS reason
   FROM public.follows GROUP BY follows.target_account_id HAVING count(*) >= 3
  WITH NO DATA;
`;

export const MORE_CONSTRAINTS_SQL = `
ALTER TABLE ONLY public.schema_migrations ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);
ALTER TABLE ONLY public.ar_internal_metadata ADD CONSTRAINT ar_internal_metadata_pkey PRIMARY KEY (key);
${SERIAL.map(t => `ALTER TABLE ONLY public.${t} ADD CONSTRAINT ${t}_pkey PRIMARY KEY (id);`).join("\n")}
CREATE UNIQUE INDEX index_statuses_tags_on_tag_id_and_status_id ON public.statuses_tags USING btree (tag_id, status_id);
CREATE INDEX index_statuses_tags_on_status_id ON public.statuses_tags USING btree (status_id);
CREATE UNIQUE INDEX index_tags_on_name_lower_btree ON public.tags USING btree (lower((name)::text) text_pattern_ops);
CREATE UNIQUE INDEX index_favourites_on_account_id_and_status_id ON public.favourites USING btree (account_id, status_id);
CREATE INDEX index_notifications_on_account_id_and_id ON public.notifications USING btree (account_id, id DESC);
CREATE UNIQUE INDEX index_account_stats_on_account_id ON public.account_stats USING btree (account_id);
CREATE UNIQUE INDEX index_account_summaries_on_account_id ON public.account_summaries USING btree (account_id);
CREATE UNIQUE INDEX index_global_follow_recommendations_on_account_id ON public.global_follow_recommendations USING btree (account_id);
ALTER TABLE ONLY public.statuses_tags ADD CONSTRAINT fk_rails_df0fe11427 FOREIGN KEY (status_id) REFERENCES public.statuses(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.statuses_tags ADD CONSTRAINT fk_3081861e21 FOREIGN KEY (tag_id) REFERENCES public.tags(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.favourites ADD CONSTRAINT fk_5eb6c2b873 FOREIGN KEY (account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.favourites ADD CONSTRAINT fk_b0e856845e FOREIGN KEY (status_id) REFERENCES public.statuses(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.account_stats ADD CONSTRAINT fk_rails_215bb31ff1 FOREIGN KEY (account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;
ALTER TABLE ONLY public.list_accounts ADD CONSTRAINT fk_rails_e54e356c88 FOREIGN KEY (list_id) REFERENCES public.lists(id) ON DELETE CASCADE;
`;

const TAGS = ["mastodon", "fediverse", "été", "日本語", "photographie", "🐘", "caturday", "opensource", "vélo", "音楽"];

/** Writes every table of this module; returns rows per table and the sequence values to set. */
export function writeMoreTables(
    sink: FileSink,
    rng: Rng,
    model: Model,
): { tables: Record<string, number>; sequences: Record<string, number> } {
    const tables: Record<string, number> = {};
    const copy = (table: string, columns: string[], rows: Iterable<SqlValue[]>): void => {
        const w = new CopyWriter(sink, table, columns);
        for (const r of rows) w.row(r);
        w.end();
        tables[table] = w.rows;
    };
    const ts = (ms: number) => toTimestamp(ms);
    const account = (i: number) => model.accounts[i] as Account;
    const n = model.accounts.length;
    const statuses = model.statusIds.length;
    const scale = Math.max(1, Math.round(statuses / 100));

    copy(
        "schema_migrations",
        ["version"],
        Array.from({ length: 40 }, (_, i) => [String(20160220174730 + i * 1_000_003)]),
    );
    copy(
        "ar_internal_metadata",
        ["key", "value", "created_at", "updated_at"],
        [
            ["environment", "production", ts(BASE_MS - 9e10), ts(BASE_MS - 9e10)],
            ["schema_sha1", rng.hex(40), ts(BASE_MS - 9e10), ts(BASE_MS)],
        ],
    );
    copy(
        "tags",
        ["id", "name", "usable", "trendable", "created_at", "updated_at"],
        TAGS.map((name, i) => [i + 1, name, true, i % 3 !== 0, ts(BASE_MS - 1e9 * (i + 1)), ts(BASE_MS)]),
    );
    const tagged = new Set<string>();
    const statusTags: SqlValue[][] = [];
    for (let k = 0; k < scale * 20; k++) {
        const si = rng.int(0, statuses - 1);
        const tag = rng.int(1, TAGS.length);
        const key = `${si}:${tag}`;
        if (tagged.has(key)) continue;
        tagged.add(key);
        statusTags.push([model.statusIds[si] as string, tag]);
    }
    copy("statuses_tags", ["status_id", "tag_id"], statusTags);
    const favs = new Set<string>();
    const favRows: SqlValue[][] = [];
    for (let k = 0; k < scale * 30; k++) {
        const ai = rng.pick(model.local);
        const si = rng.int(0, statuses - 1);
        if (favs.has(`${ai}:${si}`)) continue;
        favs.add(`${ai}:${si}`);
        favRows.push([favRows.length + 1, account(ai).id, model.statusIds[si] as string, ts(BASE_MS - rng.int(0, 1e9)), ts(BASE_MS)]);
    }
    copy("favourites", ["id", "account_id", "status_id", "created_at", "updated_at"], favRows);
    copy(
        "mentions",
        ["id", "status_id", "account_id", "silent", "created_at", "updated_at"],
        Array.from({ length: scale * 10 }, (_, k) => [
            k + 1,
            model.statusIds[rng.int(0, statuses - 1)] as string,
            account(rng.int(0, n - 1)).id,
            rng.chance(0.05),
            ts(BASE_MS - k * 1000),
            ts(BASE_MS),
        ]),
    );
    copy(
        "notifications",
        ["id", "activity_id", "activity_type", "account_id", "from_account_id", "type", "created_at", "updated_at"],
        favRows.map((f, k) => [
            k + 1,
            f[0] as number,
            "Favourite",
            account(rng.pick(model.local)).id,
            f[1] as string,
            "favourite",
            f[3] as string,
            f[4] as string,
        ]),
    );
    const pairRows = (count: number, extra: (k: number) => SqlValue[]) => {
        const seen = new Set<string>();
        const rows: SqlValue[][] = [];
        for (let k = 0; k < count; k++) {
            const a = rng.pick(model.local);
            const b = rng.int(0, n - 1);
            if (a === b || seen.has(`${a}:${b}`)) continue;
            seen.add(`${a}:${b}`);
            rows.push([rows.length + 1, account(a).id, account(b).id, ...extra(k)]);
        }
        return rows;
    };
    copy(
        "blocks",
        ["id", "account_id", "target_account_id", "uri", "created_at", "updated_at"],
        pairRows(scale * 2, k => [`https://${model.domain}/blocks/${k}`, ts(BASE_MS - k), ts(BASE_MS)]),
    );
    copy(
        "mutes",
        ["id", "account_id", "target_account_id", "hide_notifications", "expires_at", "created_at", "updated_at"],
        pairRows(scale * 2, k => [k % 2 === 0, k % 5 === 0 ? ts(BASE_MS + 86_400_000) : null, ts(BASE_MS - k), ts(BASE_MS)]),
    );
    const lists = model.local.slice(0, Math.max(3, Math.round(model.local.length / 10)));
    copy(
        "lists",
        ["id", "account_id", "title", "replies_policy", "created_at", "updated_at"],
        lists.map((ai, k) => [k + 1, account(ai).id, `Liste ${k} — 友達 🐘`, k % 3, ts(BASE_MS - k), ts(BASE_MS)]),
    );
    copy(
        "list_accounts",
        ["id", "list_id", "account_id", "follow_id"],
        lists.flatMap((ai, k) =>
            (model.following.get(ai) ?? []).slice(0, 5).map((to, j) => [k * 5 + j + 1, k + 1, account(to).id, null] as SqlValue[]),
        ),
    );
    copy(
        "custom_emojis",
        ["id", "shortcode", "domain", "image_file_name", "image_file_size", "disabled", "created_at", "updated_at"],
        Array.from({ length: 12 }, (_, k) => [
            k + 1,
            `blobcat_${k}`,
            k % 2 ? "mastodon.social" : null,
            `blobcat_${k}.png`,
            1000 + k,
            k === 7,
            ts(BASE_MS - k),
            ts(BASE_MS),
        ]),
    );
    copy(
        "preview_cards",
        ["id", "url", "title", "description", "type", "created_at", "updated_at"],
        Array.from({ length: scale * 2 }, (_, k) => [
            k + 1,
            `https://example.org/article/${rng.hex(8)}`,
            `Titre ${k} « guillemets »`,
            "Résumé\twith a tab",
            k % 2,
            ts(BASE_MS - k),
            ts(BASE_MS),
        ]),
    );
    copy(
        "web_settings",
        ["id", "data", "created_at", "updated_at", "user_id"],
        model.local
            .slice(0, 50)
            .map((_, k) => [
                k + 1,
                JSON.stringify({ onboarded: true, "home.shows.reblog": k % 2 === 0, language: "fr" }),
                ts(BASE_MS),
                ts(BASE_MS),
                k + 1,
            ]),
    );
    copy(
        "account_stats",
        ["id", "account_id", "statuses_count", "following_count", "followers_count", "created_at", "updated_at", "last_status_at"],
        model.accounts.map((a, i) => [
            i + 1,
            a.id,
            model.byAccount[i]?.length ?? 0,
            model.following.get(i)?.length ?? 0,
            0,
            ts(a.createdMs),
            ts(BASE_MS),
            null,
        ]),
    );
    const sequences: Record<string, number> = {};
    for (const t of SERIAL) sequences[`${t}_id_seq`] = tables[t] ?? 0;
    // list_accounts ids are sparse: its sequence goes past the highest id.
    sequences.list_accounts_id_seq = lists.length * 5;
    return { tables, sequences };
}
