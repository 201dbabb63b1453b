import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { renderHtml, renderTable, runReport, storeReport } from '@umbra/comparator';
import { createPromoter, renderReasons, type Promoter } from '@umbra/promoter';
import { createRegistry } from '@umbra/core';
import { loadSql, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createReplayerService, generateTraffic, parseExperimentConfig, runIterable, DEMO_BASELINE } from '@umbra/replayer';
import { openClickHouse, startup, type GlobalOptions } from '../runtime.ts';

const MODELS = fileURLToPath(new URL('../../../replayer/src/demo/models.ts', import.meta.url));

export const DEMO_EXPERIMENT = 'demo-credit-risk';

/** The demo experiment: the production model, a close retrain, and a retrain with a real regression. */
export function demoExperiment() {
  const moduleCandidate = (name: string, exportName: string, extra: Record<string, unknown> = {}) => ({
    name,
    adapter: 'module',
    path: MODELS,
    export: exportName,
    timeoutMs: 1000,
    concurrency: 64,
    ...extra,
  });
  return parseExperimentConfig(
    {
      experiment: DEMO_EXPERIMENT,
      baseline: {
        model: DEMO_BASELINE.name,
        version: DEMO_BASELINE.version,
        // A/A: the baseline replayed on a quarter of the events measures its own nondeterminism.
        replay: moduleCandidate('baseline', 'baselineReplay', { sampleRate: 0.25 }),
      },
      output: { task: 'classification', label: '$.label', score: '$.score' },
      candidates: [moduleCandidate('credit-risk-v2-close', 'closeCandidate'), moduleCandidate('credit-risk-v2-regressed', 'regressedCandidate')],
      segments: ['region', 'client', 'input_class'],
      store: { batchPairs: 20_000, flushIntervalMs: 200 },
    },
    'demo experiment',
  );
}

const INTERVAL_MS = 10 * 60_000;

/** A canary rollout of one demo candidate: shadow, then 5 → 25 → 100 % with 10-minute bakes. */
export function demoRollout(candidate: string): Record<string, unknown> {
  return {
    rollout: `${candidate}-canary`,
    experiment: DEMO_EXPERIMENT,
    candidate,
    baseline: `${DEMO_BASELINE.name}@${DEMO_BASELINE.version}`,
    strategy: { canary: { shadow: { minDuration: '10m' }, steps: [5, 25, 100], bakeTime: '10m' } },
    gates: [
      { name: 'agreement', metric: 'agreement', op: '>=', threshold: 0.98, perSegment: { keys: ['region'] } },
      { name: 'replay-errors', metric: 'candidate_error_rate', op: '<=', threshold: 0.005 },
      { name: 'timeouts', metric: 'timeout_rate', op: '<=', threshold: 0.005 },
      { name: 'output-drift', metric: 'psi', op: '<=', threshold: 0.1 },
    ],
    evidence: { minPairs: 1000, minPerSegment: 200, minRequestsPerArm: 500 },
    rollback: { afterFailures: 2 },
    alpha: 0.05,
    interval: '10m',
  };
}

const where = (phase: string, weight: number) => (phase === 'canary' ? `canary ${weight}%` : phase);

/**
 * Replays the demo traffic in 10-minute intervals of event time and, after each, lets the promoter
 * evaluate both rollouts at the end of that interval: the same code path as a live promoter,
 * with time taken from the events instead of the wall clock.
 */
async function runRollouts(
  promoter: Promoter,
  clock: { now: number },
  replayInterval: (i: number, from: number) => Promise<void>,
  rollouts: string[],
  intervals: number,
  start: number,
  out: NodeJS.WritableStream,
): Promise<void> {
  const active = new Set(rollouts);
  for (let i = 0; i < intervals; i++) {
    const from = start + i * INTERVAL_MS;
    await replayInterval(i, from);
    clock.now = from + INTERVAL_MS;
    for (const rollout of [...active]) {
      const d = await promoter.evaluate(rollout);
      const move = d.decision === 'continue' ? `stays at ${where(d.phase, d.weight)}` : `${where(d.phase, d.weight)} → ${where(d.nextPhase, d.nextWeight)}`;
      out.write(`[+${String((i + 1) * 10).padStart(3)} min] ${rollout.padEnd(34)} ${d.decision.toUpperCase().padEnd(8)} ${move}: ${d.summary}\n`);
      if (d.decision === 'rollback') out.write(`${indent(renderReasons(d.reasons.filter((r) => r.outcome === 'fail')), 14)}\n`);
      if (['done', 'rolled-back', 'aborted'].includes(d.nextPhase)) active.delete(rollout);
    }
  }
  for (const rollout of active) out.write(`${rollout}: not finished after ${intervals} intervals\n`);
}

const indent = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

interface SummaryRow {
  candidate: string;
  role: string;
  pairs: number;
  compared: number;
  agreement: number | null;
  agreement_lower: number | null;
  agreement_upper: number | null;
  errors: number;
  timeouts: number;
  baseline_latency_ms: number[];
  candidate_latency_ms: number[];
}

const pct = (v: number | null, digits = 2) => (v === null || Number.isNaN(v) ? '   n/a' : `${(v * 100).toFixed(digits)}%`);
const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));

export async function printSummary(ch: ClickHouse, experiment: string, out: NodeJS.WritableStream = process.stdout): Promise<SummaryRow[]> {
  const rows = await queryRows<SummaryRow>(ch, loadSql('reports/summary.sql'), { experiment });
  out.write(`\nexperiment ${experiment} — pairs read from ClickHouse shadow_pairs (deduplicated)\n`);
  out.write(
    `${'candidate'.padEnd(26)} ${'pairs'.padStart(7)}  ${'agreement [95% Wilson]'.padEnd(30)} ${'errors'.padStart(6)} ${'timeouts'.padStart(8)}  latency ms p50/p95/p99 (baseline → candidate)\n`,
  );
  for (const r of rows) {
    const b = r.baseline_latency_ms;
    const c = r.candidate_latency_ms;
    const name = r.role === 'noise' ? `${r.candidate} (A/A)` : r.candidate;
    out.write(
      `${name.padEnd(26)} ${String(Number(r.pairs)).padStart(7)}  ${`${pct(r.agreement)} [${pct(r.agreement_lower)}, ${pct(r.agreement_upper)}]`.padEnd(30)} ${String(Number(r.errors)).padStart(6)} ${String(Number(r.timeouts)).padStart(8)}  ${ms(b[0])}/${ms(b[1])}/${ms(b[2])} → ${ms(c[0])}/${ms(c[1])}/${ms(c[2])}  (n=${Number(r.compared)})\n`,
    );
  }
  return rows;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('replay a generated stream through a baseline and two in-process candidates on the embedded engine')
    .option('--events <n>', 'events to generate', (v) => Number.parseInt(v, 10), 24_000)
    .action(async (opts: { events: number }, cmd: Command) => {
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'demo');
      const started = performance.now();
      const ch = await openClickHouse(config, logger);
      await migrate(ch, { logger });
      // The demo replaces its previous run.
      await ch.client.command({ query: 'DELETE FROM shadow_pairs WHERE experiment = {e:String}', query_params: { e: DEMO_EXPERIMENT } });
      await ch.client.command({ query: 'DELETE FROM request_events WHERE model_name = {m:String}', query_params: { m: DEMO_BASELINE.name } });

      const experiment = demoExperiment();
      const service = await createReplayerService({ experiment, baseDir: process.cwd(), ch, logger, registry: createRegistry('demo', { defaultMetrics: false }) });
      const intervals = 12;
      const perInterval = Math.ceil(opts.events / intervals);
      const start = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS - intervals * INTERVAL_MS;
      const clock = { now: start };
      const promoter = createPromoter({ ch, logger, clock: () => clock.now, leadership: false, instanceId: 'umbra-demo' });
      const rollouts = [];
      for (const c of experiment.candidates) {
        const spec = demoRollout(c.name);
        // The demo replaces its previous rollouts too.
        const running = await promoter.status(spec.rollout as string);
        if (running && !['done', 'rolled-back', 'aborted'].includes(running.state.phase)) await promoter.abort(spec.rollout as string, 'demo restarted');
        await promoter.start(spec, { source: 'demo' });
        rollouts.push(spec.rollout as string);
      }
      process.stdout.write(
        `umbra demo: ${perInterval * intervals} generated events of ${DEMO_BASELINE.name} ${DEMO_BASELINE.version} in ${intervals} intervals of 10 min, ` +
          `replayed against 2 candidates (+ A/A on 25 %) on ${ch.describe}; after each interval the promoter evaluates both canary rollouts\n\n`,
      );
      const t0 = performance.now();
      let events = 0;
      await runRollouts(
        promoter,
        clock,
        async (i, from) => {
          const traffic = generateTraffic({ count: perInterval, seed: 7 + i, startMs: from, spanMs: INTERVAL_MS });
          events += (await runIterable(service.replayer, traffic, { chunkSize: 500, maxOutstanding: 8 })).events;
        },
        rollouts,
        intervals,
        start,
        process.stdout,
      );
      await service.close();
      await promoter.close();
      const replaySeconds = (performance.now() - t0) / 1000;
      process.stdout.write(`\nreplayed ${events} events and evaluated the rollouts in ${replaySeconds.toFixed(1)} s (${Math.round(events / replaySeconds)} events/s)\n`);
      await printSummary(ch, DEMO_EXPERIMENT);

      // The comparator's full report over the replayed window: agreement, latency and drift,
      // overall and per segment, each number with its n and interval or p-value.
      const window = { from: start, to: start + intervals * INTERVAL_MS };
      const reports = await runReport(ch, { experiment: DEMO_EXPERIMENT, ...window, segmentKeys: [...experiment.segments] });
      for (const report of reports) await storeReport(ch, report);
      process.stdout.write(`\n${renderTable(reports, { experiment: DEMO_EXPERIMENT })}\n`);
      const htmlPath = resolve(process.cwd(), '.umbra', `report-${DEMO_EXPERIMENT}.html`);
      writeFileSync(htmlPath, renderHtml(reports, { experiment: DEMO_EXPERIMENT }));
      process.stdout.write(`HTML report: ${htmlPath}\n`);
      await ch.close();
      process.stdout.write(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s; the pairs stay in ${config.clickhouse.dataDir} (try: npx umbra migrate, or SQL on shadow_pairs)\n`);
    });
}
