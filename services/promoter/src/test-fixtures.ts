/**
 * Fixtures for the promoter's integration tests: rollout specs and shadow pairs seeded straight
 * into shadow_pairs, good (the candidate agrees with the baseline, as fast, no errors) or bad.
 */
import { insertRows, shadowPairToRow, type ClickHouse } from '@umbra/core/clickhouse';
import type { ShadowPair } from '@umbra/core';

export const MINUTE = 60_000;

/** A canary rollout: shadow 10 min, steps 5 / 25 / 50 %, 10 min bake, three paired gates. */
export function canarySpecYaml(o: {
  rollout: string;
  experiment: string;
  candidate?: string;
  interval?: string;
  shadow?: string;
  bake?: string;
  perSegment?: boolean;
}): string {
  return `# ${o.rollout}: ${o.candidate ?? 'fraud-v2'} replaces fraud
rollout: ${o.rollout}
experiment: ${o.experiment}
candidate: ${o.candidate ?? 'fraud-v2'}
baseline: fraud
strategy:
  canary:
    shadow: { minDuration: ${o.shadow ?? '10m'} }
    steps: [5, 25, 50]
    bakeTime: ${o.bake ?? '10m'}
gates:
  - name: agreement
    metric: agreement
    op: '>='
    threshold: 0.9${o.perSegment ? '\n    perSegment: { keys: [region] }' : ''}
  - name: errors
    metric: candidate_error_rate
    op: '<='
    threshold: 0.05
  - name: p99-latency
    metric: latency_p99_ratio
    op: '<='
    threshold: 1.5
evidence: { minPairs: 300, minPerSegment: 100, minRequestsPerArm: 100 }
interval: ${o.interval ?? '1m'}
`;
}

export interface SeedOptions {
  experiment: string;
  candidate?: string;
  /** Event times are spread evenly over [from, to). */
  from: number;
  to: number;
  count: number;
  /** Share of pairs that agree; default 0.995. */
  agreement?: number;
  /** Share of candidate calls that end in an error; default 0. */
  errorRate?: number;
  /** Candidate latency = baseline latency × this; default 1. */
  slowdown?: number;
  /** Distinguishes seeding rounds so event ids never collide. */
  batch: string;
}

/** Deterministic pairs: the i-th pair disagrees when its index falls in the disagreeing share. */
export async function seedPairs(ch: ClickHouse, o: SeedOptions): Promise<number> {
  const agreement = o.agreement ?? 0.995;
  const errorRate = o.errorRate ?? 0;
  const rows = [];
  for (let i = 0; i < o.count; i++) {
    const eventTime = Math.floor(o.from + ((o.to - o.from) * i) / o.count);
    const agree = (i * 7919) % 1000 < agreement * 1000;
    const failed = (i * 104729) % 1000 < errorRate * 1000;
    const baselineLatency = 10 + ((i * 37) % 100) / 10;
    const value = ((i * 613) % 1000) / 1000;
    const pair: ShadowPair = {
      experiment: o.experiment,
      candidate: o.candidate ?? 'fraud-v2',
      role: 'candidate',
      eventId: `${o.batch}-${i}`,
      eventTime,
      arm: 'stable',
      baselineModel: 'fraud',
      baselineVersion: 'v1',
      attributes: { region: i % 2 === 0 ? 'eu' : 'us' },
      task: 'classification',
      baselineOutput: '{"label":"ok"}',
      candidateOutput: failed ? null : agree ? '{"label":"ok"}' : '{"label":"fraud"}',
      baselineLatencyMs: baselineLatency,
      candidateLatencyMs: baselineLatency * (o.slowdown ?? 1),
      baselineStatus: 'ok',
      candidateStatus: failed ? 'error' : 'ok',
      candidateError: failed ? 'HTTP 500' : null,
      served: 'baseline',
      baselineError: null,
      agree: !failed && agree,
      baselineLabel: 'ok',
      candidateLabel: failed ? null : agree ? 'ok' : 'fraud',
      baselineValue: value,
      candidateValue: failed ? null : value,
      absError: null,
      relError: null,
      withinTolerance: null,
      baselineRanking: [],
      candidateRanking: [],
      topkOverlap: null,
      jaccard: null,
      rbo: null,
      diffPaths: agree ? [] : ['$.label'],
      replayedAt: eventTime + 50,
    };
    rows.push(shadowPairToRow(pair));
  }
  await insertRows(ch, 'shadow_pairs', rows);
  return rows.length;
}

/** A clock the test moves by hand, starting at `start`. */
export function manualClock(start: number): {
  now: () => number;
  set: (t: number) => void;
  advance: (ms: number) => number;
} {
  let t = start;
  return {
    now: () => t,
    set: (v) => {
      t = v;
    },
    advance: (ms) => (t += ms),
  };
}
