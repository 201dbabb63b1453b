export * from './reports/index.ts';
export * from './render/index.ts';
export {
  createComparator,
  DEFAULT_MAX_SEGMENT_KEYS,
  DEFAULT_MAX_SEGMENT_VALUES,
  DEFAULT_REPORTS_TOPIC,
  DEFAULT_WINDOW_MS,
  discoverSegmentKeys,
  toComparisonReportMessage,
  type Comparator,
  type ComparatorDeps,
  type ComparatorEvents,
  type RunResult,
} from './service.ts';
