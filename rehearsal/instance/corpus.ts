/** Text fragments for synthetic toots and profiles: several scripts, accents, emoji and COPY-hostile characters. */

export interface Sentence {
    lang: string;
    text: string;
}

export const SENTENCES: readonly Sentence[] = [
    { lang: "en", text: "Just moved the instance to a new machine, fingers crossed." },
    { lang: "en", text: "Reminder: back up your .env.production, not just the database." },
    { lang: "en", text: "Coffee first, federation later ☕" },
    { lang: "en", text: "Line one\nLine two with a tab\tand a backslash \\ in it" },
    { lang: "en", text: "Quotes: 'single', \"double\", `backtick` — and an em dash." },
    { lang: "en", text: "<p>HTML &amp; entities &lt;3</p>" },
    { lang: "fr", text: "Café crème et croissant, la journée commence bien à Montréal." },
    { lang: "fr", text: "Où est passé l'été ? Déjà la rentrée…" },
    { lang: "fr", text: "Ça marche ! Merci à l'équipe de modération, vous êtes géniales." },
    { lang: "fr", text: "Noël approche : sapin, bûche et œufs en chocolat à Pâques." },
    { lang: "ja", text: "今日はいい天気ですね。散歩に行きました🌸" },
    { lang: "ja", text: "マストドンのサーバー移行テスト中です。" },
    { lang: "ja", text: "日本語のテキストも正しく保存されるべきです。" },
    { lang: "de", text: "Grüße aus Köln — die Straße ist nass." },
    { lang: "es", text: "¿Qué tal? Mañana hay reunión en el año nuevo." },
    { lang: "ar", text: "مرحبا بالعالم" },
    { lang: "en", text: "🐘🚀✨ Toot toot! 👨‍👩‍👧‍👦 🇫🇷🇯🇵" },
    { lang: "en", text: "Zero width joiner a\u200db and a non-breaking\u00a0space." },
];

export const HASHTAGS = ["#mastodon", "#fediverse", "#café", "#日本", "#photography", "#100DaysOfCode"];

export const DISPLAY_NAMES = [
    "Zoë 🌻",
    "Renée Lefèvre",
    "山田 太郎",
    "Ørjan Ødegård",
    "José María",
    "Chloé ✨",
    "Ada",
    "François-Xavier",
    "さくら",
    "🐘 Eleph Ant",
    "",
];

export const NOTES = [
    "",
    "Développeuse, cycliste, amatrice de café.",
    "東京在住のエンジニアです。",
    "He/him. Posts about Rust 🦀 and Postgres 🐘",
    "Line one\nLine two",
    "Admin of this server. Be kind.",
];

export const USERNAME_STEMS = ["alice", "bob", "claire", "dmitri", "emi", "fatou", "gael", "hana", "ines", "jun", "kofi", "lea"];

export const REMOTE_DOMAINS = [
    "mastodon.social",
    "fosstodon.org",
    "hachyderm.io",
    "mstdn.jp",
    "piaille.fr",
    "chaos.social",
    "mastodon.xn--vckg5a9gug.jp",
];

/** Uploaded file names that stress copy tools: spaces, accents, CJK, emoji, quotes, a newline. */
export const EXOTIC_FILE_NAMES = [
    "été photo.jpg",
    "写真 1.png",
    "Ünïcödé café – menu.gif",
    "two  spaces.jpg",
    "emoji 🐘 toot.png",
    'it\'s a "quote".jpg',
    "line\nbreak.png",
    "clip final (1).mp4",
];

export const ALT_TEXTS = [null, "A cat on a keyboard", "Un chat sur un clavier, évidemment", "猫がキーボードの上にいる", "📷"];
