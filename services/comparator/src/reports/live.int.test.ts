/**
 * The live arms joined to an experiment's report (real engine, chDB): when the baseline model's
 * traffic was split over the window (stable/canary, or blue/green in a preview), the canary
 * report's metrics join the candidate's report; without a split nothing is added.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '@umbra/core';
import { createClickHouse, insertRows, migrate, requestEventToRow, shadowPairToRow, type ClickHouse } from '@umbra/core/clickhouse';
import { samplePair } from '../../../core/src/clickhouse/test-fixtures.ts';
import { liveArms, withLiveArms } from './live.ts';
import { runReport } from './run.ts';

const T0 = Date.UTC(2030, 0, 2, 0, 0, 0);
const WINDOW = { from: T0, to: T0 + 3_600_000 };
let ch: ClickHouse;

function event(i: number, model: string, arm: RequestEvent['arm'], failed: boolean, latencyMs: number): RequestEvent {
  return {
    eventId: `${model}-${arm}-${i}`,
    eventTime: T0 + i * 1000,
    model: { name: model, version: arm === 'stable' || arm === 'blue' ? 'v1' : 'v2' },
    arm,
    input: '{"x":1}',
    output: failed ? null : '{"label":"ok"}',
    latencyMs,
    status: failed ? 'error' : 'ok',
    errorMessage: failed ? 'HTTP 500' : null,
    attributes: { region: i % 2 ? 'eu' : 'us' },
    traceId: null,
  };
}

async function seed(experiment: string, model: string, arms: [RequestEvent['arm'], RequestEvent['arm']] | null): Promise<void> {
  const pairs = Array.from({ length: 200 }, (_, i) =>
    shadowPairToRow(samplePair({ experiment, eventId: `${experiment}-${i}`, eventTime: T0 + i * 1000, baselineModel: model, agree: true, candidateOutput: '{"label":"ok"}', candidateLabel: 'ok', diffPaths: [] })),
  );
  await insertRows(ch, 'shadow_pairs', pairs);
  if (!arms) return;
  const [stable, canary] = arms;
  // The canary arm fails 10 % of its requests and answers slower; the stable arm 1 %.
  const events = [
    ...Array.from({ length: 400 }, (_, i) => event(i, model, stable, i % 100 === 0, 10 + (i % 7))),
    ...Array.from({ length: 200 }, (_, i) => event(i, model, canary, i % 10 === 0, 14 + (i % 7))),
  ];
  await insertRows(ch, 'request_events', events.map((e) => requestEventToRow(e, T0 + 3_000_000)));
}

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  await seed('exp-canary', 'scorer', ['stable', 'canary']);
  await seed('exp-preview', 'ranker', ['blue', 'green']);
  await seed('exp-shadow', 'parser', null);
});

afterAll(async () => {
  await ch?.close();
});

describe('live arms', () => {
  it('finds the split of the experiment model: stable/canary, blue/green, or none', async () => {
    expect(await liveArms(ch, { experiment: 'exp-canary', ...WINDOW })).toEqual({ model: 'scorer', stableArm: 'stable', canaryArm: 'canary' });
    expect(await liveArms(ch, { experiment: 'exp-preview', ...WINDOW })).toEqual({ model: 'ranker', stableArm: 'blue', canaryArm: 'green' });
    expect(await liveArms(ch, { experiment: 'exp-shadow', ...WINDOW })).toBeNull();
  });

  it("joins the canary report to the only candidate's report, with n, p and method on every row", async () => {
    const opts = { experiment: 'exp-canary', ...WINDOW, segmentKeys: ['region'] };
    const reports = await withLiveArms(ch, await runReport(ch, opts), opts);
    expect(reports).toHaveLength(1);
    const live = reports[0]!.metrics.filter((m) => m.report === 'canary');
    const diff = live.find((m) => m.metric === 'error_rate_diff' && m.segment_key === '');
    expect(diff).toMatchObject({ method: 'two-proportion-z-pooled' });
    expect(diff!.value).toBeCloseTo(0.1 - 0.01, 10);
    expect(diff!.n).toBe(600);
    expect(diff!.p_value).toBeLessThan(0.001);
    const mw = live.find((m) => m.metric === 'latency_mann_whitney' && m.segment_key === '');
    expect(mw?.p_value).toBeLessThan(0.001);
    expect(mw?.details).toMatchObject({ model: 'scorer', stable_arm: 'stable', canary_arm: 'canary' });
    expect(live.some((m) => m.segment_key === 'region')).toBe(true);
  });

  it('leaves a report without a live split as it was', async () => {
    const opts = { experiment: 'exp-shadow', ...WINDOW, segmentKeys: [] };
    const before = await runReport(ch, opts);
    const after = await withLiveArms(ch, before, opts);
    expect(after).toBe(before);
  });
});
