/**
 * The live arms joined to an experiment's report (real engine, chDB): when the baseline model's
 * traffic was split over the window (stable/canary, or blue/green in a preview), the canary
 * report's metrics join the candidate's report; without a split nothing is added.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, migrate, type ClickHouse } from '@umbra/core/clickhouse';
import { seedLiveSplit } from './live-fixture.ts';
import { liveArms, withLiveArms } from './live.ts';
import { runReport } from './run.ts';

const T0 = Date.UTC(2030, 0, 2, 0, 0, 0);
const WINDOW = { from: T0, to: T0 + 3_600_000 };
let ch: ClickHouse;

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  await seedLiveSplit(ch, T0, 'exp-canary', 'scorer', ['stable', 'canary']);
  await seedLiveSplit(ch, T0, 'exp-preview', 'ranker', ['blue', 'green']);
  await seedLiveSplit(ch, T0, 'exp-shadow', 'parser', null);
});

afterAll(async () => {
  await ch?.close();
});

describe('live arms', () => {
  it('finds the split of the experiment model: stable/canary, blue/green, or none', async () => {
    expect(await liveArms(ch, { experiment: 'exp-canary', ...WINDOW })).toEqual({ model: 'scorer', stableArm: 'stable', canaryArm: 'canary' });
    expect(await liveArms(ch, { experiment: 'exp-preview', ...WINDOW })).toEqual({ model: 'ranker', stableArm: 'blue', canaryArm: 'green' });
    expect(await liveArms(ch, { experiment: 'exp-shadow', ...WINDOW })).toBeNull();
    // No pair in the window (or no experiment): no model, no split, no error.
    expect(await liveArms(ch, { experiment: 'exp-canary', from: WINDOW.to, to: WINDOW.to + 3_600_000 })).toBeNull();
    expect(await liveArms(ch, { experiment: 'not-started', ...WINDOW })).toBeNull();
  });

  it("joins the canary report to the only candidate's report, with n, p and method on every row", async () => {
    const opts = { experiment: 'exp-canary', ...WINDOW, segmentKeys: ['region'] };
    // The pair reports still running, as the comparator passes them: the canary statement runs beside.
    const reports = await withLiveArms(ch, runReport(ch, opts), opts);
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
