/**
 * Fixtures for the promoter's unit tests: a canary spec and an evidence builder. Not exported
 * from the package.
 */
import type { Evidence, Segment } from './types.ts';

export const canaryRaw = {
  rollout: 'scorer-v8',
  experiment: 'scorer',
  candidate: 'scorer-v8',
  baseline: 'scorer-v7',
  strategy: {
    canary: { shadow: { minDuration: '10m' }, steps: [5, 10, 25, 50, 100], bakeTime: '10m' },
  },
  gates: [
    {
      name: 'agreement',
      metric: 'agreement',
      op: '>=',
      threshold: 0.98,
      perSegment: { keys: ['region'] },
    },
    { name: 'errors', metric: 'candidate_error_rate', op: '<=', threshold: 0.005 },
    { name: 'p99', metric: 'latency_p99_ratio', op: '<=', threshold: 1.1 },
    { name: 'drift', metric: 'psi', op: '<=', threshold: 0.1 },
    { name: 'canary-errors', metric: 'canary_error_rate_diff', op: '<=', threshold: 0.005 },
    { name: 'canary-p99', metric: 'canary_latency_p99_ratio', op: '<=', threshold: 1.1 },
  ],
};

export interface EvidenceShape {
  n: number;
  agreement?: number;
  errorRate?: number;
  timeoutRate?: number;
  /** Share of candidate latencies above 1.1 × baseline p99. */
  exceed?: number;
  psi?: number | null;
  /** Live arms: canary and stable requests and error rates; absent = no live split. */
  canary?: {
    n: number;
    errorRate: number;
    stableN: number;
    stableErrorRate: number;
    exceed?: number;
  };
}

/** Evidence whose counts are round(n × rate); a good candidate by default. */
export function evidence(
  shape: EvidenceShape,
  window: { from: number; to: number },
  segment: Segment | null = null,
): Evidence {
  const n = shape.n;
  const errors = Math.round(n * (shape.errorRate ?? 0.001));
  const compared = n - errors;
  const e: Evidence = {
    window,
    segment,
    pairs: { n, compared, agreed: Math.round(compared * (shape.agreement ?? 0.995)) },
    candidateCalls: { n, errors, timeouts: Math.round(n * (shape.timeoutRate ?? 0)) },
    latency: {
      baselineP50: 50,
      baselineP95: 110,
      baselineP99: 160,
      candidateP50: 50,
      candidateP95: 112,
      candidateP99: 163,
      n: compared,
      exceedance: [
        {
          quantile: 0.99,
          ratio: 1.1,
          k: Math.round(compared * (shape.exceed ?? 0.004)),
          n: compared,
        },
      ],
    },
    drift: { psi: shape.psi === undefined ? 0.01 : shape.psi, jensenShannon: null, ksP: null, n },
  };
  if (shape.canary) {
    const c = shape.canary;
    e.canary = {
      stable: { n: c.stableN, errors: Math.round(c.stableN * c.stableErrorRate), latencyP99: 160 },
      canary: { n: c.n, errors: Math.round(c.n * c.errorRate), latencyP99: 163 },
      exceedance: [
        { quantile: 0.99, ratio: 1.1, k: Math.round(c.n * (c.exceed ?? 0.004)), n: c.n },
      ],
    };
  }
  return e;
}
