import { createCipheriv, createHash } from "node:crypto";

/** Deterministic pseudo-random source (mulberry32 for numbers, AES-CTR keystream for bulk bytes). */
export class Rng {
    private state: number;
    private key: Buffer | undefined;

    constructor(
        private readonly seed: number,
        private readonly label = "root",
    ) {
        const h = createHash("sha256").update(`${seed}:${label}`).digest();
        this.state = h.readUInt32LE(0);
    }

    /** A child stream, independent of how many numbers this one has produced. */
    fork(label: string): Rng {
        return new Rng(this.seed, `${this.label}/${label}`);
    }

    /** Uniform in [0, 1). */
    next(): number {
        this.state = (this.state + 0x6d2b79f5) | 0;
        let t = this.state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }

    /** Integer in [min, max]. */
    int(min: number, max: number): number {
        return min + Math.floor(this.next() * (max - min + 1));
    }

    chance(p: number): boolean {
        return this.next() < p;
    }

    pick<T>(items: readonly T[]): T {
        if (items.length === 0) throw new Error("pick from empty list");
        return items[Math.floor(this.next() * items.length)] as T;
    }

    /** Index in [0, n) skewed towards 0 (a few prolific accounts, a long tail). */
    skewed(n: number, power = 2.5): number {
        return Math.min(n - 1, Math.floor(n * Math.pow(this.next(), power)));
    }

    /** Standard normal (Box-Muller). */
    gauss(): number {
        const u = Math.max(this.next(), 1e-12);
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
    }

    hex(chars: number): string {
        let out = "";
        while (out.length < chars)
            out += Math.floor(this.next() * 4294967296)
                .toString(16)
                .padStart(8, "0");
        return out.slice(0, chars);
    }

    /** `n` deterministic bytes from an AES-128-CTR keystream keyed by seed/label and a counter. */
    bytes(n: number): Buffer {
        this.key ??= createHash("sha256").update(`${this.seed}:${this.label}:bytes`).digest().subarray(0, 16);
        const key = this.key;
        const iv = Buffer.alloc(16);
        iv.writeUInt32BE(this.int(0, 0xffffffff), 0);
        iv.writeUInt32BE(this.int(0, 0xffffffff), 4);
        return createCipheriv("aes-128-ctr", key, iv).update(Buffer.alloc(n));
    }
}
