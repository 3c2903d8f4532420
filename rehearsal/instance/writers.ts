import { closeSync, openSync, writeSync } from "node:fs";

export type SqlValue = string | number | bigint | boolean | null;

/** Buffered append-only file writer that counts bytes. */
export class FileSink {
    private readonly fd: number;
    private chunks: string[] = [];
    private pending = 0;
    bytes = 0;

    constructor(path: string) {
        this.fd = openSync(path, "w");
    }

    write(text: string): void {
        this.chunks.push(text);
        this.pending += text.length;
        if (this.pending > 1 << 20) this.flush();
    }

    close(): void {
        this.flush();
        closeSync(this.fd);
    }

    private flush(): void {
        if (this.chunks.length === 0) return;
        const buf = Buffer.from(this.chunks.join(""), "utf8");
        writeSync(this.fd, buf);
        this.bytes += buf.length;
        this.chunks = [];
        this.pending = 0;
    }
}

/** One value in COPY text format (tab-separated, `\N` for NULL, backslash escapes). */
export function copyValue(v: SqlValue): string {
    if (v === null) return "\\N";
    if (typeof v === "boolean") return v ? "t" : "f";
    if (typeof v !== "string") return String(v);
    return v.replace(/[\\\n\r\t]/g, c => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t"));
}

/** Writes `COPY table (cols) FROM stdin;` ... `\.` blocks into a sink. */
export class CopyWriter {
    rows = 0;

    constructor(
        private readonly sink: FileSink,
        table: string,
        columns: readonly string[],
    ) {
        sink.write(`\nCOPY public.${table} (${columns.join(", ")}) FROM stdin;\n`);
    }

    row(values: readonly SqlValue[]): void {
        this.sink.write(values.map(copyValue).join("\t") + "\n");
        this.rows++;
    }

    end(): void {
        this.sink.write("\\.\n");
    }
}

/** Redis commands serialised as RESP arrays, ready for `redis-cli --pipe`. */
export class RespWriter {
    commands = 0;
    readonly keys = new Set<string>();

    constructor(private readonly sink: FileSink) {}

    command(args: readonly (string | number)[]): void {
        const parts = [`*${args.length}\r\n`];
        for (const arg of args) {
            const s = String(arg);
            parts.push(`$${Buffer.byteLength(s, "utf8")}\r\n${s}\r\n`);
        }
        this.sink.write(parts.join(""));
        this.commands++;
    }

    /** A command whose second argument is a key it creates. */
    keyed(args: readonly (string | number)[]): void {
        this.keys.add(String(args[1]));
        this.command(args);
    }
}
