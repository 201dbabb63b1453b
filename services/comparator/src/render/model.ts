/**
 * What the renderers show, read out of `Report[]` once: per candidate its headline metrics, its
 * segments ordered worst first, latency quantiles, drift per feature, differing fields, and a
 * verdict. Pure: the table, JSON and HTML renderers all start from this view, so they agree.
 *
 * Metric names are those of sql/reports/*.sql (agreement_rate, label_flip_mcnemar, confusion,
 * latency_p99_candidate, latency_p99_ratio, error_rate, psi, js_distance, ks, ...); the earlier
 * spellings (agreement, label_shift, candidate_latency_p99, ...) are read too.
 */
import { fmtCount, fmtNum, fmtP, fmtPct, fmtPctInterval, fmtRatio, segmentLabel } from './format.ts';
import type { MetricRow, Report } from './types.ts';

export const LEVEL = 0.95;
export const QUANTILES = ['p50', 'p95', 'p99'] as const;
export type Quantile = (typeof QUANTILES)[number];

export interface RenderOptions {
  /** The experiment named when `reports` is empty. */
  experiment?: string;
  /** Below this many compared pairs the verdict is inconclusive. Default 200. */
  minPairs?: number;
  /** Agreement (overall, and in any segment with enough pairs) below this is worse. Default 0.98. */
  minAgreement?: number;
  /** A systematic label shift larger than this share of traffic is worse. Default 0.005. */
  maxLabelShift?: number;
  /** A candidate p99 more than this many times the baseline's is worse. Default 1.2. */
  maxLatencyRatio?: number;
  /** Candidate error and timeout rates may exceed the baseline's error rate by this much. Default 0.005. */
  maxErrorRateIncrease?: number;
  /** Significance for label shifts and drift tests. Default 0.05. */
  alpha?: number;
  /** A drift distance (PSI, Jensen–Shannon, normed Wasserstein) above this is a shift. Default 0.1. */
  driftThreshold?: number;
  /** Rows in the worst-segments and differing-fields tables. Default 10. */
  topSegments?: number;
  /** Time the document was rendered (epoch ms); default now. Fixed in tests. */
  now?: number;
}

export type ResolvedOptions = Required<Omit<RenderOptions, 'now' | 'experiment'>> & { now: number };

export function resolveOptions(opts: RenderOptions = {}): ResolvedOptions {
  return {
    minPairs: opts.minPairs ?? 200,
    minAgreement: opts.minAgreement ?? 0.98,
    maxLabelShift: opts.maxLabelShift ?? 0.005,
    maxLatencyRatio: opts.maxLatencyRatio ?? 1.2,
    maxErrorRateIncrease: opts.maxErrorRateIncrease ?? 0.005,
    alpha: opts.alpha ?? 0.05,
    driftThreshold: opts.driftThreshold ?? 0.1,
    topSegments: opts.topSegments ?? 10,
    now: opts.now ?? Date.now(),
  };
}

export type VerdictStatus = 'ok' | 'worse' | 'inconclusive' | 'reference';

export interface Finding {
  status: 'ok' | 'worse' | 'inconclusive';
  /** One sentence with the number, its interval or p, and n. */
  text: string;
}

export interface Verdict {
  status: VerdictStatus;
  /** The one-line summary, e.g. "agreement 99.31 % [99.18, 99.42] n=19 960; p99 latency ×1.04; ...". */
  summary: string;
  /** Why: worse findings first, then inconclusive ones, then what passed. */
  findings: Finding[];
}

export interface SegmentView {
  key: string;
  value: string;
  agreement: MetricRow | undefined;
  /** The segment's most telling label shift into a label: the most significant, then the largest. */
  shift: MetricRow | undefined;
}

export interface LatencyView {
  quantile: Quantile;
  baseline: MetricRow | undefined;
  candidate: MetricRow | undefined;
  diff: MetricRow | undefined;
  ratio: MetricRow | undefined;
}

export interface Histogram {
  labels: string[];
  reference: number[];
  current: number[];
}

export interface DriftView {
  /** details.feature, e.g. output_value, output_label, baseline_latency_ms, attribute:age. */
  feature: string;
  /** What the current sample is compared with: the baseline's outputs on the same pairs, or a reference window. */
  against: 'baseline' | 'reference window';
  psi: MetricRow | undefined;
  js: MetricRow | undefined;
  ks: MetricRow | undefined;
  wasserstein: MetricRow | undefined;
  histogram: Histogram | undefined;
}

export interface FieldView {
  path: string;
  candidate: MetricRow;
  /** The path's difference rate in the A/A noise pairs; null without A/A pairs. */
  noiseRate: number | null;
  noisePairs: number | null;
  /** Diffy-style: the candidate's rate beats the A/A rate by the relative and absolute thresholds; null without A/A pairs. */
  real: boolean | null;
}

export interface ConfusionView {
  labels: string[];
  /** counts[i][j]: baseline said labels[i], candidate said labels[j]. */
  counts: number[][];
  n: number;
}

export interface CandidateView {
  report: Report;
  candidate: string;
  role: Report['role'];
  agreement: MetricRow | undefined;
  /** The A/A noise run's overall agreement: how often the baseline agrees with itself. */
  noiseAgreement: MetricRow | undefined;
  /** The A/A run's replayed p99 latency: the baseline's latency in the same replay environment. */
  noiseLatencyP99: MetricRow | undefined;
  /** Candidate p99 / A/A p99 when both have enough pairs: the like-for-like latency ratio. */
  p99VsAA: number | undefined;
  /** Overall label shifts, one per label, most significant first. */
  labelShifts: MetricRow[];
  confusion: ConfusionView | undefined;
  errorRate: MetricRow | undefined;
  timeoutRate: MetricRow | undefined;
  baselineErrorRate: MetricRow | undefined;
  latency: LatencyView[];
  /** Overall numeric and ranking agreement (mae, bias, rmse, slope, within_tolerance, rbo_mean, ...). */
  outputMetrics: MetricRow[];
  /** Segments, worst first: lowest agreement lower bound, then largest label shift. */
  segments: SegmentView[];
  /** Overall drift per feature: candidate vs baseline first, then window vs reference window. */
  drift: DriftView[];
  /** Differing fields, highest rate first. */
  fields: FieldView[];
  /** Overall metrics of the canary report (live arms), when the run has them. */
  canary: MetricRow[];
  verdict: Verdict;
}

export interface DocumentView {
  experiment: string;
  window: { from: number; to: number };
  generatedAt: number;
  candidates: CandidateView[];
}

const overall = (m: MetricRow) => m.segment_key === '';

/** The overall metric under the first of `names` the report has. */
function find(report: Report | undefined, names: readonly string[]): MetricRow | undefined {
  if (!report) return undefined;
  for (const name of names) {
    const m = report.metrics.find((x) => x.metric === name && overall(x));
    if (m) return m;
  }
  return undefined;
}

const AGREEMENT = ['agreement_rate', 'agreement'];
const LABEL_SHIFT = ['label_flip_mcnemar', 'label_shift'];
const ERROR_RATE = ['error_rate', 'candidate_error_rate'];
const TIMEOUT_RATE = ['timeout_rate', 'candidate_timeout_rate'];
const LATENCY_NAMES: Record<keyof Omit<LatencyView, 'quantile'>, (q: Quantile) => string[]> = {
  baseline: (q) => [`latency_${q}_baseline`, `baseline_latency_${q}`],
  candidate: (q) => [`latency_${q}_candidate`, `candidate_latency_${q}`],
  diff: (q) => [`latency_${q}_diff`, `latency_diff_${q}`],
  ratio: (q) => [`latency_${q}_ratio`, `latency_ratio_${q}`],
};
export const OUTPUT_METRICS = ['mae', 'bias', 'rmse', 'abs_diff_p99', 'abs_diff_max', 'within_tolerance', 'slope', 'topk_overlap_mean', 'rbo_mean', 'jaccard_mean'];

export type Unit = 'pct' | 'ms' | 'ratio' | 'num';

/** How to print a metric by its name: shares as %, latencies in ms, ratios as ×. */
export function unitOf(metric: string): Unit {
  if (/ratio/.test(metric)) return 'ratio';
  if (/^latency_p\d\d_(?!ratio)|^(?:baseline|candidate|stable|canary)_latency_p\d\d$|^latency_diff_p\d\d$/.test(metric)) return 'ms';
  if (/(?:^|_)rate(?:_diff)?$/.test(metric) || metric === 'agreement' || metric === 'within_tolerance') return 'pct';
  return 'num';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function pOf(m: MetricRow): number | null {
  return num(m.p_adjusted) ? m.p_adjusted : num(m.p_value) ? m.p_value : null;
}

/** Most significant first; equal p (or none) by the size of the shift. */
function bySignificance(a: MetricRow, b: MetricRow): number {
  const pa = pOf(a) ?? 2;
  const pb = pOf(b) ?? 2;
  if (pa !== pb) return pa - pb;
  return Math.abs(b.value ?? 0) - Math.abs(a.value ?? 0);
}

export function labelOf(m: MetricRow): string {
  return str(m.details.label) ?? '?';
}

function segmentsOf(report: Report): SegmentView[] {
  const byId = new Map<string, SegmentView>();
  const view = (m: MetricRow) => {
    const id = `${m.segment_key}\u0000${m.segment_value}`;
    let v = byId.get(id);
    if (!v) {
      v = { key: m.segment_key, value: m.segment_value, agreement: undefined, shift: undefined };
      byId.set(id, v);
    }
    return v;
  };
  for (const m of report.metrics) {
    if (overall(m) || m.report !== 'agreement') continue;
    if (AGREEMENT.includes(m.metric)) view(m).agreement = m;
    else if (LABEL_SHIFT.includes(m.metric) && (m.value ?? 0) >= 0) {
      // Shifts out of one label are shifts into others: the "into" side tells it.
      const v = view(m);
      if (!v.shift || bySignificance(m, v.shift) < 0) v.shift = m;
    }
  }
  return [...byId.values()].sort(worstFirst);
}

/** Lowest agreement lower bound first; among equals (or without agreement) the largest label shift. */
export function worstFirst(a: SegmentView, b: SegmentView): number {
  const la = a.agreement?.lower ?? a.agreement?.value ?? Number.POSITIVE_INFINITY;
  const lb = b.agreement?.lower ?? b.agreement?.value ?? Number.POSITIVE_INFINITY;
  if (la !== lb) return la - lb;
  const fa = Math.abs(a.shift?.value ?? 0);
  const fb = Math.abs(b.shift?.value ?? 0);
  if (fa !== fb) return fb - fa;
  return `${a.key}=${a.value}`.localeCompare(`${b.key}=${b.value}`);
}

const DRIFT_SLOTS: Record<string, 'psi' | 'js' | 'ks' | 'wasserstein'> = {
  psi: 'psi',
  js_distance: 'js',
  jensen_shannon: 'js',
  ks: 'ks',
  wasserstein_normed: 'wasserstein',
};

function numbers(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

/** The binned counts PSI was computed on (details.edges or details.categories with ref_counts / cur_counts). */
function histogramOf(m: MetricRow | undefined): Histogram | undefined {
  if (!m) return undefined;
  const ref = numbers(m.details.ref_counts);
  const cur = numbers(m.details.cur_counts);
  if (!ref || !cur || ref.length !== cur.length || ref.length === 0) return undefined;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0) || 1;
  const share = (xs: number[]) => xs.map((x) => x / sum(xs));
  const categories = Array.isArray(m.details.categories) ? (m.details.categories as unknown[]).map(String) : undefined;
  const edges = numbers(m.details.edges);
  let labels: string[];
  if (categories && categories.length === ref.length) labels = categories;
  else if (edges && edges.length === ref.length - 1) {
    // Bins are (edge[i−1], edge[i]]: the first is "≤ e0", the last "> e_last".
    const edge = (v: number | undefined) => fmtNum(v === undefined ? null : Number(v.toPrecision(2)));
    labels = ref.map((_, i) => (i === 0 ? `≤${edge(edges[0])}` : i === edges.length ? `>${edge(edges[i - 1])}` : `≤${edge(edges[i])}`));
  } else labels = ref.map((_, i) => String(i + 1));
  return { labels, reference: share(ref), current: share(cur) };
}

function driftOf(report: Report): DriftView[] {
  const byFeature = new Map<string, DriftView>();
  for (const m of report.metrics) {
    if (m.report !== 'drift' || !overall(m)) continue;
    const slot = DRIFT_SLOTS[m.metric];
    if (!slot) continue;
    const feature = str(m.details.feature) ?? str(m.details.output) ?? 'output';
    let v = byFeature.get(feature);
    if (!v) {
      const reference = str(m.details.reference);
      const against = reference === 'reference_window' || (reference === undefined && !feature.startsWith('output')) ? 'reference window' : 'baseline';
      v = { feature, against, psi: undefined, js: undefined, ks: undefined, wasserstein: undefined, histogram: undefined };
      byFeature.set(feature, v);
    }
    v[slot] = m;
  }
  for (const v of byFeature.values()) v.histogram = histogramOf(v.psi);
  // The candidate's own drift first: that is what a verdict rests on.
  return [...byFeature.values()].sort((a, b) => (a.against === b.against ? a.feature.localeCompare(b.feature) : a.against === 'baseline' ? -1 : 1));
}

/** A readable name for a drift feature, with what it is compared against. */
export function featureLabel(d: Pick<DriftView, 'feature' | 'against'>): string {
  return `${featureName(d.feature)} (${d.against === 'baseline' ? 'candidate vs baseline' : 'window vs reference window'})`;
}

export function featureName(feature: string): string {
  const names: Record<string, string> = {
    output_value: 'output value',
    output_label: 'output label',
    baseline_value: "baseline's output value",
    baseline_label: "baseline's output label",
    baseline_latency_ms: "baseline's latency",
  };
  return names[feature] ?? (feature.startsWith('attribute:') ? `attribute ${feature.slice('attribute:'.length)}` : feature);
}

function fieldsOf(report: Report): FieldView[] {
  return report.metrics
    .filter((m) => m.metric === 'field_diff_rate' && overall(m))
    .map((m) => ({
      path: str(m.details.path) ?? '(any field)',
      candidate: m,
      noiseRate: num(m.details.noise_rate) ? m.details.noise_rate : null,
      noisePairs: num(m.details.noise_n) && m.details.noise_n > 0 ? m.details.noise_n : null,
      real: typeof m.details.counts === 'boolean' ? m.details.counts : null,
    }))
    .sort((a, b) => (b.candidate.value ?? -1) - (a.candidate.value ?? -1) || a.path.localeCompare(b.path));
}

function confusionOf(report: Report): ConfusionView | undefined {
  const cells = report.metrics.filter((m) => m.metric === 'confusion' && overall(m));
  if (cells.length === 0) return undefined;
  const labels = [...new Set(cells.flatMap((m) => [String(m.details.baseline ?? '?'), String(m.details.candidate ?? '?')]))].sort();
  const counts = labels.map(() => labels.map(() => 0));
  for (const m of cells) {
    const i = labels.indexOf(String(m.details.baseline ?? '?'));
    const j = labels.indexOf(String(m.details.candidate ?? '?'));
    counts[i]![j] = (counts[i]![j] ?? 0) + (m.value ?? 0);
  }
  return { labels, counts, n: cells[0]!.n };
}

export function buildView(reports: readonly Report[], options: RenderOptions = {}): DocumentView {
  const opts = resolveOptions(options);
  const noise = reports.find((r) => r.role === 'noise');
  const noiseAgreement = find(noise, AGREEMENT);
  const noiseLatencyP99 = find(noise, LATENCY_NAMES.candidate('p99'));
  // Candidates first, the A/A reference last: the page is about the candidates.
  const ordered = [...reports].sort((a, b) => (a.role === b.role ? a.candidate.localeCompare(b.candidate) : a.role === 'candidate' ? -1 : 1));
  const candidates = ordered.map((report): CandidateView => {
    const base: Omit<CandidateView, 'verdict'> = {
      report,
      candidate: report.candidate,
      role: report.role,
      agreement: find(report, AGREEMENT),
      noiseAgreement: report.role === 'noise' ? undefined : noiseAgreement,
      noiseLatencyP99: report.role === 'noise' ? undefined : noiseLatencyP99,
      p99VsAA: report.role === 'noise' ? undefined : ratioVsAA(find(report, LATENCY_NAMES.candidate('p99')), noiseLatencyP99, opts.minPairs),
      labelShifts: report.metrics.filter((m) => LABEL_SHIFT.includes(m.metric) && m.report === 'agreement' && overall(m)).sort(bySignificance),
      confusion: confusionOf(report),
      errorRate: find(report, ERROR_RATE),
      timeoutRate: find(report, TIMEOUT_RATE),
      baselineErrorRate: find(report, ['baseline_error_rate']),
      latency: QUANTILES.map((q) => ({
        quantile: q,
        baseline: find(report, LATENCY_NAMES.baseline(q)),
        candidate: find(report, LATENCY_NAMES.candidate(q)),
        diff: find(report, LATENCY_NAMES.diff(q)),
        ratio: find(report, LATENCY_NAMES.ratio(q)),
      })),
      outputMetrics: OUTPUT_METRICS.map((name) => find(report, [name])).filter((m): m is MetricRow => m !== undefined && m.n > 0),
      segments: segmentsOf(report),
      drift: driftOf(report),
      fields: fieldsOf(report),
      canary: report.metrics.filter((m) => m.report === 'canary' && overall(m)),
    };
    return { ...base, verdict: verdictOf(base, opts) };
  });
  const first = reports[0];
  const window = reports.length
    ? { from: Math.min(...reports.map((r) => r.window.from)), to: Math.max(...reports.map((r) => r.window.to)) }
    : { from: opts.now, to: opts.now };
  return { experiment: first?.experiment ?? options.experiment ?? '', window, generatedAt: opts.now, candidates };
}

// ---------------------------------------------------------------------------------------------
// Verdict

/** "99.31 % [99.18, 99.42] n=19 960" */
export function pctWithEvidence(m: MetricRow | undefined): string {
  if (!m || !num(m.value)) return `n/a (n=${fmtCount(m?.n ?? 0)})`;
  const interval = fmtPctInterval(m.lower, m.upper);
  return `${fmtPct(m.value)}${interval ? ` ${interval}` : ''} n=${fmtCount(m.n)}`;
}

/** A signed share of traffic in percentage points: "+4.10 %". */
export function fmtShift(v: number | null | undefined): string {
  if (!num(v)) return 'n/a';
  const text = fmtPct(v);
  return v > 0 && text !== '0.00 %' ? `+${text}` : text;
}

/** "3.42 % of traffic into "reject" [3.09, 3.74] (McNemar p<0.001, n=19 950)"; a negative shift reads "out of". */
export function shiftText(m: MetricRow): string {
  const out = (m.value ?? 0) < 0;
  const flip = (v: number | null) => (v === null ? null : out ? -v : v);
  const interval = out ? fmtPctInterval(flip(m.upper), flip(m.lower)) : fmtPctInterval(m.lower, m.upper);
  return `${fmtPct(flip(m.value))} of traffic ${out ? 'out of' : 'into'} ${JSON.stringify(labelOf(m))}${interval ? ` ${interval}` : ''} (McNemar ${fmtP(m.p_value, m.p_adjusted) || 'no p'}, n=${fmtCount(m.n)})`;
}

/** An interval judged against a limit above which is bad: wholly above → worse, straddling → inconclusive. */
function judgeAbove(m: MetricRow, limit: number): Finding['status'] {
  const lo = num(m.lower) ? m.lower : (m.value ?? 0);
  const hi = num(m.upper) ? m.upper : (m.value ?? 0);
  return lo > limit ? 'worse' : hi > limit ? 'inconclusive' : 'ok';
}

/**
 * What the evidence says about one candidate. Each rule looks at an interval against a
 * threshold: wholly on the bad side is "worse", straddling it is "inconclusive" (more pairs
 * will tell), wholly on the good side passes. A missing number is inconclusive, never ok.
 */
/** Candidate p99 over the A/A replay's p99, both measured in the replay environment; undefined without enough of both. */
function ratioVsAA(candidate: MetricRow | undefined, aa: MetricRow | undefined, minPairs: number): number | undefined {
  if (!candidate || !aa || !num(candidate.value) || !num(aa.value) || aa.value <= 0) return undefined;
  if (candidate.n < minPairs || aa.n < minPairs) return undefined;
  return candidate.value / aa.value;
}

export function verdictOf(v: Omit<CandidateView, 'verdict'>, opts: ResolvedOptions): Verdict {
  const findings: Finding[] = [];
  const a = v.agreement;
  const p99 = v.latency.find((l) => l.quantile === 'p99');
  const err = v.errorRate;
  const parts: string[] = [`agreement ${pctWithEvidence(a)}`];
  if (v.p99VsAA !== undefined) parts.push(`p99 latency ${fmtRatio(v.p99VsAA)} vs A/A`);
  else if (p99?.ratio && num(p99.ratio.value)) parts.push(`p99 latency ${fmtRatio(p99.ratio.value)}`);
  if (err && num(err.value)) parts.push(`errors ${fmtPct(err.value)}${num(err.lower) && num(err.upper) ? ` ${fmtPctInterval(err.lower, err.upper)}` : ''}`);
  const summary = parts.join('; ');

  if (v.role === 'noise') {
    return {
      status: 'reference',
      summary,
      findings: [{ status: 'ok', text: `A/A noise: the baseline replayed against itself agrees ${pctWithEvidence(a)}; it shows how much disagreement is the baseline's own nondeterminism.` }],
    };
  }

  // Enough pairs for anything else to mean something.
  if (!a || !num(a.value) || a.n < opts.minPairs) {
    findings.push({ status: 'inconclusive', text: `only ${fmtCount(a?.n ?? 0)} compared pairs; at least ${fmtCount(opts.minPairs)} are needed for a verdict` });
  }

  // Agreement against the floor. The A/A run is context, not the floor: a retrained model
  // always disagrees more than the baseline does with itself.
  if (a && num(a.value) && num(a.lower) && num(a.upper)) {
    const noise = v.noiseAgreement;
    const context = noise && num(noise.value) ? ` (A/A noise ${pctWithEvidence(noise)})` : '';
    const floorText = `the ${fmtPct(opts.minAgreement)} floor${context}`;
    if (a.upper < opts.minAgreement) findings.push({ status: 'worse', text: `agreement ${pctWithEvidence(a)} is below ${floorText}` });
    else if (a.lower < opts.minAgreement) findings.push({ status: 'inconclusive', text: `agreement ${pctWithEvidence(a)} overlaps ${floorText}` });
    else findings.push({ status: 'ok', text: `agreement ${pctWithEvidence(a)} is above ${floorText}` });
  }

  // A segment can regress while the overall number passes; only segments with enough pairs count.
  const badSegments = v.segments.filter((s) => s.agreement && s.agreement.n >= opts.minPairs && num(s.agreement.upper) && s.agreement.upper < opts.minAgreement);
  for (const s of badSegments.slice(0, 3)) {
    findings.push({ status: 'worse', text: `segment ${segmentLabel(s.key, s.value)}: agreement ${pctWithEvidence(s.agreement)} is below the ${fmtPct(opts.minAgreement)} floor` });
  }
  if (badSegments.length > 3) {
    const more = badSegments.length - 3;
    findings.push({ status: 'worse', text: `${more} more segment${more === 1 ? ' is' : 's are'} below the ${fmtPct(opts.minAgreement)} floor` });
  }

  // Systematic label shifts: significant, and larger than a share of traffic that matters.
  // Every shift out of one label is a shift into others, so only the "into" side is told.
  const significant = v.labelShifts.filter((m) => {
    const p = pOf(m);
    return p !== null && p < opts.alpha && (m.value ?? 0) > 0;
  });
  for (const m of significant) {
    const lo = Math.abs(num(m.lower) && num(m.upper) ? Math.min(Math.abs(m.lower), Math.abs(m.upper)) : (m.value ?? 0));
    const crossesZero = num(m.lower) && num(m.upper) && m.lower <= 0 && m.upper >= 0;
    const status: Finding['status'] = !crossesZero && lo > opts.maxLabelShift ? 'worse' : Math.abs(m.value ?? 0) > opts.maxLabelShift ? 'inconclusive' : 'ok';
    findings.push({ status, text: `the candidate moves ${shiftText(m)}${status === 'ok' ? `, within ±${fmtPct(opts.maxLabelShift)}` : ''}` });
  }
  if (significant.length === 0 && v.labelShifts.length > 0) {
    const largest = [...v.labelShifts].sort((x, y) => (y.value ?? 0) - (x.value ?? 0))[0]!;
    findings.push({ status: 'ok', text: `no label gains traffic systematically (largest: ${shiftText(largest)})` });
  }

  // Latency: the p99 ratio against the allowed slowdown. The report gives quantiles without an
  // interval, so a point estimate is judged as it is and says so.
  // When the baseline was also replayed (A/A), compare like with like: the candidate's replayed
  // p99 against the baseline's replayed p99, both measured in the same replay environment.
  // Production's served latency includes a different host, network and load.
  const aa = v.noiseLatencyP99;
  const cand = p99?.candidate;
  if (aa && cand && num(aa.value) && num(cand.value) && v.p99VsAA !== undefined) {
    const r = v.p99VsAA;
    const status: Finding['status'] = r > opts.maxLatencyRatio ? 'worse' : 'ok';
    findings.push({
      status,
      text: `p99 latency ${fmtRatio(r)} (point estimate) of the baseline replayed alongside it (A/A: ${aa.value.toFixed(1)} ms n=${fmtCount(aa.n)}; candidate ${cand.value.toFixed(1)} ms n=${fmtCount(cand.n)}; limit ${fmtRatio(opts.maxLatencyRatio)})`,
    });
  }
  const ratio = aa && num(aa.value) && aa.n >= opts.minPairs ? undefined : p99?.ratio;
  if (ratio && num(ratio.value)) {
    const interval = num(ratio.lower) && num(ratio.upper) ? ` [${ratio.lower.toFixed(2)}, ${ratio.upper.toFixed(2)}]` : ' (point estimate)';
    const status = ratio.n < opts.minPairs ? 'inconclusive' : judgeAbove(ratio, opts.maxLatencyRatio);
    findings.push({ status, text: `p99 latency ${fmtRatio(ratio.value)}${interval} of the baseline's (limit ${fmtRatio(opts.maxLatencyRatio)}, n=${fmtCount(ratio.n)})` });
  }

  // Errors and timeouts: the candidate's rate against the baseline's error rate plus the allowance.
  const allowed = (num(v.baselineErrorRate?.value) ? v.baselineErrorRate.value : num(err?.details.baseline_rate) ? (err.details.baseline_rate as number) : 0) + opts.maxErrorRateIncrease;
  for (const [name, m] of [['error rate', err], ['timeout rate', v.timeoutRate]] as const) {
    if (!m || !num(m.value)) continue;
    findings.push({ status: judgeAbove(m, allowed), text: `${name} ${pctWithEvidence(m)} (allowed ${fmtPct(allowed)})` });
  }

  // Drift of the candidate's outputs against the baseline's: worse when a distance is past its
  // threshold and the test (where there is one) agrees. Window-vs-reference drift is the same
  // for every candidate, so it is shown, never judged.
  for (const d of v.drift) {
    if (d.against !== 'baseline') continue;
    const over = driftDistances(d).filter((x) => num(x.metric.value) && x.metric.value > thresholdOf(x.metric, opts.driftThreshold));
    if (over.length === 0) continue;
    const ksP = d.ks ? pOf(d.ks) : null;
    const tested = d.ks !== undefined && ksP !== null;
    const status: Finding['status'] = !tested || ksP < opts.alpha ? 'worse' : 'inconclusive';
    const distances = over.map((x) => `${x.label} ${fmtNum(x.metric.value)} > ${thresholdOf(x.metric, opts.driftThreshold)}`).join(', ');
    findings.push({
      status,
      text: `${featureLabel(d)} shifted: ${distances}${tested ? `; KS ${fmtP(d.ks!.p_value, d.ks!.p_adjusted)}` : ''}; n=${fmtCount(over[0]!.metric.n)}`,
    });
  }

  const rank = { worse: 0, inconclusive: 1, ok: 2 } as const;
  findings.sort((x, y) => rank[x.status] - rank[y.status]);
  const status: VerdictStatus = findings.some((f) => f.status === 'worse')
    ? 'worse'
    : findings.some((f) => f.status === 'inconclusive') || findings.length === 0
      ? 'inconclusive'
      : 'ok';
  return { status, summary, findings };
}

/** The distance metrics of a drift view, with their display names. */
export function driftDistances(d: DriftView): Array<{ label: string; metric: MetricRow }> {
  const out: Array<{ label: string; metric: MetricRow }> = [];
  if (d.psi) out.push({ label: 'PSI', metric: d.psi });
  if (d.js) out.push({ label: 'Jensen–Shannon', metric: d.js });
  if (d.wasserstein) out.push({ label: 'Wasserstein (normed)', metric: d.wasserstein });
  return out;
}

/** The report's own threshold for a metric (details.threshold) when it states one. */
export function thresholdOf(m: MetricRow | undefined, fallback: number): number {
  const t = m?.details.threshold;
  return typeof t === 'number' && Number.isFinite(t) ? t : fallback;
}
