/**
 * The comparator service on the real engine (chDB) and the real Kafka broker: seeded pairs in,
 * rows in comparison_reports and decodable ComparisonReport messages out, its last run on /metrics.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRegistry, serveMetrics, silentLogger } from '@umbra/core';
import { decodeComparisonReport, SCHEMA_HEADER, type ComparisonReportMessage } from '@umbra/core/avro';
import { createClickHouse, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createKafka, type KafkaBus } from '@umbra/core/kafka';
import { seedReportPairs } from '../../../test/integration/report-fixtures.ts';
// Brings the type of inject('kafkaBrokers') (declared by the global setup) into this package's typecheck.
import type {} from '../../../test/global-setup.ts';
import { runReport } from './reports/index.ts';
import { seedLiveSplit } from './reports/live-fixture.ts';
import { createComparator, discoverSegmentKeys, type RunResult } from './service.ts';

const EXPERIMENT = 'comparator-it';
const NOW = Date.now();

let dir: string;
let ch: ClickHouse;
let bus: KafkaBus;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-comparator-'));
  ch = await createClickHouse({ dataDir: join(dir, 'db') });
  await seedReportPairs(ch, { experiment: EXPERIMENT, now: NOW, counts: { close: 240, regressed: 240, noise: 120 } });
  bus = createKafka({ brokers: inject('kafkaBrokers').split(','), clientId: 'umbra-comparator-it' });
});

afterAll(async () => {
  await ch?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function newTopic(): Promise<string> {
  const topic = `umbra.reports.it-${randomUUID().slice(0, 8)}`;
  await bus.ensureTopics([{ topic, partitions: 1 }]);
  return topic;
}

/** Reads `count` messages from the start of `topic`, decoded; fails the test if they do not come. */
async function consume(topic: string, count: number): Promise<Array<{ key: string; headers: Record<string, string>; report: ComparisonReportMessage }>> {
  const consumer = bus.consumer({ groupId: `umbra-comparator-it-${randomUUID()}`, topics: [topic], fromBeginning: true, maxWaitTime: 200 });
  const out: Array<{ key: string; headers: Record<string, string>; report: ComparisonReportMessage }> = [];
  let done!: () => void;
  let failed!: (e: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  await consumer.run({
    async eachBatch(batch, control) {
      try {
        for (const m of batch.messages) {
          const headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v?.toString('utf8') ?? '']));
          out.push({ key: m.key?.toString('utf8') ?? '', headers, report: await decodeComparisonReport(m.value, m.headers) });
          control.resolveOffset(m.offset);
        }
        if (out.length >= count) done();
      } catch (e) {
        failed(e);
      }
    },
  });
  const timeout = setTimeout(() => failed(new Error(`only ${out.length} of ${count} reports arrived on ${topic}`)), 60_000);
  try {
    await finished;
  } finally {
    clearTimeout(timeout);
    await consumer.disconnect();
  }
  return out;
}

describe('comparator service', () => {
  it('finds the attribute keys of the window as segment keys', async () => {
    const keys = await discoverSegmentKeys(ch, { experiment: EXPERIMENT, from: NOW - 3_600_000, to: NOW + 1 });
    expect([...keys].sort()).toEqual(['client', 'region']);
    expect(await discoverSegmentKeys(ch, { experiment: EXPERIMENT, from: NOW - 3_600_000, to: NOW + 1, maxValues: 2 })).toEqual(['client']);
    expect(await discoverSegmentKeys(ch, { experiment: 'no-such-experiment', from: NOW - 3_600_000, to: NOW })).toEqual([]);
  });

  it('runs the reports once: rows in comparison_reports, one Avro ComparisonReport per candidate, last run on /metrics', async () => {
    const topic = await newTopic();
    const registry = createRegistry('comparator', { defaultMetrics: false });
    const producer = bus.producer();
    const comparator = createComparator({
      ch,
      logger: silentLogger(),
      registry,
      producer,
      topic,
      experiments: [EXPERIMENT],
      intervalMs: 60_000,
      windowMs: 3_600_000,
      now: () => NOW + 1,
    });
    const runs: RunResult[] = [];
    comparator.on('run', (r) => runs.push(r));
    try {
      const reports = await comparator.runOnce();
      expect(reports.map((r) => r.candidate).sort()).toEqual(['baseline', 'cand-close', 'cand-regressed']);
      expect(reports.find((r) => r.candidate === 'baseline')?.role).toBe('noise');
      for (const r of reports) {
        expect(r.experiment).toBe(EXPERIMENT);
        expect(r.window).toEqual({ from: NOW + 1 - 3_600_000, to: NOW + 1 });
        expect(r.metrics.length).toBeGreaterThan(0);
      }
      const written = reports.reduce((sum, r) => sum + r.metrics.length, 0);
      expect(runs).toEqual([expect.objectContaining({ experiment: EXPERIMENT, metrics: written })]);

      // Stored: every metric of every report, under its run id.
      const stored = await queryRows<{ run_id: string; candidate: string; rows: number; segmented: number }>(
        ch,
        `SELECT run_id, candidate, count() AS rows, countIf(segment_key != '') AS segmented
         FROM comparison_reports WHERE experiment = {experiment:String} AND run_id IN {runIds:Array(String)}
         GROUP BY run_id, candidate ORDER BY candidate`,
        { experiment: EXPERIMENT, runIds: [...new Set(reports.map((r) => r.runId))] },
      );
      expect(stored.map((s) => [s.candidate, Number(s.rows)])).toEqual(
        [...reports].sort((a, b) => a.candidate.localeCompare(b.candidate)).map((r) => [r.candidate, r.metrics.length]),
      );
      // The segments discovered in the window were reported on.
      expect(stored.every((s) => Number(s.segmented) > 0)).toBe(true);

      // Published: decodable, keyed by experiment/candidate, the same metrics as stored.
      const messages = await consume(topic, reports.length);
      expect(messages).toHaveLength(reports.length);
      expect(messages.map((m) => m.report.candidate).sort()).toEqual(['baseline', 'cand-close', 'cand-regressed']);
      for (const m of messages) {
        // One run id for the whole run; the candidate tells the reports apart.
        const report = reports.find((r) => r.candidate === m.report.candidate)!;
        expect(report).toBeDefined();
        expect(m.report.runId).toBe(report.runId);
        expect(m.key).toBe(`${EXPERIMENT}/${report.candidate}`);
        expect(m.headers[SCHEMA_HEADER]).toMatch(/^ComparisonReport\.v\d+$/);
        expect(m.report).toMatchObject({ experiment: EXPERIMENT, candidate: report.candidate, windowFrom: report.window.from, windowTo: report.window.to });
        expect(m.report.metrics).toHaveLength(report.metrics.length);
        const agreement = m.report.metrics.find((x) => x.metric === 'agreement_rate' && x.segmentKey === '')!;
        const source = report.metrics.find((x) => x.metric === 'agreement_rate' && x.segment_key === '')!;
        expect(agreement).toMatchObject({ report: 'agreement', n: source.n, value: source.value, lower: source.lower, upper: source.upper, method: source.method });
        expect(JSON.parse(agreement.details)).toEqual(source.details);
      }

      // /metrics shows the last run.
      const server = await serveMetrics(registry);
      try {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        const sample = (name: string) => Number(new RegExp(`^${name}\\{[^}]*experiment="${EXPERIMENT}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
        expect(sample('umbra_comparator_last_run_timestamp_seconds')).toBe((NOW + 1) / 1000);
        expect(sample('umbra_comparator_last_run_metrics')).toBe(written);
        expect(sample('umbra_comparator_last_run_reports')).toBe(3);
        expect(sample('umbra_comparator_reports_published_total')).toBe(3);
        expect(sample('umbra_comparator_last_run_duration_seconds')).toBeGreaterThanOrEqual(0);
        expect(text).not.toMatch(/^umbra_comparator_failures_total\{/m);
      } finally {
        await server.close();
      }
    } finally {
      await comparator.stop();
    }
  });

  it('counts a failed run on /metrics, and the next run goes ahead', async () => {
    const registry = createRegistry('comparator', { defaultMetrics: false });
    let calls = 0;
    const comparator = createComparator({
      ch,
      logger: silentLogger(),
      registry,
      experiments: async () => {
        calls++;
        if (calls === 1) throw new Error('experiment list unavailable');
        return [EXPERIMENT];
      },
      intervalMs: 50,
    });
    const failures: unknown[] = [];
    comparator.on('failure', (f) => failures.push(f.error));
    await expect(comparator.runOnce()).rejects.toThrow('experiment list unavailable');
    expect(failures).toHaveLength(1);
    const text = await registry.metrics();
    expect(text).toMatch(/^umbra_comparator_failures_total\{experiment="\*",stage="query",service="comparator"\} 1$/m);
    expect((await comparator.runOnce()).map((r) => r.candidate).sort()).toEqual(['baseline', 'cand-close', 'cand-regressed']);
    // An experiment with no pairs yet reports nothing and is no failure.
    expect(await comparator.runOnce('not-started-yet')).toEqual([]);
    expect(failures).toHaveLength(1);
    await comparator.stop();
  });

  it('runs on a schedule, one run at a time, until stopped', async () => {
    let active = 0;
    let maxActive = 0;
    let finished = 0;
    let reachedTwo!: () => void;
    const twoRuns = new Promise<void>((resolve) => (reachedTwo = resolve));
    const scheduled = createComparator({
      ch,
      logger: silentLogger(),
      experiments: async () => {
        maxActive = Math.max(maxActive, ++active);
        return [EXPERIMENT];
      },
      // Far shorter than a run: every tick during a run must be skipped, not overlap it.
      intervalMs: 20,
    });
    scheduled.on('run', () => {
      active--;
      if (++finished === 2) reachedTwo();
    });
    scheduled.start();
    await twoRuns;
    await scheduled.stop();
    const after = finished;
    expect(maxActive).toBe(1);
    expect(active).toBe(0);
    // Stopped means stopped: no run starts after stop() resolved.
    await new Promise((r) => setTimeout(r, 100));
    expect(finished).toBe(after);
  });

  it('rolls sealed hours up before a run and reports them from the roll-ups, as the raw pairs give', async () => {
    const later = NOW + 3 * 3_600_000;
    const window = 5 * 3_600_000;
    const comparator = createComparator({
      ch,
      logger: silentLogger(),
      experiments: [EXPERIMENT],
      intervalMs: 60_000,
      windowMs: window,
      segmentKeys: ['region'],
      now: () => later,
    });
    const reports = await comparator.runOnce(EXPERIMENT);
    await comparator.stop();
    const ledger = await queryRows<{ pairs: number }>(
      ch,
      `SELECT sum(pairs) AS pairs FROM pair_rollup_hours FINAL WHERE experiment = {e:String} AND span_hours = 1`,
      { e: EXPERIMENT },
    );
    const [stored] = await queryRows<{ n: number }>(ch, 'SELECT count() AS n FROM shadow_pairs WHERE experiment = {e:String}', { e: EXPERIMENT });
    expect(Number(ledger[0]?.pairs)).toBe(Number(stored?.n));
    const raw = await runReport(ch, { experiment: EXPERIMENT, from: later - window, to: later, segmentKeys: ['region'], useRollups: false });
    for (const report of reports) {
      const p50 = report.metrics.find((m) => m.metric === 'latency_p50_candidate' && m.segment_key === '');
      expect(p50?.method).toBe('quantile-log-histogram');
      const rawReport = raw.find((r) => r.candidate === report.candidate);
      const rate = (r: typeof report | undefined) => r?.metrics.find((m) => m.metric === 'agreement_rate' && m.segment_key === '');
      expect(rate(report)?.n).toBe(rate(rawReport)?.n);
      expect(rate(report)?.value).toBeCloseTo(rate(rawReport)?.value ?? NaN, 12);
    }
  });

  it("adds the live arms when the experiment's model traffic was split, and rolls its requests up", async () => {
    const experiment = 'comparator-live';
    // Two hours back, so the hour is sealed and rolled.
    const t0 = Math.floor((NOW - 2 * 3_600_000) / 3_600_000) * 3_600_000;
    await seedLiveSplit(ch, t0, experiment, 'live-model', ['stable', 'canary']);
    const comparator = createComparator({
      ch,
      logger: silentLogger(),
      experiments: [experiment],
      intervalMs: 60_000,
      windowMs: 3 * 3_600_000,
      segmentKeys: ['region'],
      now: () => NOW,
    });
    const reports = await comparator.runOnce(experiment);
    await comparator.stop();
    // One candidate: the live arms join its report, and are stored with it.
    expect(reports.map((r) => r.candidate)).toEqual(['fraud-v2']);
    const [diff] = await queryRows<{ n: number; value: number; method: string }>(
      ch,
      `SELECT n, value, method FROM comparison_reports
       WHERE experiment = {e:String} AND run_id = {run:String} AND report = 'canary' AND metric = 'error_rate_diff' AND segment_key = ''`,
      { e: experiment, run: reports[0]!.runId },
    );
    expect(Number(diff?.n)).toBe(600);
    expect(diff?.value).toBeCloseTo(0.09, 10);
    const [mw] = reports[0]!.metrics.filter((m) => m.report === 'canary' && m.metric === 'latency_mann_whitney' && m.segment_key === '');
    expect(mw?.method).toBe('mann-whitney-asymptotic-histogram');
    const [ledger] = await queryRows<{ requests: number }>(
      ch,
      `SELECT sum(requests) AS requests FROM request_rollup_hours FINAL WHERE model_name = 'live-model' AND span_hours = 1`,
    );
    expect(Number(ledger?.requests)).toBe(600);
  });
});
