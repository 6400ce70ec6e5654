/**
 * Hand-written SVG charts with log-scale axes (no dependency): per-stage latency against its budget, and
 * scaling curves. Pure string building, so the same run's numbers become the docs' figures.
 */
export interface LatencyBar {
  readonly label: string;
  readonly p50: number;
  readonly p99: number;
  readonly budget?: number;
}

export interface Curve {
  readonly label: string;
  readonly points: readonly { n: number; ns: number }[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** Decades [10^a, 10^b] covering all values (at least one decade). */
export function logDomain(values: readonly number[]): [number, number] {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return [0, 1];
  const lo = Math.floor(Math.log10(Math.min(...pos)));
  const hi = Math.ceil(Math.log10(Math.max(...pos)));
  return [lo, hi > lo ? hi : lo + 1];
}

function fmtNs(decade: number): string {
  const v = 10 ** decade;
  if (v >= 1e6) return `${v / 1e6} ms`;
  if (v >= 1e3) return `${v / 1e3} µs`;
  return `${v} ns`;
}

/** Horizontal bars (p50, p99 whisker) per stage and a budget tick, on a log ns axis. */
export function latencySvg(bars: readonly LatencyBar[], title: string): string {
  const left = 300, right = 30, top = 40, row = 22, width = 900;
  const height = top + bars.length * row + 50;
  const [lo, hi] = logDomain(bars.flatMap((b) => [b.p50, b.p99, b.budget ?? 0]));
  const x = (v: number): number => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (width - left - right);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`, `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`];
  for (let d = lo; d <= hi; d++) {
    out.push(`<line x1="${x(10 ** d)}" y1="${top - 5}" x2="${x(10 ** d)}" y2="${height - 40}" stroke="#ddd"/>`,
      `<text x="${x(10 ** d)}" y="${height - 25}" text-anchor="middle">${fmtNs(d)}</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * row;
    out.push(`<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(b.p50) - left).toFixed(1)}" height="12" fill="${COLORS[0]}"/>`,
      `<line x1="${x(b.p50).toFixed(1)}" y1="${y + 10}" x2="${x(b.p99).toFixed(1)}" y2="${y + 10}" stroke="#333"/>`,
      `<line x1="${x(b.p99).toFixed(1)}" y1="${y + 5}" x2="${x(b.p99).toFixed(1)}" y2="${y + 15}" stroke="#333"/>`);
    if (b.budget !== undefined) out.push(`<path d="M${x(b.budget).toFixed(1)} ${y + 2} l4 9 l-4 9 l-4 -9 z" fill="${COLORS[1]}"/>`);
  });
  out.push(`<text x="${left}" y="${height - 8}">bar: p50 ns/packet across vectors; whisker: p99; red diamond: course budget (log scale)</text>`, '</svg>');
  return out.join('\n');
}

/** Log-log curves of ns against table size, one per series. */
export function scalingSvg(curves: readonly Curve[], title: string): string {
  const left = 70, right = 200, top = 40, bottom = 50, width = 760, height = 420;
  const [xlo, xhi] = logDomain(curves.flatMap((c) => c.points.map((p) => p.n)));
  const [ylo, yhi] = logDomain(curves.flatMap((c) => c.points.map((p) => p.ns)));
  const x = (v: number): number => left + ((Math.log10(v) - xlo) / (xhi - xlo)) * (width - left - right);
  const y = (v: number): number => height - bottom - ((Math.log10(v) - ylo) / (yhi - ylo)) * (height - top - bottom);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`, `<text x="${(width - right) / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`];
  for (let d = xlo; d <= xhi; d++) out.push(`<line x1="${x(10 ** d)}" y1="${top}" x2="${x(10 ** d)}" y2="${height - bottom}" stroke="#ddd"/>`, `<text x="${x(10 ** d)}" y="${height - bottom + 15}" text-anchor="middle">${(10 ** d).toLocaleString('en-US')}</text>`);
  for (let d = ylo; d <= yhi; d++) out.push(`<line x1="${left}" y1="${y(10 ** d)}" x2="${width - right}" y2="${y(10 ** d)}" stroke="#ddd"/>`, `<text x="${left - 5}" y="${y(10 ** d) + 4}" text-anchor="end">${fmtNs(d)}</text>`);
  out.push(`<text x="${(width - right) / 2}" y="${height - 12}" text-anchor="middle">table size (rules, Services or entries; log)</text>`);
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...c.points].filter((p) => p.n > 0 && p.ns > 0).sort((a, b) => a.n - b.n);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.n).toFixed(1)},${y(p.ns).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${x(p.n).toFixed(1)}" cy="${y(p.ns).toFixed(1)}" r="3" fill="${color}"/>`);
    out.push(`<rect x="${width - right + 10}" y="${top + i * 18}" width="10" height="10" fill="${color}"/>`, `<text x="${width - right + 25}" y="${top + i * 18 + 9}">${esc(c.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
