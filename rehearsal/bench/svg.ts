/**
 * A Gantt chart of one cutover as SVG: one row per step (bars in seconds from the start of the window), the
 * downtime window shaded, an axis in seconds.
 */
import type { BenchStep } from "./run";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function ganttSvg(title: string, steps: BenchStep[], window: number): string {
    const from = Math.min(0, ...steps.map(s => s.start));
    const to = Math.max(window, ...steps.map(s => s.end));
    const span = Math.max(to - from, 0.1);
    const labelW = 230;
    const plotW = 720;
    const rowH = 20;
    const top = 46;
    const height = top + steps.length * rowH + 40;
    const x = (t: number) => labelW + ((t - from) / span) * plotW;
    const out: string[] = [];
    out.push(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 30}" height="${height}" font-family="sans-serif" font-size="12">`,
        `<rect width="100%" height="100%" fill="#fff"/>`,
        `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}: window ${window.toFixed(1)} s</text>`,
        `<rect x="${x(0).toFixed(1)}" y="${top - 8}" width="${(x(window) - x(0)).toFixed(1)}" height="${steps.length * rowH + 12}" fill="#f4cccc" opacity="0.6"/>`,
        `<text x="${x(0).toFixed(1)}" y="${top - 12}" fill="#990000">downtime window</text>`,
    );
    steps.forEach((s, i) => {
        const y = top + i * rowH;
        const w = Math.max(x(s.end) - x(s.start), 1);
        const color = s.host === "target" ? "#3d85c6" : s.host === "source" ? "#6aa84f" : "#999999";
        out.push(
            `<text x="10" y="${y + 13}">${esc(s.name)}${s.host ? ` (${esc(s.host)})` : ""}</text>`,
            `<rect x="${x(s.start).toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"><title>${esc(s.name)}: ${(s.end - s.start).toFixed(2)} s</title></rect>`,
            `<text x="${(x(s.start) + w + 4).toFixed(1)}" y="${y + 13}" font-size="10">${(s.end - s.start).toFixed(1)} s</text>`,
        );
    });
    const axisY = top + steps.length * rowH + 12;
    out.push(`<line x1="${labelW}" y1="${axisY}" x2="${labelW + plotW}" y2="${axisY}" stroke="#000"/>`);
    const tick = niceTick(span);
    for (let t = Math.ceil(from / tick) * tick; t <= to + 1e-9; t += tick) {
        out.push(
            `<line x1="${x(t).toFixed(1)}" y1="${axisY}" x2="${x(t).toFixed(1)}" y2="${axisY + 5}" stroke="#000"/>`,
            `<text x="${x(t).toFixed(1)}" y="${axisY + 18}" text-anchor="middle" font-size="10">${Number(t.toFixed(1))} s</text>`,
        );
    }
    out.push("</svg>");
    return out.join("\n") + "\n";
}

function niceTick(span: number): number {
    const raw = span / 10;
    const p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map(m => m * p).find(t => t >= raw) ?? raw;
}
