import type { ReportKind } from './types.ts';

/** One metric a report can emit: what its value, n and interval or p-value mean. */
export interface MetricSpec {
  report: ReportKind;
  metric: string;
  /** The `method` values rows of this metric carry. */
  methods: readonly string[];
  value: string;
  /** Fields of `details` that tell rows of the same metric and segment apart. */
  keyedBy?: readonly string[];
}

const Q = ['p50', 'p95', 'p99'] as const;

/**
 * Every metric of sql/reports/{agreement,latency,drift,canary}.sql; the SQL files' headers have
 * the full definitions. Overall rows (segment_key '') always exist; a segment has a row where n > 0.
 */
export const METRIC_CATALOGUE: readonly MetricSpec[] = [
  { report: 'agreement', metric: 'agreement_rate', methods: ['wilson-95'], value: 'share of compared pairs (both ok) that agree' },
  {
    report: 'agreement',
    metric: 'label_flip_mcnemar',
    methods: ['mcnemar-cc'],
    value: '(c − b)/n for one label: net share moved into it by the candidate; paired Wald 95 % interval; McNemar p',
    keyedBy: ['label'],
  },
  { report: 'agreement', metric: 'confusion', methods: ['count'], value: 'pairs with this (baseline, candidate) label', keyedBy: ['baseline', 'candidate'] },
  { report: 'agreement', metric: 'mae', methods: ['normal-95'], value: 'mean |c − b|' },
  { report: 'agreement', metric: 'bias', methods: ['normal-95'], value: 'mean (c − b)' },
  { report: 'agreement', metric: 'rmse', methods: ['normal-95-mse-sqrt'], value: '√mean (c − b)²' },
  {
    report: 'agreement',
    metric: 'abs_diff_p99',
    methods: ['quantile-exact-inclusive', 'quantile-log-histogram'],
    value: 'p99 of |c − b| (sampled above maxQuantileSample; from log-bucket histograms, 0.5 % relative accuracy, when roll-ups are read)',
  },
  { report: 'agreement', metric: 'abs_diff_max', methods: ['max'], value: 'max |c − b|' },
  { report: 'agreement', metric: 'within_tolerance', methods: ['wilson-95'], value: 'share within atol + rtol·|b|' },
  { report: 'agreement', metric: 'slope', methods: ['ols-normal-95'], value: 'OLS slope of c on b; details.intercept, details.stderr' },
  { report: 'agreement', metric: 'topk_overlap_mean', methods: ['normal-95'], value: 'mean top-k overlap' },
  { report: 'agreement', metric: 'rbo_mean', methods: ['normal-95'], value: 'mean rank-biased overlap' },
  { report: 'agreement', metric: 'jaccard_mean', methods: ['normal-95'], value: 'mean Jaccard index of the rankings' },
  {
    report: 'agreement',
    metric: 'field_diff_rate',
    methods: ['wilson-95'],
    value: 'share of compared pairs differing at a JSON path; details.noise_rate and details.counts (Diffy noise subtraction)',
    keyedBy: ['path'],
  },
  { report: 'latency', metric: 'error_rate', methods: ['wilson-95'], value: "share of pairs whose candidate call failed" },
  { report: 'latency', metric: 'timeout_rate', methods: ['wilson-95'], value: "share of pairs whose candidate call timed out" },
  { report: 'latency', metric: 'baseline_error_rate', methods: ['wilson-95'], value: 'share of pairs whose baseline failed' },
  ...Q.flatMap((q) => [
    { report: 'latency' as const, metric: `latency_${q}_baseline`, methods: ['quantile-exact-inclusive', 'quantile-log-histogram'], value: `${q} of baseline latency, pairs with both ok` },
    { report: 'latency' as const, metric: `latency_${q}_candidate`, methods: ['quantile-exact-inclusive', 'quantile-log-histogram'], value: `${q} of candidate latency, same pairs` },
    {
      report: 'latency' as const,
      metric: `latency_${q}_diff`,
      methods: ['quantile-exact-inclusive-paired-difference', 'quantile-log-histogram-paired-difference'],
      value: `${q} of candidate − baseline latency`,
    },
    { report: 'latency' as const, metric: `latency_${q}_ratio`, methods: ['quantile-ratio'], value: `latency_${q}_candidate / latency_${q}_baseline` },
  ]),
  { report: 'drift', metric: 'psi', methods: ['psi-reference-deciles', 'psi-categorical'], value: 'population stability index', keyedBy: ['feature'] },
  { report: 'drift', metric: 'js_distance', methods: ['jensen-shannon-natural-log'], value: 'Jensen-Shannon distance, natural log', keyedBy: ['feature'] },
  { report: 'drift', metric: 'ks', methods: ['ks-two-sample-exact', 'ks-two-sample-asymp'], value: 'Kolmogorov-Smirnov D; p', keyedBy: ['feature'] },
  { report: 'drift', metric: 'wasserstein_normed', methods: ['wasserstein-normed'], value: 'W1 / max(reference std, 0.001)', keyedBy: ['feature'] },
  { report: 'canary', metric: 'stable_error_rate', methods: ['wilson-95'], value: 'error share of the stable arm' },
  { report: 'canary', metric: 'canary_error_rate', methods: ['wilson-95'], value: 'error share of the canary arm' },
  { report: 'canary', metric: 'error_rate_diff', methods: ['two-proportion-z-pooled'], value: 'canary − stable error rate; pooled z-test p' },
  { report: 'canary', metric: 'latency_mann_whitney', methods: ['mann-whitney-asymptotic', 'mann-whitney-asymptotic-histogram'], value: 'U of the canary sample; p; details.auc' },
  ...Q.flatMap((q) => [
    { report: 'canary' as const, metric: `latency_${q}_stable`, methods: ['quantile-exact-inclusive', 'quantile-log-histogram'], value: `${q} of stable-arm latency (ok requests)` },
    { report: 'canary' as const, metric: `latency_${q}_canary`, methods: ['quantile-exact-inclusive', 'quantile-log-histogram'], value: `${q} of canary-arm latency (ok requests)` },
    { report: 'canary' as const, metric: `latency_${q}_ratio`, methods: ['quantile-ratio'], value: `latency_${q}_canary / latency_${q}_stable` },
  ]),
];

const BY_NAME = new Map(METRIC_CATALOGUE.map((m) => [`${m.report}/${m.metric}`, m]));

export function metricSpec(report: ReportKind, metric: string): MetricSpec | undefined {
  return BY_NAME.get(`${report}/${metric}`);
}
