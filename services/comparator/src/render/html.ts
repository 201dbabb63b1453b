/**
 * The HTML report: one self-contained page (inline CSS, inline SVG, no script) that an on-call
 * engineer can open from a file, mail, or attach to a ticket. Every number carries its n and
 * its interval or p-value; every chart has the same numbers in a table beside it.
 */
import {
  fmtCount,
  fmtDuration,
  fmtInterval,
  fmtMs,
  fmtNum,
  fmtP,
  fmtPct,
  fmtPctInterval,
  fmtRatio,
  fmtTime,
  NA,
  pctNumber,
  segmentLabel,
} from './format.ts';
import {
  buildView,
  driftDistances,
  featureLabel,
  featureName,
  fmtShift,
  labelOf,
  thresholdOf,
  unitOf,
  type CandidateView,
  type DocumentView,
  type DriftView,
  type RenderOptions,
  type ResolvedOptions,
  resolveOptions,
  type VerdictStatus,
} from './model.ts';
import { esc, forestPlot, groupedBars, thresholdGauge, type ForestRow, type ReferenceLine } from './svg.ts';
import type { MetricRow, Report } from './types.ts';

export interface HtmlOptions extends RenderOptions {
  /** Segments drawn in the forest plot (worst first); the rest are in no chart. Default 24. */
  maxForestRows?: number;
}

const STATUS_TEXT: Record<VerdictStatus, string> = {
  ok: 'OK',
  worse: 'Worse',
  inconclusive: 'Inconclusive',
  reference: 'A/A noise',
};

const STATUS_EXPLAIN: Record<VerdictStatus, string> = {
  ok: 'every check passed with its whole 95 % interval on the good side',
  worse: 'at least one check failed with its whole 95 % interval on the bad side',
  inconclusive: 'the evidence does not decide yet: an interval straddles a threshold or there are too few pairs',
  reference: 'the baseline replayed against itself; the floor candidates are compared with',
};

const SERIES = [
  { name: 'baseline', colour: '#8c959f' },
  { name: 'candidate', colour: '#0969da' },
];

const CSS = `
:root { color-scheme: light; --ok:#1a7f37; --ok-bg:#dafbe1; --worse:#c62828; --worse-bg:#ffebe9; --inc:#9a6700; --inc-bg:#fff8c5;
  --ref:#6e40c9; --ref-bg:#fbefff; --fg:#24292f; --muted:#57606a; --line:#d0d7de; --zebra:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
header.page, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header.page { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
h3 { font-size: 16px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0 0 16px; }
.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci, .n, .p { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { font-weight: 600; background: var(--zebra); }
tbody th { font-weight: 600; }
td.r, th.r { text-align: right; }
tbody tr:nth-child(even) > * { background: #fbfcfd; }
table.compact { width: auto; min-width: 360px; }
nav.toc td:first-child { white-space: nowrap; }
caption { text-align: left; color: var(--muted); padding: 4px 0; caption-side: bottom; font-size: 12px; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--zebra); padding: 1px 4px; border-radius: 4px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; }
.badge.ok { color: var(--ok); background: var(--ok-bg); } .badge.worse { color: var(--worse); background: var(--worse-bg); }
.badge.inconclusive { color: var(--inc); background: var(--inc-bg); } .badge.reference { color: var(--ref); background: var(--ref-bg); }
.role { color: var(--muted); font-size: 14px; font-weight: 400; }
section.candidate { border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px 16px; margin: 24px 0; }
.verdict { border-radius: 8px; padding: 12px 16px; margin: 14px 0 4px; border-left: 6px solid; }
.verdict.ok { background: var(--ok-bg); border-color: var(--ok); } .verdict.worse { background: var(--worse-bg); border-color: var(--worse); }
.verdict.inconclusive { background: var(--inc-bg); border-color: var(--inc); } .verdict.reference { background: var(--ref-bg); border-color: var(--ref); }
.verdict .status { font-size: 18px; font-weight: 700; margin: 0; }
.verdict.ok .status { color: var(--ok); } .verdict.worse .status { color: var(--worse); }
.verdict.inconclusive .status { color: var(--inc); } .verdict.reference .status { color: var(--ref); }
.verdict .summary { margin: 2px 0 6px; font-variant-numeric: tabular-nums; }
.verdict .why { margin: 0 0 4px; color: var(--muted); font-size: 13px; }
.verdict ul { margin: 4px 0 0; padding-left: 0; list-style: none; }
.verdict li { margin: 2px 0; padding-left: 22px; position: relative; }
.verdict li::before { position: absolute; left: 0; font-weight: 700; }
.verdict li.worse::before { content: "✗"; color: var(--worse); } .verdict li.inconclusive::before { content: "?"; color: var(--inc); }
.verdict li.ok::before { content: "✓"; color: var(--ok); }
.headline { font-size: 22px; font-weight: 650; margin: 4px 0 2px; }
.headline .ci, .headline .n { font-size: 15px; font-weight: 400; }
.grid { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 20px; align-items: start; }
table.dense th, table.dense td { padding: 4px 6px; font-size: 13px; }
td.r { white-space: nowrap; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
.chart { margin: 4px 0; }
.hist svg { max-width: 640px; }
details.production { margin: 12px 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; }
details.production summary { cursor: pointer; color: var(--muted); }
.over { color: var(--worse); font-weight: 600; } .under { color: var(--ok); }
.empty { color: var(--muted); font-style: italic; }
nav.toc table td:first-child a { font-weight: 600; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 32px; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
footer dt { font-weight: 600; }
@media print { section.candidate { break-inside: avoid-page; } }
`;

function slug(text: string): string {
  return `c-${text.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
}

function fmtEvidence(m: MetricRow | undefined, unit: 'pct' | 'ms' | 'ratio' | 'num', opts: { n?: boolean; stacked?: boolean } = {}): string {
  if (!m) return `<span class="empty">${NA}</span>`;
  const value =
    unit === 'pct' ? fmtPct(m.value) : unit === 'ms' ? fmtMs(m.value) : unit === 'ratio' ? fmtRatio(m.value) : fmtNum(m.value);
  let interval = '';
  if (m.lower !== null && m.upper !== null) {
    interval =
      unit === 'pct'
        ? fmtPctInterval(m.lower, m.upper)
        : unit === 'ms'
          ? `${fmtInterval(m.lower, m.upper, (v) => fmtMs(v).replace(' ms', ''))} ms`
          : unit === 'ratio'
            ? fmtInterval(m.lower, m.upper, (v) => v.toFixed(2))
            : fmtInterval(m.lower, m.upper);
  }
  const p = fmtP(m.p_value, m.p_adjusted);
  const gap = opts.stacked ? '<br>' : ' ';
  return `<span class="num">${esc(value)}</span>${interval ? `${gap}<span class="ci">${esc(interval)}</span>` : ''}${p ? `${gap}<span class="p">${esc(p)}</span>` : ''}${opts.n === false ? '' : ` <span class="n">n=${esc(fmtCount(m.n))}</span>`}`;
}

function td(content: string, cls = ''): string {
  return `<td${cls ? ` class="${cls}"` : ''}>${content}</td>`;
}

function table(opts: { testId: string; caption?: string; head: Array<{ label: string; right?: boolean }>; rows: string[]; compact?: boolean; dense?: boolean }): string {
  const head = opts.head.map((h) => `<th scope="col"${h.right ? ' class="r"' : ''}>${esc(h.label)}</th>`).join('');
  const cls = [opts.compact ? 'compact' : '', opts.dense ? 'dense' : ''].filter(Boolean).join(' ');
  return `<table data-testid="${esc(opts.testId)}"${cls ? ` class="${cls}"` : ''}>${opts.caption ? `<caption>${esc(opts.caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${opts.rows.join('')}</tbody></table>`;
}

function verdictBlock(c: CandidateView): string {
  const v = c.verdict;
  const items = v.findings.map((f) => `<li class="${f.status}">${esc(f.text)}</li>`).join('');
  return `<div class="verdict ${v.status}" data-testid="verdict" data-status="${v.status}" role="status">
<p class="status" data-testid="verdict-status">${esc(STATUS_TEXT[v.status])}</p>
<p class="summary" data-testid="verdict-summary">${esc(v.summary)}</p>
<p class="why">${esc(STATUS_EXPLAIN[v.status])}.</p>
${items ? `<ul>${items}</ul>` : ''}
</div>`;
}

function agreementFloor(c: CandidateView, opts: ResolvedOptions): { value: number; label: string } | undefined {
  if (c.role === 'noise') return undefined;
  return { value: opts.minAgreement, label: `floor ${pctNumber(opts.minAgreement, 1)} %` };
}

function agreementSection(c: CandidateView, opts: ResolvedOptions, maxRows: number): string {
  const a = c.agreement;
  const parts: string[] = ['<h3>Agreement with the baseline</h3>'];
  if (!a) return `${parts[0]}<p class="empty">no agreement metric in this window</p>`;
  parts.push(
    `<p class="headline" data-testid="agreement">${esc(fmtPct(a.value))} <span class="ci" data-testid="agreement-interval">${esc(fmtPctInterval(a.lower, a.upper))}</span> <span class="n">n=${esc(fmtCount(a.n))} · ${esc(a.method)}</span></p>`,
  );
  if (c.noiseAgreement) {
    parts.push(`<p class="meta">A/A noise (baseline vs itself): ${fmtEvidence(c.noiseAgreement, 'pct')}</p>`);
  }
  const floor = agreementFloor(c, opts);
  const segs = c.segments.filter((s) => s.agreement).slice(0, maxRows);
  const rows: ForestRow[] = [
    { label: 'overall', value: a.value, lower: a.lower, upper: a.upper, note: `${fmtPct(a.value)} ${fmtPctInterval(a.lower, a.upper)} n=${fmtCount(a.n)}`, tone: 'overall' },
  ];
  for (const s of segs) {
    const m = s.agreement!;
    const tone: ForestRow['tone'] =
      !floor ? 'noise' : m.lower === null || m.upper === null ? 'inconclusive' : m.upper < floor.value ? 'worse' : m.lower < floor.value ? 'inconclusive' : 'ok';
    rows.push({ label: segmentLabel(s.key, s.value), value: m.value, lower: m.lower, upper: m.upper, note: `${fmtPct(m.value)} ${fmtPctInterval(m.lower, m.upper)} n=${fmtCount(m.n)}`, tone });
  }
  const refs: ReferenceLine[] = [];
  if (floor) refs.push({ value: floor.value, label: floor.label, tone: 'threshold' });
  const noise = c.noiseAgreement;
  if (noise && noise.value !== null) refs.push({ value: noise.value, label: `A/A ${pctNumber(noise.value, 1)} %`, tone: 'noise' });
  const hidden = c.segments.filter((s) => s.agreement).length - segs.length;
  parts.push(
    `<figure class="chart"><figcaption class="meta">Agreement by segment, worst lower bound first: dot = estimate, bar = 95 % interval${floor ? `, red dashed line = the ${esc(pctNumber(floor.value, 1))} % floor${noise ? ', purple = the A/A noise agreement' : ''}. Red: interval wholly below the floor; amber: overlaps it; green: above it` : ''}.${hidden > 0 ? ` ${hidden} more segments are in the JSON output.` : ''}</figcaption>${forestPlot(rows, {
      title: `Agreement of ${c.candidate} with the baseline by segment, with 95 % intervals`,
      refs,
      fmt: (v) => `${Number(pctNumber(v, 2))} %`,
      domain: [0, 1],
      testId: 'agreement-forest',
    })}</figure>`,
  );
  const shifts = labelShiftTable(c, opts);
  if (shifts) parts.push(shifts);
  const confusion = confusionTable(c);
  if (confusion) parts.push(confusion);
  const output = outputMetricsTable(c);
  if (output) parts.push(output);
  return parts.join('\n');
}

/** Per label: the net share of traffic the candidate moves into it, with McNemar's p. */
function labelShiftTable(c: CandidateView, opts: ResolvedOptions): string {
  if (c.labelShifts.length === 0) return '';
  const rows = c.labelShifts.map((m) => {
    const p = m.p_adjusted ?? m.p_value;
    const significant = p !== null && p < opts.alpha;
    const b = typeof m.details.b === 'number' ? m.details.b : null;
    const k = typeof m.details.c === 'number' ? m.details.c : null;
    return `<tr><th scope="row">${esc(labelOf(m))}</th>${td(`<span class="num${significant && Math.abs(m.value ?? 0) > opts.maxLabelShift ? ' over' : ''}">${esc(fmtShift(m.value))}</span> <span class="ci">${esc(fmtPctInterval(m.lower, m.upper))}</span>`, 'r')}${td(`<span class="p">${esc(fmtP(m.p_value, m.p_adjusted) || 'no flips')}</span>`)}${td(esc(b === null ? '' : fmtCount(b)), 'r')}${td(esc(k === null ? '' : fmtCount(k)), 'r')}${td(esc(fmtCount(m.n)), 'r')}</tr>`;
  });
  return `<h4>Label shifts</h4>${table({
    testId: 'label-shifts',
    caption: 'Net share of traffic the candidate moves into each label (paired, so flips one way and back cancel); McNemar test with continuity correction, p adjusted across labels and segments where the report adjusts it.',
    head: [{ label: 'label' }, { label: 'net shift [95 %]', right: true }, { label: 'McNemar p' }, { label: 'out of it', right: true }, { label: 'into it', right: true }, { label: 'n', right: true }],
    rows,
  })}`;
}

function confusionTable(c: CandidateView): string {
  const m = c.confusion;
  if (!m || m.labels.length === 0 || m.labels.length > 12) return '';
  const head = [{ label: 'baseline ↓ / candidate →' }, ...m.labels.map((l) => ({ label: l, right: true }))];
  const rows = m.labels.map(
    (b, i) => `<tr><th scope="row">${esc(b)}</th>${m.labels.map((_, j) => td(esc(fmtCount(m.counts[i]?.[j] ?? 0)), i === j || !(m.counts[i]?.[j]) ? 'r' : 'r over')).join('')}</tr>`,
  );
  return `<h4>Confusion</h4>${table({ testId: 'confusion', caption: `Pairs by baseline and candidate label, n=${fmtCount(m.n)}; off-diagonal cells are flips.`, head, rows, compact: true })}`;
}

const OUTPUT_NAMES: Record<string, string> = {
  mae: 'mean |candidate − baseline|',
  bias: 'mean (candidate − baseline)',
  rmse: 'root mean square difference',
  abs_diff_p99: 'p99 of |candidate − baseline|',
  abs_diff_max: 'max |candidate − baseline|',
  within_tolerance: 'within tolerance',
  slope: 'slope of candidate on baseline',
  topk_overlap_mean: 'top-k overlap (mean)',
  rbo_mean: 'rank-biased overlap (mean)',
  jaccard_mean: 'Jaccard (mean)',
};

/** Numeric and ranking agreement, where the task has them. */
function outputMetricsTable(c: CandidateView): string {
  if (c.outputMetrics.length === 0) return '';
  const rows = c.outputMetrics.map(
    (m) => `<tr><th scope="row">${esc(OUTPUT_NAMES[m.metric] ?? m.metric)}</th>${td(fmtEvidence(m, unitOf(m.metric), { n: false }), 'r')}${td(esc(fmtCount(m.n)), 'r')}${td(esc(m.method))}</tr>`,
  );
  return `<h4>Output differences</h4>${table({ testId: 'output-metrics', head: [{ label: 'metric' }, { label: 'value [95 %]', right: true }, { label: 'n', right: true }, { label: 'method' }], rows })}`;
}

function latencySection(c: CandidateView): string {
  const parts: string[] = ['<h3>Latency</h3>'];
  // Quantiles the report did not compute are left out of the chart rather than drawn as gaps.
  const present = c.latency.filter((l) => l.baseline || l.candidate || l.diff || l.ratio);
  if (present.length === 0) {
    parts.push('<p class="empty">no latency metrics in this window</p>');
  } else {
    const bar = (series: string, m: MetricRow | undefined) => ({ series, value: m?.value ?? null, lower: m?.lower ?? null, upper: m?.upper ?? null, text: fmtMs(m?.value).replace(' ms', '') });
    const chart = groupedBars(
      present.map((l) => ({ label: l.quantile, bars: [bar('baseline', l.baseline), bar('candidate', l.candidate)] })),
      { title: `Latency quantiles of baseline and ${c.candidate} on the same events (ms)`, series: SERIES, unit: (v) => `${Number(v.toPrecision(3))} ms`, testId: 'latency-chart' },
    );
    const rows = present.map((l) => {
      const n = l.ratio?.n ?? l.diff?.n ?? l.candidate?.n ?? l.baseline?.n ?? 0;
      const cell = (m: MetricRow | undefined, unit: 'ms' | 'ratio') => td(fmtEvidence(m, unit, { n: false, stacked: true }), 'r');
      return `<tr><th scope="row">${l.quantile}</th>${cell(l.baseline, 'ms')}${cell(l.candidate, 'ms')}${cell(l.diff, 'ms')}${cell(l.ratio, 'ratio')}${td(esc(fmtCount(n)), 'r')}</tr>`;
    });
    const method = present.map((l) => l.candidate?.method ?? l.ratio?.method).find(Boolean) ?? '';
    const withInterval = present.some((l) => [l.baseline, l.candidate, l.diff, l.ratio].some((m) => m && m.lower !== null && m.upper !== null));
    parts.push(
      `<div class="grid"><figure class="chart">${chart}<figcaption class="meta">Bars: quantile on the same events${withInterval ? '; whiskers: 95 % interval' : ''}.</figcaption></figure><div>${table({
        testId: 'latency-table',
        dense: true,
        caption: `Diff = candidate − baseline; ratio = candidate / baseline; n = pairs with both calls ok.${method ? ` Quantiles: ${method}.` : ''}${withInterval ? '' : ' The report gives no interval for quantiles, so n is the evidence.'}`,
        head: [{ label: 'quantile' }, { label: 'baseline', right: true }, { label: 'candidate', right: true }, { label: 'diff', right: true }, { label: 'ratio', right: true }, { label: 'n', right: true }],
        rows,
      })}</div></div>`,
    );
  }
  const rates: string[] = [];
  for (const [name, m] of [['candidate errors', c.errorRate], ['candidate timeouts', c.timeoutRate], ['baseline errors (production)', c.baselineErrorRate]] as const) {
    if (m) rates.push(`<tr><th scope="row">${esc(name)}</th>${td(fmtEvidence(m, 'pct'), 'r')}${td(esc(m.method))}</tr>`);
  }
  if (rates.length) {
    parts.push(table({ testId: 'error-rates', caption: 'Share of pairs; Wilson 95 % intervals.', head: [{ label: 'failures' }, { label: 'rate [95 %]', right: true }, { label: 'method' }], rows: rates }));
  }
  return parts.join('\n');
}

/** "1 000" or, for a comparison with a reference window, "1 000 (ref. 4 000)". */
function driftN(m: MetricRow): string {
  const ref = m.details.n_ref;
  return typeof ref === 'number' && m.details.reference !== 'baseline' ? `${fmtCount(m.n)} (ref. ${fmtCount(ref)})` : fmtCount(m.n);
}

function driftFeature(d: DriftView, opts: ResolvedOptions): string {
  const rows: string[] = [];
  for (const { label, metric: m } of driftDistances(d)) {
    const limit = thresholdOf(m, opts.driftThreshold);
    if (m.value === null) {
      rows.push(`<tr><th scope="row">${esc(label)}</th>${td('<span class="empty">n/a</span>', 'r')}${td('')}${td(esc(`${limit}`), 'r')}${td('<span class="empty">no data on one side</span>')}${td(esc(driftN(m)), 'r')}${td(esc(m.method))}</tr>`);
      continue;
    }
    const over = m.value > limit;
    const gauge = thresholdGauge(m.value, limit, { label: `${label} ${fmtNum(m.value)} against threshold ${limit}` });
    rows.push(
      `<tr><th scope="row">${esc(label)}</th>${td(`<span class="num ${over ? 'over' : 'under'}">${esc(fmtNum(m.value))}</span>`, 'r')}${td(gauge)}${td(esc(`${over ? '>' : '≤'} ${limit}`), 'r')}${td(`<span class="ci">${esc(fmtInterval(m.lower, m.upper))}</span> <span class="p">${esc(fmtP(m.p_value, m.p_adjusted))}</span>`)}${td(esc(driftN(m)), 'r')}${td(esc(m.method))}</tr>`,
    );
  }
  if (d.ks) {
    const m = d.ks;
    const p = m.p_adjusted ?? m.p_value;
    const shifted = p !== null && p < opts.alpha;
    const pText = fmtP(m.p_value, m.p_adjusted);
    rows.push(
      `<tr><th scope="row">Kolmogorov–Smirnov D</th>${td(`<span class="num">${esc(fmtNum(m.value))}</span>`, 'r')}${td(pText ? `<span class="p ${shifted ? 'over' : 'under'}">${esc(pText)}</span>` : '<span class="empty">no test</span>')}${td(pText ? esc(`p ${shifted ? '<' : '≥'} ${opts.alpha}`) : '', 'r')}${td(`<span class="ci">${esc(fmtInterval(m.lower, m.upper))}</span>`)}${td(esc(driftN(m)), 'r')}${td(esc(m.method))}</tr>`,
    );
  }
  const parts = [`<h4>${esc(featureLabel(d))}</h4>`];
  const h = d.histogram;
  // A side with no values has nothing to draw; the table says n/a.
  if (h && h.reference.some((x) => x > 0) && h.current.some((x) => x > 0)) {
    const names = d.against === 'baseline' ? ['baseline', 'candidate'] : ['reference window', 'this window'];
    parts.push(
      `<figure class="chart hist">${groupedBars(
        h.labels.map((label, i) => ({
          label,
          bars: [
            { series: names[0]!, value: h.reference[i] ?? null, text: `${pctNumber(h.reference[i] ?? 0, 1)} %` },
            { series: names[1]!, value: h.current[i] ?? null, text: `${pctNumber(h.current[i] ?? 0, 1)} %` },
          ],
        })),
        {
          title: `Distribution of ${featureLabel(d)}: share per bin`,
          series: d.against === 'baseline' ? SERIES : [{ name: names[0]!, colour: '#8c959f' }, { name: names[1]!, colour: '#8250df' }],
          unit: (v) => `${Number(pctNumber(v, 0))} %`,
          testId: 'drift-histogram',
          width: 640,
          height: 170,
          valueLabels: false,
        },
      )}<figcaption class="meta">Share per bin, as PSI was computed (bins: ${d.against === 'baseline' ? "deciles of the baseline's values" : 'deciles of the reference window'}, or the categories).</figcaption></figure>`,
    );
  }
  parts.push(
    table({
      testId: 'drift',
      caption: `${d.against === 'baseline' ? "The candidate's outputs against the baseline's on the same pairs." : 'This window against the reference window.'} Distances above ${opts.driftThreshold} and KS p-values below ${opts.alpha} mark a shift.`,
      head: [{ label: 'statistic' }, { label: 'value', right: true }, { label: 'against threshold' }, { label: 'threshold', right: true }, { label: 'interval / p' }, { label: 'n', right: true }, { label: 'method' }],
      rows,
    }),
  );
  return parts.join('\n');
}

function driftSection(c: CandidateView, opts: ResolvedOptions): string {
  const head = '<h3>Drift</h3>';
  if (c.drift.length === 0) return `${head}<p class="empty">no drift metrics in this window</p>`;
  const own = c.drift.filter((d) => d.against === 'baseline');
  const production = c.drift.filter((d) => d.against !== 'baseline');
  const parts = [head];
  for (const d of own) parts.push(driftFeature(d, opts));
  if (production.length) {
    // The same for every candidate and never part of the verdict, so it is folded away.
    const shifted = production.filter((d) => driftDistances(d).some((x) => x.metric.value !== null && x.metric.value > thresholdOf(x.metric, opts.driftThreshold)));
    const measured = production.filter((d) => driftDistances(d).some((x) => x.metric.value !== null));
    const summary = shifted.length
      ? `${shifted.length} of ${production.length} shifted: ${shifted.map((d) => featureName(d.feature)).join(', ')}`
      : measured.length === 0
        ? 'no data in the reference window to compare with'
        : `${measured.length} of ${production.length} features measured, none past the thresholds`;
    parts.push(
      `<details class="production" data-testid="production-drift"><summary>Production traffic, this window vs the reference window (same for every candidate; not part of the verdict): <span class="${shifted.length ? 'over' : ''}">${esc(summary)}</span></summary>${production.map((d) => driftFeature(d, opts)).join('\n')}</details>`,
    );
  }
  return parts.join('\n');
}

function segmentsSection(c: CandidateView, opts: ResolvedOptions): string {
  const segs = c.segments.filter((s) => s.agreement || s.shift).slice(0, opts.topSegments);
  const head = '<h3>Worst segments</h3>';
  if (segs.length === 0) return `${head}<p class="empty">no segment metrics (no segment keys in this window)</p>`;
  const floor = agreementFloor(c, opts);
  const rows = segs.map((s) => {
    const m = s.agreement;
    const bad = floor && m?.upper !== null && m?.upper !== undefined && m.upper < floor.value;
    const shift = s.shift ? `${fmtShift(s.shift.value)} into ${JSON.stringify(labelOf(s.shift))}` : '';
    const label = segmentLabel(s.key, s.value);
    return `<tr data-testid="segment-row" data-segment="${esc(label)}"><th scope="row">${esc(label)}</th>${td(`<span class="num${bad ? ' over' : ''}">${esc(fmtPct(m?.value))}</span>`, 'r')}${td(`<span class="ci">${esc(fmtPctInterval(m?.lower, m?.upper))}</span>`)}${td(esc(fmtCount(m?.n ?? s.shift?.n ?? 0)), 'r')}${td(esc(shift), 'r')}${td(`<span class="p">${esc(s.shift ? fmtP(s.shift.p_value, s.shift.p_adjusted) : '')}</span>`)}</tr>`;
  });
  return `${head}${table({
    testId: 'worst-segments',
    caption: `Lowest agreement lower bound first (${segs.length} of ${c.segments.length} segments). Shift: the segment's most significant label shift; p adjusted across labels and segments where the report adjusts it.`,
    head: [{ label: 'segment' }, { label: 'agreement', right: true }, { label: '95 % interval' }, { label: 'n', right: true }, { label: 'label shift', right: true }, { label: 'p' }],
    rows,
  })}`;
}

function fieldsSection(c: CandidateView, opts: ResolvedOptions): string {
  if (c.fields.length === 0) return '';
  const fields = c.fields.slice(0, opts.topSegments);
  const rows = fields.map((f) => {
    const m = f.candidate;
    const count = typeof m.details.count === 'number' ? m.details.count : m.value !== null ? Math.round(m.value * m.n) : null;
    const noise = f.noiseRate !== null ? `${fmtPct(f.noiseRate)} <span class="n">n=${esc(fmtCount(f.noisePairs))}</span>` : '<span class="empty">no A/A pairs</span>';
    const verdict = f.real === null ? '<span class="empty">n/a</span>' : f.real ? '<span class="over">yes</span>' : 'no';
    return `<tr data-testid="field-row"><th scope="row"><code>${esc(f.path)}</code></th>${td(`<span class="num${f.real ? ' over' : ''}">${esc(fmtPct(m.value))}</span> <span class="ci">${esc(fmtPctInterval(m.lower, m.upper))}</span>`, 'r')}${td(noise, 'r')}${td(verdict)}${td(esc(count === null ? NA : `${fmtCount(count)} of ${fmtCount(m.n)}`), 'r')}</tr>`;
  });
  return `<h3>Differing fields</h3>${table({
    testId: 'differing-fields',
    caption: `Share of compared pairs whose outputs differ at the path, highest first (${fields.length} of ${c.fields.length}). Beyond noise: the rate exceeds the A/A rate by the report's relative and absolute thresholds (Diffy-style).`,
    head: [{ label: 'field path' }, { label: 'rate [95 %]', right: true }, { label: 'A/A noise rate', right: true }, { label: 'beyond noise' }, { label: 'pairs differing', right: true }],
    rows,
  })}`;
}

function canarySection(c: CandidateView): string {
  if (c.canary.length === 0) return '';
  const rows = c.canary.map((m) => `<tr><th scope="row">${esc(m.metric.replace(/_/g, ' '))}</th>${td(fmtEvidence(m, unitOf(m.metric), { n: false }), 'r')}${td(esc(fmtCount(m.n)), 'r')}${td(esc(m.method))}</tr>`);
  return `<h3>Canary (live arms)</h3>${table({ testId: 'canary', caption: 'Stable vs canary arm on different requests (unpaired).', head: [{ label: 'metric' }, { label: 'value [95 %] / p', right: true }, { label: 'n', right: true }, { label: 'method' }], rows })}`;
}

function candidateSection(c: CandidateView, opts: ResolvedOptions, maxForestRows: number): string {
  const id = slug(c.candidate);
  const role = c.role === 'noise' ? 'A/A noise: the baseline replayed against itself' : 'candidate';
  return `<section class="candidate" id="${esc(id)}" data-testid="candidate" data-candidate="${esc(c.candidate)}" aria-labelledby="${esc(id)}-h">
<h2 id="${esc(id)}-h">${esc(c.candidate)} <span class="role">${esc(role)}</span> <span class="badge ${c.verdict.status}">${esc(STATUS_TEXT[c.verdict.status])}</span></h2>
<p class="meta">run <code>${esc(c.report.runId)}</code> · window ${esc(fmtTime(c.report.window.from))} → ${esc(fmtTime(c.report.window.to))} · computed ${esc(fmtTime(c.report.createdAt))}</p>
${verdictBlock(c)}
${agreementSection(c, opts, maxForestRows)}
${latencySection(c)}
${driftSection(c, opts)}
${segmentsSection(c, opts)}
${fieldsSection(c, opts)}
${canarySection(c)}
</section>`;
}

function overview(view: DocumentView): string {
  const rows = view.candidates.map((c) => {
    const p99 = c.latency.find((l) => l.quantile === 'p99');
    // The same comparison the verdict makes: against the A/A replay when there is one.
    const latency =
      c.p99VsAA !== undefined
        ? `<span class="num">${esc(fmtRatio(c.p99VsAA))}</span> <span class="n">vs A/A, n=${esc(fmtCount(p99?.candidate?.n ?? 0))}</span>`
        : fmtEvidence(p99?.ratio, 'ratio');
    return `<tr><td><a href="#${esc(slug(c.candidate))}">${esc(c.candidate)}</a>${c.role === 'noise' ? ' <span class="role">(A/A)</span>' : ''}</td>${td(`<span class="badge ${c.verdict.status}">${esc(STATUS_TEXT[c.verdict.status])}</span>`)}${td(fmtEvidence(c.agreement, 'pct'), 'r')}${td(latency, 'r')}${td(fmtEvidence(c.errorRate, 'pct'), 'r')}</tr>`;
  });
  return `<nav class="toc" aria-label="Candidates">${table({
    testId: 'overview',
    head: [{ label: 'candidate' }, { label: 'verdict' }, { label: 'agreement [95 %]', right: true }, { label: 'p99 latency ratio', right: true }, { label: 'error rate', right: true }],
    rows,
  })}</nav>`;
}

export function renderHtml(reports: readonly Report[], options: HtmlOptions = {}): string {
  const view = buildView(reports, options);
  const opts = resolveOptions(options);
  const maxForestRows = options.maxForestRows ?? 24;
  const { from, to } = view.window;
  const title = `umbra report — ${view.experiment || 'no experiment'}`;
  const body = view.candidates.length
    ? `${overview(view)}\n${view.candidates.map((c) => candidateSection(c, opts, maxForestRows)).join('\n')}`
    : '<p class="empty" data-testid="no-reports">No pairs in this window, so there is nothing to report. Check the window and that the replayer is writing pairs.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="umbra">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="page">
<h1>umbra report: <span data-testid="experiment">${esc(view.experiment)}</span></h1>
<p class="meta" data-testid="window">window <span class="num">${esc(fmtTime(from))}</span> → <span class="num">${esc(fmtTime(to))}</span> (${esc(fmtDuration(to - from))}) · generated ${esc(fmtTime(view.generatedAt))} · intervals are 95 %, n is the number of pairs behind each number</p>
</header>
<main>
${body}
</main>
<footer>
<h2 style="font-size:14px;margin-top:24px">How to read this</h2>
<dl>
<dt>verdict</dt><dd>OK: every check passed with its whole interval on the good side. Worse: a check failed with its whole interval on the bad side. Inconclusive: an interval straddles a threshold or there are too few pairs (at least ${esc(fmtCount(opts.minPairs))}); more traffic decides.</dd>
<dt>agreement</dt><dd>share of pairs where the candidate's output agrees with the baseline's (task-specific), judged against the A/A noise floor when the baseline was replayed against itself, else ${esc(fmtPct(opts.minAgreement))}.</dd>
<dt>latency</dt><dd>quantiles measured on the same events; the p99 ratio may be at most ${esc(fmtRatio(opts.maxLatencyRatio))}.</dd>
<dt>drift</dt><dd>PSI, Jensen–Shannon and normed Wasserstein above ${opts.driftThreshold}, or a KS p-value below ${opts.alpha}: a shift worth a look; both together: worse. Adjusted p-values (for the number of tests) are shown where the report computes them.</dd>
</dl>
</footer>
</body>
</html>
`;
}
