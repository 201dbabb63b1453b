export {
  compare,
  createComparator,
  unreadableComparison,
  MAX_DIFF_PATHS,
  REL_ERROR_FLOOR,
  type Comparator,
} from './compare.ts';
export { diffValues, numbersEqual, type DiffOptions } from './diff.ts';
export { canonicalJson, fnv1a64, outputHash, parseOutput, type ParsedOutput } from './json.ts';
export { rankingMetrics, type RankingMetrics } from './ranking.ts';
export {
  OUTPUT_SPEC_DEFAULTS,
  outputSpecSchema,
  parseOutputSpec,
  type ClassificationSpec,
  type OutputSpec,
  type RankingSpec,
  type RegressionSpec,
  type ResolvedOutputSpec,
  type StructuredSpec,
} from './spec.ts';
