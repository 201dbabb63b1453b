/**
 * Inline SVG charts for the HTML report, generated as strings so the page needs no script and
 * no library. Every chart carries a <title> and an aria-label, and its numbers are also in a
 * table next to it, so nothing is only visible as a shape.
 */

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"`;

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function r1(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

export interface ForestRow {
  label: string;
  value: number | null;
  lower: number | null;
  upper: number | null;
  /** Text at the right end of the row: the number, its interval and n. */
  note: string;
  tone?: 'ok' | 'worse' | 'inconclusive' | 'overall' | 'noise';
}

export interface ReferenceLine {
  value: number;
  label: string;
  tone: 'overall' | 'noise' | 'threshold';
}

const TONE: Record<string, string> = {
  ok: '#1a7f37',
  worse: '#c62828',
  inconclusive: '#9a6700',
  overall: '#24292f',
  noise: '#6e40c9',
  threshold: '#c62828',
};

/**
 * A forest plot: one row per segment, a dot at the estimate and a bar over its interval, with
 * vertical reference lines (the overall value, the A/A noise floor). `fmt` labels the axis.
 */
export function forestPlot(
  rows: ForestRow[],
  opts: { title: string; refs?: ReferenceLine[]; fmt: (v: number) => string; testId?: string; width?: number; domain?: [number, number] },
): string {
  const width = opts.width ?? 860;
  const labelW = 190;
  const noteW = 250;
  const rowH = 24;
  const top = 34;
  const plotX = labelW;
  const plotW = width - labelW - noteW;
  const height = top + rows.length * rowH + 30;
  const refs = opts.refs ?? [];

  const values: number[] = [];
  for (const r of rows) for (const v of [r.value, r.lower, r.upper]) if (v !== null && Number.isFinite(v)) values.push(v);
  for (const ref of refs) values.push(ref.value);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  const pad = Math.max((hi - lo) * 0.08, 1e-4);
  lo -= pad;
  hi += pad;
  // A rate cannot leave [0, 1]: padding past 100 % would draw an axis tick nobody can reach.
  if (opts.domain) {
    lo = Math.max(lo, opts.domain[0]);
    hi = Math.min(hi, opts.domain[1]);
  }
  const x = (v: number) => plotX + ((v - lo) / (hi - lo)) * plotW;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(opts.title)}"${opts.testId ? ` data-testid="${esc(opts.testId)}"` : ''} ${FONT} font-size="12">`,
    `<title>${esc(opts.title)}</title>`,
  );
  // Zebra rows so the eye can follow a label to its bar.
  rows.forEach((_, i) => {
    if (i % 2 === 1) parts.push(`<rect x="0" y="${top + i * rowH}" width="${width}" height="${rowH}" fill="#f6f8fa"/>`);
  });
  for (const t of niceTicks(lo, hi, 6)) {
    const tx = r1(x(t));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${top - 4}" y2="${top + rows.length * rowH}" stroke="#d0d7de" stroke-width="1"/>`);
    parts.push(`<text x="${tx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#57606a">${esc(opts.fmt(t))}</text>`);
  }
  refs.forEach((ref, i) => {
    const rx = r1(x(ref.value));
    const dash = ref.tone === 'overall' ? '' : ' stroke-dasharray="5 3"';
    parts.push(`<line x1="${rx}" x2="${rx}" y1="${top - 4}" y2="${top + rows.length * rowH}" stroke="${TONE[ref.tone]}" stroke-width="1.5"${dash}/>`);
    // Stagger the labels so two close references do not print on top of each other.
    const ly = i % 2 === 0 ? 12 : 25;
    parts.push(`<text x="${rx}" y="${ly}" text-anchor="middle" fill="${TONE[ref.tone]}" font-weight="600">${esc(ref.label)}</text>`);
  });
  rows.forEach((row, i) => {
    const cy = top + i * rowH + rowH / 2;
    const colour = TONE[row.tone ?? 'overall'];
    const weight = row.tone === 'overall' ? ' font-weight="700"' : '';
    parts.push(`<text x="${labelW - 10}" y="${r1(cy + 4)}" text-anchor="end" fill="#24292f"${weight}>${esc(truncate(row.label, 28))}</text>`);
    if (row.lower !== null && row.upper !== null && Number.isFinite(row.lower) && Number.isFinite(row.upper)) {
      const x1 = r1(x(row.lower));
      const x2 = r1(x(row.upper));
      parts.push(`<line x1="${x1}" x2="${x2}" y1="${r1(cy)}" y2="${r1(cy)}" stroke="${colour}" stroke-width="2.5" stroke-linecap="round"/>`);
      parts.push(`<line x1="${x1}" x2="${x1}" y1="${r1(cy - 5)}" y2="${r1(cy + 5)}" stroke="${colour}" stroke-width="1.5"/>`);
      parts.push(`<line x1="${x2}" x2="${x2}" y1="${r1(cy - 5)}" y2="${r1(cy + 5)}" stroke="${colour}" stroke-width="1.5"/>`);
    }
    if (row.value !== null && Number.isFinite(row.value)) {
      const shape =
        row.tone === 'overall'
          ? `<rect x="${r1(x(row.value) - 5)}" y="${r1(cy - 5)}" width="10" height="10" transform="rotate(45 ${r1(x(row.value))} ${r1(cy)})" fill="${colour}"/>`
          : `<circle cx="${r1(x(row.value))}" cy="${r1(cy)}" r="4.5" fill="${colour}"/>`;
      parts.push(shape);
    }
    parts.push(`<text x="${plotX + plotW + 12}" y="${r1(cy + 4)}" fill="#24292f"${weight}>${esc(row.note)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface BarGroup {
  label: string;
  bars: Array<{ series: string; value: number | null; lower?: number | null; upper?: number | null; text: string }>;
}

/**
 * Grouped vertical bars (e.g. p50/p95/p99 × baseline/candidate), value printed above each bar,
 * an error whisker where the bar has an interval.
 */
export function groupedBars(
  groups: BarGroup[],
  opts: {
    title: string;
    series: Array<{ name: string; colour: string }>;
    unit: (v: number) => string;
    testId?: string;
    width?: number;
    height?: number;
    /** Print each bar's value above it (default); off for dense charts, where the <title> still carries it. */
    valueLabels?: boolean;
  },
): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 260;
  const left = 64;
  const right = 12;
  const top = 34;
  const bottom = 30;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  let max = 0;
  for (const g of groups) for (const b of g.bars) for (const v of [b.value, b.upper]) if (typeof v === 'number' && Number.isFinite(v)) max = Math.max(max, v);
  if (max <= 0) max = 1;
  const ticks = niceTicks(0, max * 1.12, 5);
  const top1 = Math.max(ticks[ticks.length - 1] ?? max, max * 1.12);
  const y = (v: number) => top + plotH - (v / top1) * plotH;
  const groupW = plotW / Math.max(groups.length, 1);
  const nSeries = opts.series.length;
  const barW = Math.min(44, (groupW * 0.7) / Math.max(nSeries, 1));

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(opts.title)}"${opts.testId ? ` data-testid="${esc(opts.testId)}"` : ''} ${FONT} font-size="12">`,
    `<title>${esc(opts.title)}</title>`,
  );
  for (const t of ticks) {
    const ty = r1(y(t));
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${ty}" y2="${ty}" stroke="#d0d7de"/>`);
    parts.push(`<text x="${left - 6}" y="${r1(y(t) + 4)}" text-anchor="end" fill="#57606a">${esc(opts.unit(t))}</text>`);
  }
  // Legend on top, left-aligned with the plot.
  let lx = left;
  for (const s of opts.series) {
    parts.push(`<rect x="${lx}" y="8" width="12" height="12" rx="2" fill="${s.colour}"/>`);
    parts.push(`<text x="${lx + 17}" y="18" fill="#24292f">${esc(s.name)}</text>`);
    lx += 30 + s.name.length * 7;
  }
  groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * nSeries) / 2;
    g.bars.forEach((b, bi) => {
      const colour = opts.series.find((s) => s.name === b.series)?.colour ?? '#888';
      const bx = gx + bi * barW;
      if (b.value === null || !Number.isFinite(b.value)) {
        parts.push(`<text x="${r1(bx + barW / 2)}" y="${r1(y(0) - 4)}" text-anchor="middle" fill="#57606a">n/a</text>`);
        return;
      }
      const by = y(b.value);
      parts.push(`<rect x="${r1(bx + 2)}" y="${r1(by)}" width="${r1(barW - 4)}" height="${r1(y(0) - by)}" fill="${colour}" rx="2"><title>${esc(`${g.label} ${b.series}: ${b.text}`)}</title></rect>`);
      let labelY = by - 5;
      if (typeof b.lower === 'number' && typeof b.upper === 'number' && Number.isFinite(b.lower) && Number.isFinite(b.upper)) {
        const cx = r1(bx + barW / 2);
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${r1(y(b.lower))}" y2="${r1(y(b.upper))}" stroke="#24292f" stroke-width="1.5"/>`);
        parts.push(`<line x1="${r1(bx + barW / 2 - 5)}" x2="${r1(bx + barW / 2 + 5)}" y1="${r1(y(b.upper))}" y2="${r1(y(b.upper))}" stroke="#24292f" stroke-width="1.5"/>`);
        parts.push(`<line x1="${r1(bx + barW / 2 - 5)}" x2="${r1(bx + barW / 2 + 5)}" y1="${r1(y(b.lower))}" y2="${r1(y(b.lower))}" stroke="#24292f" stroke-width="1.5"/>`);
        labelY = Math.min(labelY, y(b.upper) - 5);
      }
      if (opts.valueLabels ?? true) parts.push(`<text x="${r1(bx + barW / 2)}" y="${r1(labelY)}" text-anchor="middle" fill="#24292f" font-size="11">${esc(b.text)}</text>`);
    });
    // Narrow groups (histogram bins) get a smaller label so neighbours do not run into each other.
    const size = groupW < 70 ? ' font-size="10"' : '';
    parts.push(`<text x="${r1(left + gi * groupW + groupW / 2)}" y="${height - 10}" text-anchor="middle" fill="#24292f" font-weight="600"${size}>${esc(g.label)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${r1(y(0))}" y2="${r1(y(0))}" stroke="#57606a"/>`);
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A small horizontal gauge: the value as a bar on a scale that always shows the threshold,
 * red past it. For drift statistics next to their numbers.
 */
export function thresholdGauge(value: number | null, threshold: number, opts: { label: string; width?: number }): string {
  const width = opts.width ?? 140;
  const height = 16;
  const max = Math.max(threshold * 2, value ?? 0) * 1.05;
  const x = (v: number) => (Math.min(Math.max(v, 0), max) / max) * (width - 2) + 1;
  const over = value !== null && value > threshold;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(opts.label)}">`,
    `<title>${esc(opts.label)}</title>`,
    `<rect x="1" y="3" width="${width - 2}" height="10" rx="3" fill="#eaeef2"/>`,
  ];
  if (value !== null && Number.isFinite(value)) {
    parts.push(`<rect x="1" y="3" width="${r1(Math.max(x(value) - 1, 1.5))}" height="10" rx="3" fill="${over ? TONE.worse : TONE.ok}"/>`);
  }
  parts.push(`<line x1="${r1(x(threshold))}" x2="${r1(x(threshold))}" y1="0" y2="${height}" stroke="#24292f" stroke-width="1.5"/>`);
  parts.push('</svg>');
  return parts.join('');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
