// STAND-IN of Mastodon's SelfDestructHelper (mastodon-migration rehearsal sandbox), Mastodon >= 4.3:
// the SELF_DESTRUCT value is LOCAL_DOMAIN signed with a key derived from SECRET_KEY_BASE (Rails'
// message_verifier('self-destruct'): "<base64 data>--<hex HMAC>"), and the instance is in self-destruct
// mode only when SELF_DESTRUCT verifies against this instance's SECRET_KEY_BASE and LOCAL_DOMAIN.
//   node self-destruct.js generate   prints the value for LOCAL_DOMAIN (tootctl self-destruct)
//   node self-destruct.js verify     exits 0 in self-destruct mode, 1 otherwise
"use strict";
const crypto = require("node:crypto");

const PURPOSE = "self-destruct";

function key() {
    const secret = process.env.SECRET_KEY_BASE || "";
    if (secret.length < 30) throw new Error("SECRET_KEY_BASE is missing or too short");
    // Rails' key generator: PBKDF2 of secret_key_base, salted with the verifier's name.
    return crypto.pbkdf2Sync(secret, PURPOSE, 1000, 64, "sha256");
}

function sign(data) {
    return crypto.createHmac("sha256", key()).update(data).digest("hex");
}

/** The value `tootctl self-destruct` prints for this instance. */
function generate(domain = process.env.LOCAL_DOMAIN) {
    if (!domain) throw new Error("LOCAL_DOMAIN is not set");
    const data = Buffer.from(JSON.stringify(domain)).toString("base64");
    return `${data}--${sign(data)}`;
}

/** True when SELF_DESTRUCT is a valid signature of LOCAL_DOMAIN (an invalid signature is not an error: false). */
function selfDestruct(env = process.env) {
    const value = env.SELF_DESTRUCT || "";
    const at = value.lastIndexOf("--");
    if (!value || at < 0) return false;
    const data = value.slice(0, at);
    const given = Buffer.from(value.slice(at + 2), "utf8");
    const expected = Buffer.from(sign(data), "utf8");
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return false;
    try {
        return JSON.parse(Buffer.from(data, "base64").toString("utf8")) === env.LOCAL_DOMAIN;
    } catch {
        return false;
    }
}

module.exports = { generate, selfDestruct };

if (require.main === module) {
    const cmd = process.argv[2];
    if (cmd === "generate") process.stdout.write(`${generate()}\n`);
    else if (cmd === "verify") process.exit(selfDestruct() ? 0 : 1);
    else {
        console.error("usage: self-destruct.js generate|verify");
        process.exit(2);
    }
}
