/**
 * Baseline versus optimised p95 per query as a self-contained SVG (no
 * dependencies): one panel per concurrency, horizontal bars on a log scale,
 * since the two schemas differ by orders of magnitude.
 */
import * as fs from "fs";
import * as path from "path";
import { TARGETS, type BenchResults } from "./report";

const COLORS = { baseline: "#9aa0a6", optimized: "#1a73e8", target: "#d93025", grid: "#e0e0e0", text: "#202124" } as const;
/** Layout in px: label column, bar area, row and bar heights. */
const LAYOUT = { labelW: 190, plotW: 520, valueW: 80, rowH: 26, barH: 10, panelGap: 6, top: 58, axisH: 10 } as const;

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

function fmt(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

/** Axis tick label for a power of ten. */
function tick(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms >= 1 ? ms.toFixed(0) : ms.toFixed(Math.round(-Math.log10(ms)))} ms`;
}

/**
 * Renders the chart as an SVG document. `lowerBounds` holds
 * "<query>@<clients>@baseline|optimized" for cells whose calls hit the
 * statement_timeout; their labels get a "≥".
 */
export function renderP95Chart(r: BenchResults, lowerBounds: ReadonlySet<string> = new Set()): string {
  const names = [...new Set(r.queries.map((q) => q.name))];
  const concurrencies = [...new Set(r.queries.map((q) => q.concurrency))].sort((a, b) => a - b);
  const all = r.queries.flatMap((q) => [q.baseline.p95, q.optimized.p95]).filter((v) => v > 0);
  // Decade-aligned log axis covering every value and the 10 ms target.
  const lo = Math.floor(Math.log10(Math.min(...all, TARGETS.hotP95Ms)));
  const hi = Math.ceil(Math.log10(Math.max(...all, TARGETS.hotP95Ms)));
  const x = (ms: number) => LAYOUT.labelW + ((Math.log10(Math.max(ms, 10 ** lo)) - lo) / Math.max(hi - lo, 1)) * LAYOUT.plotW;
  const panelH = names.length * LAYOUT.rowH + LAYOUT.axisH + 24;
  const width = LAYOUT.labelW + LAYOUT.plotW + LAYOUT.valueW + 20;
  const height = LAYOUT.top + concurrencies.length * (panelH + LAYOUT.panelGap);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12" fill="${COLORS.text}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">p95 latency per query: baseline schema vs after the optimisation migrations</text>`,
    `<text x="10" y="38">Scale ${r.scale}, PostgreSQL ${escapeXml(r.pgVersion)}, closed loop, log scale; red line: the ${TARGETS.hotP95Ms} ms target; ≥: calls cut at statement_timeout.</text>`,
    `<rect x="${LAYOUT.labelW}" y="44" width="10" height="10" fill="${COLORS.baseline}"/><text x="${LAYOUT.labelW + 14}" y="53">baseline</text>`,
    `<rect x="${LAYOUT.labelW + 80}" y="44" width="10" height="10" fill="${COLORS.optimized}"/><text x="${LAYOUT.labelW + 94}" y="53">optimised</text>`,
  );
  concurrencies.forEach((c, pi) => {
    const y0 = LAYOUT.top + pi * (panelH + LAYOUT.panelGap) + 16;
    out.push(`<text x="10" y="${y0}" font-weight="bold">${c} client${c === 1 ? "" : "s"}</text>`);
    const plotTop = y0 + 8;
    const plotBottom = plotTop + names.length * LAYOUT.rowH;
    for (let d = lo; d <= hi; d++) {
      const gx = x(10 ** d);
      out.push(`<line x1="${gx}" y1="${plotTop}" x2="${gx}" y2="${plotBottom}" stroke="${COLORS.grid}"/>`);
      out.push(`<text x="${gx}" y="${plotBottom + 14}" text-anchor="middle" font-size="10">${tick(10 ** d)}</text>`);
    }
    const tx = x(TARGETS.hotP95Ms);
    out.push(`<line x1="${tx}" y1="${plotTop - 4}" x2="${tx}" y2="${plotBottom}" stroke="${COLORS.target}" stroke-dasharray="4 3"/>`);
    names.forEach((name, i) => {
      const q = r.queries.find((e) => e.name === name && e.concurrency === c);
      const ry = plotTop + i * LAYOUT.rowH;
      out.push(`<text x="${LAYOUT.labelW - 8}" y="${ry + LAYOUT.rowH / 2 + 4}" text-anchor="end">${escapeXml(name)}</text>`);
      if (!q) return;
      const bars: [number, string, number, boolean][] = [
        [q.baseline.p95, COLORS.baseline, ry + 2, lowerBounds.has(`${name}@${c}@baseline`)],
        [q.optimized.p95, COLORS.optimized, ry + 2 + LAYOUT.barH + 1, lowerBounds.has(`${name}@${c}@optimized`)],
      ];
      for (const [v, color, by, atLeast] of bars) {
        const w = Math.max(x(v) - LAYOUT.labelW, 1);
        out.push(`<rect x="${LAYOUT.labelW}" y="${by}" width="${w.toFixed(1)}" height="${LAYOUT.barH}" fill="${color}"/>`);
        out.push(`<text x="${(LAYOUT.labelW + w + 4).toFixed(1)}" y="${by + LAYOUT.barH - 1}" font-size="10">${atLeast ? "≥ " : ""}${fmt(v)}</text>`);
      }
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Writes the chart to `file`, creating its directory. */
export function writeP95Chart(file: string, r: BenchResults, lowerBounds?: ReadonlySet<string>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderP95Chart(r, lowerBounds));
}
