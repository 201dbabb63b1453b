export type { Multiplicity, MetricRow, Report, ReportKind, ReportThresholds } from './types.ts';
export { DEFAULT_THRESHOLDS, sampleModFor } from './params.ts';
export { runCanaryReport, runReport, type PairReportKind, type RunCanaryReportOptions, type RunReportOptions } from './run.ts';
export { storeReport } from './store.ts';
export { liveArms, withLiveArms, type LiveArms } from './live.ts';
export { experimentExists, listExperiments, type ExperimentSummary } from './experiments.ts';
export { adjustFamilies } from './multiplicity.ts';
export { METRIC_CATALOGUE, metricSpec, type MetricSpec } from './catalogue.ts';
export {
  DEFAULT_ROLLUP_GRACE_MS,
  DEFAULT_ROLLUP_LOOKBACK_MS,
  rollupPlan,
  rollUpPairs,
  rollUpRequests,
  type RollUpOptions,
  type RollUpRequestsOptions,
  type RollUpResult,
  type RollupPlan,
} from './rollup.ts';
