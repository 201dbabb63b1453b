/**
 * sql/promoter/evidence.sql and canary.sql on the real engine (chDB), checked against the same
 * numbers computed here in plain TypeScript from the rows that were inserted: counts, latency
 * quantiles and exceedance, PSI / Jensen-Shannon over the baseline's deciles, the unpaired arms.
 * Rows outside the window, of another candidate, of the A/A noise run, and replays of the same
 * pair must not count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClickHouse,
  insertRows,
  migrate,
  requestEventToRow,
  shadowPairToRow,
  type ClickHouse,
} from '@umbra/core/clickhouse';
import type { RequestEvent, ShadowPair } from '@umbra/core';
import {
  initialState,
  loadEvidence,
  parseSpecText,
  type Evidence,
  type RolloutSpec,
  type RolloutState,
} from '@umbra/promoter';
import { samplePair } from '../../services/core/src/clickhouse/test-fixtures.ts';

const T = Math.floor(Date.now() / 60_000) * 60_000;
const WINDOW = { from: T, to: T + 10 * 60_000 };

const SPEC = parseSpecText(
  `
rollout: evidence-it
experiment: exp-evidence
candidate: cand
baseline: fraud@v1
strategy:
  canary: { shadow: { minDuration: 1m }, steps: [10, 50], bakeTime: 1m }
gates:
  - { name: agreement, metric: agreement, op: '>=', threshold: 0.9, perSegment: { keys: [region] } }
  - { name: p99, metric: latency_p99_ratio, op: '<=', threshold: 1.2 }
  - { name: p95, metric: latency_p95_ratio, op: '<=', threshold: 1.1 }
  - { name: canary-p99, metric: canary_latency_p99_ratio, op: '<=', threshold: 1.5 }
  - { name: drift, metric: psi, op: '<=', threshold: 0.2 }
`,
  'evidence-it',
);

let ch: ClickHouse;
const counted: ShadowPair[] = [];

/** ClickHouse's quantileExactInclusive (R7: linear between order statistics). */
function quantile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!);
}

function expectedDrift(pairs: ShadowPair[]): { psi: number; js: number; n: number } {
  const both = pairs.filter(
    (p) => p.candidateStatus === 'ok' && p.baselineValue !== null && p.candidateValue !== null,
  );
  const base = both.map((p) => p.baselineValue!);
  const cand = both.map((p) => p.candidateValue!);
  const cuts = [
    ...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => quantile(base, q))),
  ];
  const k = cuts.length + 1;
  const bin = (v: number): number => cuts.filter((c) => v > c).length;
  const share = (vs: number[]) =>
    Array.from(
      { length: k },
      (_, i) => (vs.filter((v) => bin(v) === i).length + 0.5) / (vs.length + 0.5 * k),
    );
  const p = share(base);
  const q = share(cand);
  const psi = p.reduce((s, a, i) => s + (q[i]! - a) * Math.log(q[i]! / a), 0);
  const jsd = p.reduce((s, a, i) => {
    const b = q[i]!;
    return s + 0.5 * a * Math.log2((2 * a) / (a + b)) + 0.5 * b * Math.log2((2 * b) / (a + b));
  }, 0);
  return { psi, js: Math.sqrt(jsd), n: both.length };
}

function expectedPairs(pairs: ShadowPair[]) {
  const ok = pairs.filter((p) => p.baselineStatus === 'ok' && p.candidateStatus === 'ok');
  const bl = ok.map((p) => p.baselineLatencyMs);
  const cl = ok.map((p) => p.candidateLatencyMs);
  return {
    n: pairs.length,
    compared: ok.length,
    agreed: ok.filter((p) => p.agree).length,
    errors: pairs.filter((p) => p.candidateStatus === 'error').length,
    timeouts: pairs.filter((p) => p.candidateStatus === 'timeout').length,
    baselineP99: quantile(bl, 0.99),
    candidateP95: quantile(cl, 0.95),
    slower: ok.filter((p) => p.candidateLatencyMs > p.baselineLatencyMs).length,
    untied: ok.filter((p) => p.candidateLatencyMs !== p.baselineLatencyMs).length,
    above: (q: number, ratio: number) =>
      ok.filter((p) => p.candidateLatencyMs > ratio * quantile(bl, q)).length,
  };
}

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  const rows: ShadowPair[] = [];
  for (let i = 0; i < 800; i++) {
    const status = i % 41 === 0 ? 'error' : i % 53 === 0 ? 'timeout' : 'ok';
    const value = ((i * 389) % 997) / 997;
    const pair = samplePair({
      experiment: 'exp-evidence',
      candidate: 'cand',
      eventId: `e${i}`,
      eventTime: WINDOW.from + i * 700,
      attributes: { region: ['eu', 'us', 'apac'][i % 3]!, client: `c${i % 5}` },
      agree: status === 'ok' && i % 17 !== 0,
      baselineLatencyMs: 10 + (i % 23),
      candidateLatencyMs: status === 'timeout' ? 500 : 9 + ((i * 7) % 29),
      candidateStatus: status,
      baselineValue: value,
      // The candidate scores higher on one region: drift there.
      candidateValue: status !== 'ok' ? null : i % 3 === 2 ? Math.min(1, value * 1.6) : value,
      replayedAt: WINDOW.from + i * 700 + 40,
    });
    rows.push(pair);
  }
  counted.push(...rows);
  const ignored: ShadowPair[] = [
    samplePair({
      experiment: 'exp-evidence',
      candidate: 'cand',
      eventId: 'before',
      eventTime: WINDOW.from - 1,
      attributes: { region: 'eu' },
    }),
    samplePair({
      experiment: 'exp-evidence',
      candidate: 'cand',
      eventId: 'at-end',
      eventTime: WINDOW.to,
      attributes: { region: 'eu' },
    }),
    samplePair({
      experiment: 'exp-evidence',
      candidate: 'other',
      eventId: 'other',
      eventTime: WINDOW.from + 5,
      attributes: { region: 'eu' },
    }),
    samplePair({
      experiment: 'exp-evidence',
      candidate: 'cand',
      role: 'noise',
      eventId: 'noise',
      eventTime: WINDOW.from + 5,
      attributes: { region: 'eu' },
    }),
  ];
  // A replay of e1 with an earlier replayed_at: FINAL keeps the later row, which is in `counted`.
  const stale = { ...rows[1]!, agree: !rows[1]!.agree, replayedAt: rows[1]!.replayedAt - 30 };
  await insertRows(ch, 'shadow_pairs', [...rows, ...ignored, stale].map(shadowPairToRow));

  const events: Array<RequestEvent & { arm: 'stable' | 'canary' }> = [];
  for (let i = 0; i < 600; i++) {
    const canary = i % 4 === 0;
    events.push({
      eventId: `r${i}`,
      eventTime: WINDOW.from + i * 900,
      model: { name: 'fraud', version: canary ? 'v2' : 'v1' },
      arm: canary ? 'canary' : 'stable',
      input: '{}',
      output: '{}',
      latencyMs: canary ? 14 + (i % 31) : 10 + (i % 19),
      status: i % 29 === 0 ? 'error' : 'ok',
      errorMessage: null,
      attributes: { region: ['eu', 'us', 'apac'][i % 3]! },
      traceId: null,
    });
  }
  const otherModel = { ...events[0]!, eventId: 'x', model: { name: 'ranker', version: 'v1' } };
  await insertRows(
    ch,
    'request_events',
    [...events, otherModel].map((e) => requestEventToRow(e, WINDOW.from)),
  );
  (globalThis as { __events?: typeof events }).__events = events;
});

afterAll(async () => {
  await ch?.close();
});

function state(spec: RolloutSpec, weight: number): RolloutState {
  return {
    ...initialState(spec, WINDOW.from),
    weight,
    phase: weight > 0 ? 'canary' : 'shadow',
    step: weight > 0 ? 1 : 0,
  };
}

describe('loadEvidence on shadow_pairs', () => {
  let overall: Evidence;
  let segments: Evidence[];

  beforeAll(async () => {
    ({ overall, segments } = await loadEvidence(ch, SPEC, state(SPEC, 0), WINDOW.to));
  });

  it('counts the window of this candidate only, deduplicated', () => {
    const e = expectedPairs(counted);
    expect(overall.window).toEqual(WINDOW);
    expect(overall.segment).toBeNull();
    expect(overall.pairs).toEqual({ n: e.n, compared: e.compared, agreed: e.agreed });
    expect(overall.candidateCalls).toEqual({ n: e.n, errors: e.errors, timeouts: e.timeouts });
    expect(e.errors).toBeGreaterThan(0);
    expect(e.timeouts).toBeGreaterThan(0);
  });

  it('latency quantiles, the sign count and the exceedance counts of the latency gates', () => {
    const e = expectedPairs(counted);
    expect(overall.latency.n).toBe(e.compared);
    expect(overall.latency.baselineP99).toBeCloseTo(e.baselineP99, 9);
    expect(overall.latency.candidateP95).toBeCloseTo(e.candidateP95, 9);
    expect(overall.latency.slowerThanBaseline).toEqual({ k: e.slower, n: e.untied });
    expect(overall.latency.exceedance).toEqual([
      { quantile: 0.99, ratio: 1.2, k: e.above(0.99, 1.2), n: e.compared },
      { quantile: 0.95, ratio: 1.1, k: e.above(0.95, 1.1), n: e.compared },
    ]);
    expect(e.above(0.95, 1.1)).toBeGreaterThan(0);
  });

  it('PSI and Jensen-Shannon distance over the baseline deciles, and the KS p-value', () => {
    const d = expectedDrift(counted);
    expect(overall.drift.n).toBe(d.n);
    expect(overall.drift.psi).toBeCloseTo(d.psi, 9);
    expect(overall.drift.jensenShannon).toBeCloseTo(d.js, 9);
    expect(overall.drift.ksP).toBeGreaterThanOrEqual(0);
    expect(overall.drift.ksP).toBeLessThanOrEqual(1);
    const apac = segments.find((s) => s.segment?.value === 'apac')!;
    const eu = segments.find((s) => s.segment?.value === 'eu')!;
    expect(apac.drift.psi).toBeCloseTo(
      expectedDrift(counted.filter((p) => p.attributes.region === 'apac')).psi,
      9,
    );
    expect(eu.drift.psi).toBe(0); // identical values: no drift
    expect(eu.drift.ksP).toBe(1);
    expect(apac.drift.psi!).toBeGreaterThan(0.1);
  });

  it('one evidence per value of the keys the gates slice by, and only those keys', () => {
    expect(segments.map((s) => s.segment)).toEqual([
      { key: 'region', value: 'apac' },
      { key: 'region', value: 'eu' },
      { key: 'region', value: 'us' },
    ]);
    for (const s of segments) {
      const e = expectedPairs(counted.filter((p) => p.attributes.region === s.segment!.value));
      expect(s.pairs).toEqual({ n: e.n, compared: e.compared, agreed: e.agreed });
      expect(s.window).toEqual(WINDOW);
      expect(s.canary).toBeUndefined(); // shadow: no live split
    }
  });

  it('an empty window is zeros and nulls, not an error', async () => {
    const st = state(SPEC, 0);
    const empty = await loadEvidence(
      ch,
      SPEC,
      { ...st, stepStartedAt: WINDOW.to + 60_000 },
      WINDOW.to + 120_000,
    );
    expect(empty.segments).toEqual([]);
    expect(empty.overall.pairs).toEqual({ n: 0, compared: 0, agreed: 0 });
    expect(empty.overall.latency).toMatchObject({ baselineP99: null, candidateP99: null, n: 0 });
    expect(empty.overall.latency.exceedance).toEqual([
      { quantile: 0.99, ratio: 1.2, k: 0, n: 0 },
      { quantile: 0.95, ratio: 1.1, k: 0, n: 0 },
    ]);
    expect(empty.overall.drift).toEqual({ psi: null, jensenShannon: null, ksP: null, n: 0 });
  });
});

describe('loadEvidence on request_events while the candidate takes live traffic', () => {
  it('the stable and canary arms of the baseline model, overall and per segment', async () => {
    const events = (globalThis as { __events?: Array<RequestEvent & { arm: string }> }).__events!;
    const { overall, segments } = await loadEvidence(ch, SPEC, state(SPEC, 10), WINDOW.to);
    const arm = (name: string, region?: string) =>
      events.filter((e) => e.arm === name && (!region || e.attributes.region === region));
    const ok = (es: RequestEvent[]) => es.filter((e) => e.status === 'ok').map((e) => e.latencyMs);
    const stable = arm('stable');
    const canary = arm('canary');
    expect(overall.canary!.stable).toEqual({
      n: stable.length,
      errors: stable.filter((e) => e.status !== 'ok').length,
      latencyP99: quantile(ok(stable), 0.99),
    });
    expect(overall.canary!.canary.n).toBe(canary.length);
    expect(overall.canary!.canary.latencyP99).toBeCloseTo(quantile(ok(canary), 0.99), 9);
    const limit = 1.5 * quantile(ok(stable), 0.99);
    expect(overall.canary!.exceedance).toEqual([
      {
        quantile: 0.99,
        ratio: 1.5,
        k: ok(canary).filter((l) => l > limit).length,
        n: ok(canary).length,
      },
    ]);
    const us = segments.find((s) => s.segment?.value === 'us')!;
    expect(us.canary!.canary.n).toBe(arm('canary', 'us').length);
    expect(us.canary!.stable.n).toBe(arm('stable', 'us').length);
  });
});
