import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { renderHtml, renderTable, runReport, storeReport } from '@umbra/comparator';
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
    .option('--events <n>', 'events to generate', (v) => Number.parseInt(v, 10), 20_000)
    .action(async (opts: { events: number }, cmd: Command) => {
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'demo');
      const started = performance.now();
      const ch = await openClickHouse(config, logger);
      await migrate(ch, { logger });
      // The demo replaces its previous run.
      for (const table of ['shadow_pairs'] as const) {
        await ch.client.command({ query: `DELETE FROM ${table} WHERE experiment = {e:String}`, query_params: { e: DEMO_EXPERIMENT } });
      }
      await ch.client.command({ query: 'DELETE FROM request_events WHERE model_name = {m:String}', query_params: { m: DEMO_BASELINE.name } });

      const experiment = demoExperiment();
      const service = await createReplayerService({ experiment, baseDir: process.cwd(), ch, logger, registry: createRegistry('demo', { defaultMetrics: false }) });
      process.stdout.write(`umbra demo: ${opts.events} generated events of ${DEMO_BASELINE.name} ${DEMO_BASELINE.version} replayed against 2 candidates (+ A/A on 25 %) on ${ch.describe}\n`);
      const t0 = performance.now();
      const { events } = await runIterable(service.replayer, generateTraffic({ count: opts.events, seed: 7 }), { chunkSize: 500, maxOutstanding: 8 });
      await service.close();
      const replaySeconds = (performance.now() - t0) / 1000;
      process.stdout.write(`replayed ${events} events in ${replaySeconds.toFixed(1)} s (${Math.round(events / replaySeconds)} events/s)\n`);
      await printSummary(ch, DEMO_EXPERIMENT);

      // The comparator's full report over the replayed window: agreement, latency and drift,
      // overall and per segment, each number with its n and interval or p-value.
      const window = { from: Date.now() - 2 * 3_600_000, to: Date.now() + 60_000 };
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
