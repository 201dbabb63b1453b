export { erf, erfc, normalCdf, normalQuantile, normalTwoSidedP, zFor } from './normal.ts';
export { mcnemar, wilson, Z95, type Interval, type McNemarResult } from './proportion.ts';
export { adjust, benjaminiHochberg, holm, type Adjustment } from './multiplicity.ts';
