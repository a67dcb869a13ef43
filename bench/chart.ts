// A horizontal bar chart of a bench run, as a standalone SVG (no dependency, no script).

/** One bar: a label, its value, and whether it is ours (drawn in the accent colour). */
export interface Bar {
  label: string;
  value: number;
  ours: boolean;
  /** Text after the bar's value, e.g. its p99. */
  note?: string;
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Draws `bars` (grouped under `sections`, in order) with a common scale, titled `title`. */
export function barChart(title: string, sections: { heading: string; bars: Bar[] }[], unit: string): string {
  const labelWidth = 400;
  const barWidth = 420;
  const rowHeight = 22;
  const width = labelWidth + barWidth + 170;
  const max = Math.max(1, ...sections.flatMap((s) => s.bars.map((b) => b.value)));
  const out: string[] = [];
  let y = 34;
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`);
  for (const section of sections) {
    y += 8;
    out.push(`<text x="10" y="${y + 12}" font-size="12" font-weight="bold" fill="#444">${escape(section.heading)}</text>`);
    y += rowHeight;
    for (const bar of section.bars) {
      const w = Math.max(1, Math.round((bar.value / max) * barWidth));
      out.push(`<text x="${labelWidth - 8}" y="${y + 14}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`);
      out.push(`<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="${rowHeight - 6}" fill="${bar.ours ? "#2f6fdb" : "#9aa4b1"}"/>`);
      const text = `${Math.round(bar.value).toLocaleString("en-US")} ${unit}${bar.note ? `  ${bar.note}` : ""}`;
      out.push(`<text x="${labelWidth + w + 6}" y="${y + 14}" font-size="11" fill="#222">${escape(text)}</text>`);
      y += rowHeight;
    }
  }
  const height = y + 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...out,
    `</svg>`,
    "",
  ].join("\n");
}

/** The chart of one bench result: every figure's req/s (and p99), HTTP/1.1 rows apart from HTTP/2 ones. */
export function resultChart(result: {
  date: string;
  cores: number;
  node: string;
  pinned: boolean;
  connections: number;
  h2: { connections: number; streams: number };
  figures: Record<string, { rps: number; p99ms: number }>;
  http2: string[];
}): string {
  const bars = (names: string[]) => names.map((name) => ({ label: name, value: result.figures[name]!.rps, ours: name.startsWith("bookstore"), note: `p99 ${result.figures[name]!.p99ms.toFixed(1)} ms` }));
  const names = Object.keys(result.figures);
  return barChart(
    `npm run bench, ${result.date.slice(0, 10)}: ${result.cores} cores, Node ${result.node}, ${result.pinned ? "servers on core 0, load on core 1" : "unpinned"}`,
    [
      { heading: `HTTP/1.1, Connect JSON unary (wrk, ${result.connections} connections)`, bars: bars(names.filter((n) => !result.http2.includes(n))) },
      { heading: `HTTP/2 h2c (h2load, ${result.h2.connections} connections x ${result.h2.streams} streams)`, bars: bars(result.http2) },
    ],
    "req/s",
  );
}
