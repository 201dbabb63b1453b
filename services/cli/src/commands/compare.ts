import type { Command } from 'commander';
import { createRegistry, serveMetrics } from '@umbra/core';
import { migrate } from '@umbra/core/clickhouse';
import { createComparator, listExperiments } from '@umbra/comparator';
import { openClickHouse, openKafka, startup, type GlobalOptions } from '../runtime.ts';
import { parseDuration } from './report.ts';

interface CompareOptions {
  experiment?: string[];
  every: string;
  window: string;
  once?: boolean;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'run the comparator: report every active experiment on a schedule (rolling sealed hours up first), store the rows in comparison_reports, publish ComparisonReports to Kafka, last run on /metrics',
    )
    .option('--experiment <name...>', 'only these experiments (default: every experiment with pairs in the window)')
    .option('--every <duration>', 'time between runs', '5m')
    .option('--window <duration>', 'each run reports on this much time up to now', '1h')
    .option('--once', 'run once now and exit')
    .action(async (opts: CompareOptions, cmd: Command) => {
      const intervalMs = parseDuration(opts.every, '--every');
      const windowMs = parseDuration(opts.window, '--window');
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'comparator');
      const ch = await openClickHouse(config, logger);
      await migrate(ch, { logger });
      const registry = createRegistry('comparator');
      const bus = openKafka(config, logger, 'comparator');
      const fixed = opts.experiment;
      const comparator = createComparator({
        ch,
        logger,
        registry,
        ...(bus && config.kafka ? { producer: bus.producer(), topic: config.kafka.topics.reports } : {}),
        experiments: fixed
          ? fixed
          : async () => {
              const since = Date.now() - windowMs;
              return (await listExperiments(ch)).filter((e) => e.lastEventMs >= since).map((e) => e.experiment);
            },
        intervalMs,
        windowMs,
      });
      comparator.on('run', (r) =>
        process.stdout.write(
          `${r.experiment}: ${r.reports.length} report(s), ${r.metrics} metric rows stored in ${(r.durationMs / 1000).toFixed(1)} s` +
            (bus ? `, published to ${config.kafka?.topics.reports}` : '') +
            '\n',
        ),
      );
      comparator.on('failure', (f) => process.stderr.write(`${f.experiment}: ${f.stage} failed: ${f.error instanceof Error ? f.error.message : String(f.error)}\n`));

      if (opts.once) {
        try {
          await comparator.runOnce();
        } finally {
          await comparator.stop();
          await ch.close();
        }
        return;
      }
      const metricsServer = config.metrics.port !== undefined ? await serveMetrics(registry, { port: config.metrics.port, host: config.metrics.host }) : null;
      comparator.start();
      logger.info({ every: opts.every, window: opts.window, metrics: metricsServer ? `${metricsServer.url}/metrics` : null }, 'comparator running; SIGTERM or Ctrl-C stops');
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      logger.info('stopping: finishing the run in progress');
      await comparator.stop();
      await metricsServer?.close();
      await ch.close();
    });
}
