/**
 * Hand-made reports for the renderer tests, shaped like `runReport` output (metric names and
 * details as in sql/reports/*.sql): a close candidate, a regressed one, a thin one with too few
 * pairs, and the A/A noise run.
 */
import type { MetricRow, Report } from './types.ts';

export const FIXTURE_WINDOW = { from: Date.UTC(2025, 10, 27, 9, 0, 0), to: Date.UTC(2025, 10, 27, 10, 0, 0) };
export const FIXTURE_NOW = Date.UTC(2025, 10, 27, 10, 0, 5);

type Segment = [string, string] | null;

function row(partial: Partial<MetricRow> & Pick<MetricRow, 'report' | 'metric'>): MetricRow {
  return { segment_key: '', segment_value: '', value: null, n: 0, lower: null, upper: null, p_value: null, p_adjusted: null, method: '', details: {}, ...partial };
}

const Z = 1.959963984540054;

function wilson(k: number, n: number): Pick<MetricRow, 'value' | 'lower' | 'upper'> {
  const p = k / n;
  const centre = (p + (Z * Z) / (2 * n)) / (1 + (Z * Z) / n);
  const half = (Z * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n))) / (1 + (Z * Z) / n);
  return { value: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

function seg(segment: Segment): Pick<MetricRow, 'segment_key' | 'segment_value'> {
  return { segment_key: segment?.[0] ?? '', segment_value: segment?.[1] ?? '' };
}

function agreement(n: number, agreed: number, segment: Segment = null): MetricRow {
  return row({ report: 'agreement', metric: 'agreement_rate', ...seg(segment), ...wilson(agreed, n), n, method: 'wilson-95' });
}

/** b: pairs out of the label, c: into it. */
function shift(label: string, b: number, c: number, n: number, pAdjusted: number | null, segment: Segment = null): MetricRow {
  const d = (c - b) / n;
  const half = (Z * Math.sqrt(Math.max(b + c - ((c - b) * (c - b)) / n, 0))) / n;
  const chi2 = b + c === 0 ? null : Math.max(Math.abs(b - c) - 1, 0) ** 2 / (b + c);
  // erfc(sqrt(chi2/2)) for the values used here, precomputed where it matters.
  const p = chi2 === null ? null : chi2 === 0 ? 1 : pAdjusted === null ? null : Math.min(1, pAdjusted / 2);
  return row({
    report: 'agreement',
    metric: 'label_flip_mcnemar',
    ...seg(segment),
    value: d,
    n,
    lower: d - half,
    upper: d + half,
    p_value: p,
    p_adjusted: pAdjusted,
    method: 'mcnemar-cc',
    details: { label, b, c, chi2, interval: 'wald-paired-95' },
  });
}

function confusion(cells: Array<[string, string, number]>, n: number): MetricRow[] {
  return cells.map(([baseline, candidate, count]) => row({ report: 'agreement', metric: 'confusion', value: count, n, method: 'count', details: { baseline, candidate } }));
}

function latency(q: 'p50' | 'p95' | 'p99', baseline: number, candidate: number, n: number): MetricRow[] {
  const details = { sample_mod: 1, n_total: n };
  return [
    row({ report: 'latency', metric: `latency_${q}_baseline`, value: baseline, n, method: 'quantile-exact-inclusive', details }),
    row({ report: 'latency', metric: `latency_${q}_candidate`, value: candidate, n, method: 'quantile-exact-inclusive', details }),
    row({ report: 'latency', metric: `latency_${q}_diff`, value: candidate - baseline, n, method: 'quantile-exact-inclusive-paired-difference', details }),
    row({ report: 'latency', metric: `latency_${q}_ratio`, value: candidate / baseline, n, method: 'quantile-ratio', details }),
  ];
}

function rates(n: number, errors: number, timeouts: number, baselineErrors: number): MetricRow[] {
  return [
    row({ report: 'latency', metric: 'error_rate', ...wilson(errors, n), n, method: 'wilson-95' }),
    row({ report: 'latency', metric: 'timeout_rate', ...wilson(timeouts, n), n, method: 'wilson-95' }),
    row({ report: 'latency', metric: 'baseline_error_rate', ...wilson(baselineErrors, n), n, method: 'wilson-95' }),
  ];
}

function field(path: string, count: number, n: number, noiseCount: number, noiseN: number, real: boolean): MetricRow {
  const r = count / n;
  const q = noiseCount / noiseN;
  return row({
    report: 'agreement',
    metric: 'field_diff_rate',
    ...wilson(count, n),
    n,
    method: 'wilson-95',
    details: { path, count, noise_count: noiseCount, noise_n: noiseN, noise_rate: q, rel_diff: r + q === 0 ? 0 : Math.abs(r - q) / (r + q), abs_diff: Math.abs(r - q), counts: real },
  });
}

function drift(psi: number, js: number, ksD: number, ksP: number, w: number, n: number, cur: number[]): MetricRow[] {
  const base = { feature: 'output_value', reference: 'baseline', n_ref: n, n_cur: n, sample_mod: 1 };
  const ref = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10].map((x) => (x * n) / 100);
  return [
    row({ report: 'drift', metric: 'psi', value: psi, n, method: 'psi-reference-deciles', details: { ...base, edges: [0.08, 0.15, 0.22, 0.3, 0.38, 0.47, 0.56, 0.66, 0.79], ref_counts: ref, cur_counts: cur.map((x) => (x * n) / 100), smoothing: 1e-4 } }),
    row({ report: 'drift', metric: 'js_distance', value: js, n, method: 'jensen-shannon-natural-log', details: base }),
    row({ report: 'drift', metric: 'ks', value: ksD, n, p_value: ksP, method: 'ks-two-sample-asymp', details: base }),
    row({ report: 'drift', metric: 'wasserstein_normed', value: w, n, method: 'wasserstein-normed', details: { ...base, w1: w * 0.2, ref_std: 0.2, std_floor: 0.001 } }),
    // Production drift, the same for every candidate: shown, never judged.
    row({ report: 'drift', metric: 'psi', value: 0.21, n, method: 'psi-reference-deciles', details: { feature: 'baseline_latency_ms', reference: 'reference_window', n_ref: 4 * n, n_cur: n, sample_mod: 1 } }),
  ];
}

function report(candidate: string, role: Report['role'], metrics: MetricRow[]): Report {
  return { runId: `run-${candidate}`, experiment: 'credit-risk', candidate, role, window: FIXTURE_WINDOW, createdAt: FIXTURE_NOW, metrics };
}

export function fixtureReports(): Report[] {
  const close = report('credit-risk-v2-close', 'candidate', [
    agreement(19_960, 19_822),
    agreement(6_010, 5_975, ['region', 'eu']),
    agreement(7_950, 7_893, ['region', 'us']),
    agreement(6_000, 5_954, ['region', 'apac']),
    agreement(9_980, 9_920, ['client', 'web']),
    agreement(9_980, 9_902, ['client', 'mobile']),
    shift('approve', 70, 68, 19_960, 0.93),
    shift('reject', 68, 70, 19_960, 0.93),
    shift('reject', 22, 24, 6_000, 1, ['region', 'apac']),
    ...confusion([['approve', 'approve', 15_010], ['approve', 'reject', 70], ['reject', 'approve', 68], ['reject', 'reject', 4_812]], 19_960),
    row({ report: 'agreement', metric: 'mae', value: 0.0025, n: 19_960, lower: 0.0024, upper: 0.0026, method: 'normal-95' }),
    row({ report: 'agreement', metric: 'slope', value: 1.002, n: 19_960, lower: 0.998, upper: 1.006, method: 'ols-normal-95', details: { intercept: -0.001, stderr: 0.002 } }),
    ...latency('p50', 12.1, 12.3, 19_960),
    ...latency('p95', 31.4, 32.2, 19_960),
    ...latency('p99', 48.0, 49.9, 19_960),
    ...rates(20_000, 0, 2, 40),
    ...drift(0.012, 0.021, 0.011, 0.41, 0.018, 19_960, [10, 10, 10, 9.5, 10.5, 10, 10, 10, 10, 10]),
    field('$.label', 138, 19_960, 2, 5_000, true),
    field('$.score', 8_224, 19_960, 1_990, 5_000, false),
  ]);
  const regressed = report('credit-risk-v2-regressed', 'candidate', [
    agreement(19_950, 18_832),
    agreement(6_000, 5_880, ['region', 'eu']),
    agreement(7_950, 7_760, ['region', 'us']),
    agreement(6_000, 5_192, ['region', 'apac']),
    agreement(9_975, 9_350, ['client', 'mobile']),
    agreement(9_975, 9_482, ['client', 'web']),
    agreement(40, 29, ['input_class', 'thin-file']),
    shift('reject', 218, 900, 19_950, 1e-9),
    shift('approve', 900, 218, 19_950, 1e-9),
    shift('reject', 158, 650, 6_000, 3e-12, ['region', 'apac']),
    shift('reject', 50, 70, 6_000, 0.12, ['region', 'eu']),
    ...confusion([['approve', 'approve', 14_110], ['approve', 'reject', 900], ['reject', 'approve', 218], ['reject', 'reject', 4_722]], 19_950),
    ...latency('p50', 12.1, 13.0, 19_950),
    ...latency('p95', 31.4, 38.9, 19_950),
    ...latency('p99', 48.0, 71.5, 19_950),
    ...rates(20_000, 48, 31, 40),
    ...drift(0.184, 0.16, 0.09, 1e-6, 0.22, 19_950, [6, 7, 8, 9, 10, 10, 11, 12, 13, 14]),
    field('$.label', 1_118, 19_950, 2, 5_000, true),
    field('$.score', 14_623, 19_950, 1_990, 5_000, true),
  ]);
  const thin = report('credit-risk-v3-sampled', 'candidate', [agreement(120, 119), ...latency('p99', 48.0, 47.5, 120)]);
  const noise = report('baseline', 'noise', [
    agreement(5_000, 4_990),
    agreement(1_500, 1_497, ['region', 'eu']),
    ...latency('p50', 12.1, 12.0, 5_000),
    ...latency('p95', 31.4, 31.3, 5_000),
    ...latency('p99', 48.0, 48.4, 5_000),
    ...rates(5_000, 0, 0, 10),
  ]);
  return [noise, regressed, close, thin];
}
