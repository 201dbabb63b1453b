/**
 * Roll-ups against the raw path on the same data (the oracle fixture, duplicates included): a
 * report that reads pair_rollups for its whole hours must give the same counts, sums, moments and
 * intervals as one that reads every raw pair, and quantiles within the histograms' stated 0.5 %.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, insertRows, migrate, queryRows, toDateTime64, type ClickHouse } from '@umbra/core/clickhouse';
import { runCanaryReport, runReport, type MetricRow, type PairReportKind } from './index.ts';
import { HOUR_MS, REQUEST_ROLLUPS, rollupPlan, rollUpPairs, rollUpRequests } from './rollup.ts';

const rolledRange = async (...args: Parameters<typeof rollupPlan>) => {
  const { from, to } = await rollupPlan(...args);
  return { from, to };
};
import { loadOracle, oracleT0, readOracle } from './oracle-fixture.ts';

const oracle = readOracle();
const t0 = oracleT0();
const keys = oracle.segment_keys;
const REPORTS: PairReportKind[] = ['agreement', 'latency'];
/** Counts, sums and moments merged from stored states: the same up to float summation order. */
const SAME = 1e-12;
const HIST = 0.005;

let ch: ClickHouse;

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  await loadOracle(ch, oracle, t0);
});

afterAll(async () => {
  await ch?.close();
});

const rowKey = (m: MetricRow) =>
  [m.report, m.metric, m.segment_key, m.segment_value, m.details.label ?? '', m.details.baseline ?? '', m.details.candidate ?? '', m.details.path ?? ''].join('|');

const isQuantile = (m: MetricRow) => m.metric.startsWith('latency_p') || m.metric === 'abs_diff_p99';

/** Relative tolerance; below 1e-6 in magnitude (e.g. an intercept that is a difference of means) absolute at 1e-6·tol. */
function near(actual: number | null, expected: number | null, tol: number, what: string): void {
  if (expected === null || actual === null) {
    expect(actual, what).toBe(expected);
    return;
  }
  expect(Math.abs(actual - expected) <= tol * Math.max(Math.abs(expected), 1e-6), `${what}: ${actual} vs ${expected}`).toBe(true);
}

async function report(window: { from: number; to: number }, useRollups: boolean, candidate = 'cand-a'): Promise<MetricRow[]> {
  const [r] = await runReport(ch, { experiment: 'oracle', candidate, ...window, segmentKeys: keys, reports: REPORTS, useRollups });
  return r?.metrics ?? [];
}

/** max |candidate − baseline latency| per segment of the report (ok pairs), keyed like `segment|value`. */
async function maxAbsDiff(candidate: string, window: { from: number; to: number }): Promise<Map<string, number>> {
  const rows = await queryRows<{ k: string; v: string; m: number }>(
    ch,
    `SELECT kv.1 AS k, kv.2 AS v, max(abs(candidate_latency_ms - baseline_latency_ms)) AS m
     FROM shadow_pairs FINAL
     ARRAY JOIN arrayConcat([('', '')], arrayFilter(kv -> has({keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))'))) AS kv
     WHERE experiment = 'oracle' AND candidate = {candidate:String} AND baseline_status = 'ok' AND candidate_status = 'ok'
       AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
     GROUP BY k, v`,
    { keys, candidate, from: (window.from / 1000).toFixed(3), to: (window.to / 1000).toFixed(3) },
  );
  return new Map(rows.map((r) => [`${r.k}|${r.v}`, Number(r.m)]));
}

/**
 * Every row of the raw report has its rolled-up twin: exact for counts and sums; quantiles within
 * the histogram's bound, 0.5 % of the larger magnitude of the two order statistics interpolated
 * between (for a paired difference whose neighbours straddle 0, at most 0.5 % of max |c − b|).
 */
function compare(rolled: MetricRow[], raw: MetricRow[], maxDiff: Map<string, number> = new Map()): void {
  const byKey = new Map(rolled.map((m) => [rowKey(m), m]));
  expect(new Set(byKey.keys())).toEqual(new Set(raw.map(rowKey)));
  for (const e of raw) {
    const a = byKey.get(rowKey(e))!;
    const what = rowKey(e);
    if (isQuantile(e)) {
      if (e.metric.endsWith('_ratio')) expect(a.method, what).toBe('quantile-ratio');
      else expect(a.method, what).toMatch(/^quantile-log-histogram/);
      // The raw side's exact quantiles here are over every pair (sample_mod 1): the histogram's
      // interpolated quantile is within 0.5 % of the values it interpolates between.
      expect(e.details.sample_mod, what).toBe(1);
      expect(a.n, what).toBe(e.n);
      if (e.metric.endsWith('_ratio')) near(a.value, e.value, 2.1 * HIST, what);
      else if (e.metric.endsWith('_diff')) {
        const bound = HIST * Math.max(Math.abs(e.value ?? 0), maxDiff.get(`${e.segment_key}|${e.segment_value}`) ?? 0);
        expect(Math.abs((a.value ?? 0) - (e.value ?? 0)) <= bound * (1 + 1e-9), `${what}: ${a.value} vs ${e.value}, bound ${bound}`).toBe(true);
      }
      else near(a.value, e.value, HIST, what);
      continue;
    }
    expect(a.method, what).toBe(e.method);
    expect(a.n, what).toBe(e.n);
    for (const f of ['value', 'lower', 'upper', 'p_value', 'p_adjusted'] as const) near(a[f], e[f], SAME, `${what} ${f}`);
    expect(Object.keys(a.details).sort(), what).toEqual(Object.keys(e.details).sort());
    for (const [k, v] of Object.entries(e.details)) {
      // details.intercept = mean c − slope·mean b cancels: its rounding is relative to the means (~1)
      if (typeof v === 'number') expect(Math.abs((a.details[k] as number) - v) <= SAME * Math.max(1, Math.abs(v)), `${what} details.${k}`).toBe(true);
      else expect(a.details[k], `${what} details.${k}`).toEqual(v);
    }
  }
}

describe('pair roll-ups', () => {
  const main = { from: t0 + oracle.windows.main[0], to: t0 + oracle.windows.main[1] };

  it('rolls sealed hours once from deduplicated pairs and records them in the ledger', async () => {
    const first = await rollUpPairs(ch, { experiment: 'oracle', segmentKeys: keys, now: () => t0 + 4 * HOUR_MS });
    expect(first.rolled).toEqual([t0, t0 + HOUR_MS, t0 + 2 * HOUR_MS]);
    expect(first.rerolled).toEqual([]);
    const again = await rollUpPairs(ch, { experiment: 'oracle', segmentKeys: keys, now: () => t0 + 4 * HOUR_MS });
    expect(again.rolled).toEqual([]);
    expect(again.rerolled).toEqual([]);
    // every sealed hour of the 7-day lookback, with pairs or without, is current now
    expect(again.current).toBe(7 * 24 - 1);
    // The rolled pairs are the deduplicated ones (the fixture holds re-delivered pairs).
    const [counts] = await queryRows<{ rolled: number; dedup: number; raw: number }>(
      ch,
      `SELECT (SELECT countMerge(pairs_s) FROM pair_rollups WHERE experiment = 'oracle') AS rolled,
              (SELECT count() FROM shadow_pairs FINAL WHERE experiment = 'oracle' AND event_time < {to:DateTime64(3)}) AS dedup,
              (SELECT count() FROM shadow_pairs WHERE experiment = 'oracle' AND event_time < {to:DateTime64(3)}) AS raw`,
      { to: ((t0 + 3 * HOUR_MS) / 1000).toFixed(3) },
    );
    expect(Number(counts?.rolled)).toBe(Number(counts?.dedup));
    expect(Number(counts?.raw)).toBeGreaterThan(Number(counts?.dedup));
  });

  it('gives the raw report for a window of whole rolled hours, the candidate and the A/A run', async () => {
    expect(await rolledRange(ch, 'oracle', main, keys)).toEqual(main);
    for (const candidate of ['cand-a', 'baseline-aa']) {
      const raw = await report(main, false, candidate);
      const rolled = await report(main, true, candidate);
      expect(raw.length).toBeGreaterThan(50);
      compare(rolled, raw, await maxAbsDiff(candidate, main));
    }
  });

  it('reads raw pairs for the partial hours of a window that is not aligned to hours', async () => {
    const window = { from: t0 + 30 * 60_000, to: t0 + 2 * HOUR_MS + 20 * 60_000 };
    expect(await rolledRange(ch, 'oracle', window, keys)).toEqual({ from: t0 + HOUR_MS, to: t0 + 2 * HOUR_MS });
    compare(await report(window, true), await report(window, false), await maxAbsDiff('cand-a', window));
  });

  it('falls back to raw pairs for segment keys the hours were not rolled by', async () => {
    expect(await rolledRange(ch, 'oracle', main, [...keys, 'input_len'])).toEqual({ from: main.to, to: main.to });
    const rows = await runReport(ch, { experiment: 'oracle', candidate: 'cand-a', ...main, segmentKeys: [...keys, 'input_len'], reports: ['latency'] });
    expect(rows[0]?.metrics.find((m) => m.metric === 'latency_p50_candidate')?.method).toBe('quantile-exact-inclusive');
    // a subset of the rolled keys is fine
    expect(await rolledRange(ch, 'oracle', main, keys.slice(0, 1))).toEqual(main);
  });

  it('rolls an hour again when late or replayed pairs change it, and reads only the new version', async () => {
    const late = {
      experiment: 'oracle',
      candidate: 'cand-a',
      role: 'candidate',
      event_id: 'late-1',
      event_time: toDateTime64(main.from + 60_000),
      arm: 'stable',
      baseline_model: 'oracle-model',
      baseline_version: 'v1',
      attributes: { region: 'eu', client: 'web' },
      task: 'classification',
      baseline_latency_ms: 12,
      candidate_latency_ms: 30,
      baseline_status: 'ok',
      candidate_status: 'ok',
      agree: 0,
      baseline_label: 'cat',
      candidate_label: 'dog',
      replayed_at: toDateTime64(t0 + 3 * HOUR_MS),
    };
    await insertRows(ch, 'shadow_pairs', [late]);
    // the same pair replayed again after a crash: FINAL keeps one
    await insertRows(ch, 'shadow_pairs', [{ ...late, replayed_at: toDateTime64(t0 + 3 * HOUR_MS + 1000) }]);
    const before = await report(main, true);
    const pass = await rollUpPairs(ch, { experiment: 'oracle', segmentKeys: keys, now: () => t0 + 5 * HOUR_MS });
    expect(pass.rerolled).toEqual([main.from]);
    const raw = await report(main, false);
    const rolled = await report(main, true);
    compare(rolled, raw, await maxAbsDiff('cand-a', main));
    const n = (rows: MetricRow[]) => rows.find((m) => m.metric === 'error_rate' && m.segment_key === '')?.n;
    expect(n(rolled)).toBe((n(before) ?? 0) + 1);
    const [versions] = await queryRows<{ v: number }>(
      ch,
      `SELECT uniqExact(version) AS v FROM pair_rollups WHERE experiment = 'oracle' AND hour = toDateTime({h:Int64}, 'UTC')`,
      { h: main.from / 1000 },
    );
    expect(Number(versions?.v)).toBe(1);
  });

  it('merges the 24 hours of a sealed day into day rows and reads those for whole days', async () => {
    const day = { from: t0, to: t0 + 24 * HOUR_MS };
    const pass = await rollUpPairs(ch, { experiment: 'oracle', segmentKeys: keys, now: () => t0 + 25 * HOUR_MS });
    expect(pass.days).toContain(t0);
    const plan = await rollupPlan(ch, 'oracle', day, keys);
    expect(plan.parts).toEqual([{ spanHours: 24, hour: t0, version: pass.version }]);
    compare(await report(day, true), await report(day, false), await maxAbsDiff('cand-a', day));
    // a window that covers only part of the day reads hour rows
    const part = await rollupPlan(ch, 'oracle', { from: t0, to: t0 + 2 * HOUR_MS }, keys);
    expect(part.parts.map((p) => p.spanHours)).toEqual([1, 1]);
    // nothing changed: the next pass rolls nothing again
    const again = await rollUpPairs(ch, { experiment: 'oracle', segmentKeys: keys, now: () => t0 + 25 * HOUR_MS });
    expect(again.rolled).toEqual([]);
    expect(again.days).toEqual([]);
  });

  it('draws the same drift sample from stored bottom-k states as from the raw pairs', async () => {
    const reference = { from: t0 + oracle.windows.reference[0], to: t0 + oracle.windows.reference[1] };
    const drift = async (window: { from: number; to: number }, useRollups: boolean, maxDriftSample?: number) => {
      const [r] = await runReport(ch, {
        experiment: 'oracle',
        candidate: 'cand-a',
        ...window,
        referenceWindow: reference,
        segmentKeys: keys,
        reports: ['drift'],
        useRollups,
        ...(maxDriftSample ? { thresholds: { maxDriftSample } } : {}),
      });
      return r?.metrics ?? [];
    };
    const key = (m: MetricRow) => `${m.metric}|${m.segment_key}|${m.segment_value}|${String(m.details.feature)}`;
    // every pair fits in the sample (n <= maxDriftSample): both paths see all of them
    for (const window of [main, { from: t0 + 30 * 60_000, to: t0 + 2 * HOUR_MS + 20 * 60_000 }]) {
      const raw = await drift(window, false);
      const rolled = await drift(window, true);
      expect(rolled[0]?.details.sample).toBe('bottom-k-hash');
      const byKey = new Map(rolled.map((m) => [key(m), m]));
      expect(new Set(byKey.keys())).toEqual(new Set(raw.map(key)));
      for (const e of raw) {
        const a = byKey.get(key(e))!;
        expect([a.n, a.details.n_ref, a.details.n_cur, a.method], key(e)).toEqual([e.n, e.details.n_ref, e.details.n_cur, e.method]);
        near(a.value, e.value, SAME, `${key(e)} value`);
        near(a.p_value, e.p_value, SAME, `${key(e)} p`);
      }
    }
    // a sample smaller than the window: the maxDriftSample pairs with the smallest hashes
    const small = await drift(main, true, 50);
    const [expected] = await queryRows<{ n: number }>(
      ch,
      `SELECT countIf(baseline_status = 'ok' AND candidate_status = 'ok' AND isFinite(ifNull(baseline_value, nan)) AND isFinite(ifNull(candidate_value, nan))) AS n
       FROM (SELECT * FROM shadow_pairs FINAL WHERE experiment = 'oracle' AND candidate = 'cand-a'
               AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)} ORDER BY cityHash64(event_id) LIMIT 50)`,
      { from: (main.from / 1000).toFixed(3), to: (main.to / 1000).toFixed(3) },
    );
    const output = small.find((m) => m.metric === 'ks' && m.segment_key === '' && m.details.feature === 'output_value');
    expect(output?.n).toBe(Number(expected?.n));
    expect(output?.details.sample_k).toBe(50);
    // every candidate in one statement: each draws its own cut, as it does alone
    const opts = { experiment: 'oracle', ...main, referenceWindow: reference, segmentKeys: keys, reports: ['drift' as const], thresholds: { maxDriftSample: 50 }, runId: 'r', now: () => 0 };
    const together = await runReport(ch, opts);
    expect(together.map((r) => r.candidate)).toEqual(['cand-a', 'baseline-aa']);
    for (const r of together) {
      const [alone] = await runReport(ch, { ...opts, candidate: r.candidate });
      expect(r.metrics[0]?.details.sample).toBe('bottom-k-hash');
      expect(r).toEqual(alone);
    }
  });

  it('does not roll hours still inside the grace period', async () => {
    const pass = await rollUpPairs(ch, { experiment: 'oracle-tiny', segmentKeys: keys, now: () => t0 + HOUR_MS + 60_000, graceMs: 5 * 60_000 });
    expect(pass.rolled.every((h) => h + HOUR_MS <= t0 + HOUR_MS)).toBe(true);
  });
});

/**
 * Request roll-ups against the raw canary report on the oracle's requests. Counts, error rates and
 * the z-test must be the same. Mann-Whitney and the quantiles come from 1e-3 log-bucket histograms
 * of every ok request: U moves by at most ½ for each cross-arm pair of distinct values sharing a
 * bucket (B of them, counted here), so |ΔU| <= B/2 and |Δp| <= 2φ(0)·(B/2)/σ with σ the U's
 * standard deviation (tie correction aside, 1 % slack); quantiles within 1e-3 of the exact ones.
 */
describe('request roll-ups', () => {
  const REQ_HIST = 1e-3;
  const main = { from: t0 + oracle.windows.main[0], to: t0 + oracle.windows.main[1] };
  const canary = (model: string, window: { from: number; to: number }, useRollups: boolean) =>
    runCanaryReport(ch, { experiment: 'oracle', model, ...window, segmentKeys: ['region'], useRollups });

  /** Cross-arm pairs of ok requests of oracle-model in the window with distinct latencies in one bucket. */
  async function sharedBuckets(window: { from: number; to: number }): Promise<number> {
    const [row] = await queryRows<{ b: number }>(
      ch,
      `WITH x -> ceil(log(x) / log((1 + 0.001) / (1 - 0.001))) AS k
       SELECT countIf(s.latency_ms != c.latency_ms AND k(s.latency_ms) = k(c.latency_ms)) AS b
       FROM (SELECT latency_ms FROM request_events FINAL WHERE model_name = 'oracle-model' AND arm = 'stable' AND status = 'ok'
               AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}) AS s
       CROSS JOIN (SELECT latency_ms FROM request_events FINAL WHERE model_name = 'oracle-model' AND arm = 'canary' AND status = 'ok'
               AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}) AS c`,
      { from: (window.from / 1000).toFixed(3), to: (window.to / 1000).toFixed(3) },
    );
    return Number(row?.b);
  }

  function compareCanary(rolled: MetricRow[], raw: MetricRow[], shared: number): void {
    const key = (m: MetricRow) => `${m.metric}|${m.segment_key}|${m.segment_value}`;
    const byKey = new Map(rolled.map((m) => [key(m), m]));
    expect(new Set(byKey.keys())).toEqual(new Set(raw.map(key)));
    for (const e of raw) {
      const a = byKey.get(key(e))!;
      const what = key(e);
      expect(a.n, what).toBe(e.n);
      if (e.metric === 'latency_mann_whitney') {
        expect(a.method, what).toBe('mann-whitney-asymptotic-histogram');
        expect(e.details.sample_mod, what).toBe(1);
        if (e.p_value === null || e.value === null) {
          expect([a.value, a.p_value], what).toEqual([e.value, e.p_value]);
          continue;
        }
        const n1 = e.details.n_stable as number;
        const n2 = e.details.n_canary as number;
        expect(Math.abs((a.value ?? 0) - (e.value ?? 0)) <= shared / 2 + 1e-9 * Math.abs(e.value ?? 0), `${what} U: ${a.value} vs ${e.value}`).toBe(true);
        const sigma = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
        const pBound = (1.01 * 2 * 0.3989422804014327 * (shared / 2)) / sigma + 1e-9;
        expect(Math.abs((a.p_value ?? 0) - (e.p_value ?? 0)) <= pBound, `${what} p: ${a.p_value} vs ${e.p_value}, bound ${pBound}`).toBe(true);
      } else if (e.metric.startsWith('latency_p')) {
        expect(a.method, what).toBe(e.metric.endsWith('_ratio') ? 'quantile-ratio' : 'quantile-log-histogram');
        near(a.value, e.value, e.metric.endsWith('_ratio') ? 2.1 * REQ_HIST : REQ_HIST, what);
      } else {
        expect(a.method, what).toBe(e.method);
        for (const f of ['value', 'lower', 'upper', 'p_value'] as const) near(a[f], e[f], SAME, `${what} ${f}`);
      }
    }
  }

  it('rolls sealed hours of every arm once, and gives the raw canary report within the histograms\' bounds', async () => {
    const first = await rollUpRequests(ch, { model: 'oracle-model', segmentKeys: ['region'], now: () => t0 + 4 * HOUR_MS });
    expect(first.rolled).toEqual([main.from]);
    const again = await rollUpRequests(ch, { model: 'oracle-model', segmentKeys: ['region'], now: () => t0 + 4 * HOUR_MS });
    expect(again.rolled).toEqual([]);
    expect(await rollupPlan(ch, 'oracle-model', main, ['region'], REQUEST_ROLLUPS)).toMatchObject({ from: main.from, to: main.to });

    const shared = await sharedBuckets(main);
    // the fixture's 3-decimal latencies: a few distinct values of the two arms share a bucket
    expect(shared).toBeLessThan(200);
    const raw = (await canary('oracle-model', main, false)).metrics;
    const rolled = (await canary('oracle-model', main, true)).metrics;
    expect(rolled.find((m) => m.metric === 'latency_mann_whitney' && m.segment_key === '')?.method).toBe('mann-whitney-asymptotic-histogram');
    compareCanary(rolled, raw, shared);
  });

  it('takes the histograms of the raw edge of a window too, and keeps an empty arm null', async () => {
    // [1.5 h, 3 h): the rolled (empty) hour [2 h, 3 h) plus the raw half hour before it
    const window = { from: main.from + HOUR_MS / 2, to: main.to + HOUR_MS };
    expect(await rollupPlan(ch, 'oracle-model', window, ['region'], REQUEST_ROLLUPS)).toMatchObject({ from: main.to, to: window.to });
    const raw = (await canary('oracle-model', window, false)).metrics;
    const rolled = (await canary('oracle-model', window, true)).metrics;
    compareCanary(rolled, raw, await sharedBuckets(window));

    await rollUpRequests(ch, { model: 'oracle-onearm', segmentKeys: ['region'], now: () => t0 + 4 * HOUR_MS });
    const onearm = (await canary('oracle-onearm', main, true)).metrics;
    compareCanary(onearm, (await canary('oracle-onearm', main, false)).metrics, 0);
    expect(onearm.find((m) => m.metric === 'latency_mann_whitney' && m.segment_key === '')?.p_value).toBeNull();
  });
});
