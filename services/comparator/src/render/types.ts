// The renderers read the reports' own contract; one definition, in reports/types.ts.
export type { MetricRow, Report } from '../reports/types.ts';
