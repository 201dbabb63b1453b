import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { UmbraError, createRegistry, serveMetrics } from '@umbra/core';
import { decodeRequestEvent, readAvroContainer, readNdjson } from '@umbra/core/avro';
import { migrate } from '@umbra/core/clickhouse';
import { createReplayerService, loadExperimentConfig, runIterable } from '@umbra/replayer';
import { openClickHouse, openKafka, startup, type GlobalOptions } from '../runtime.ts';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay events against the experiment\'s candidates and store the pairs (Kafka, or a capture file)')
    .requiredOption('--config <experiment.yaml>', 'the experiment: baseline, candidates, output comparison, segments')
    .option('--file <capture>', 'replay a capture file (.ndjson of RequestEvent JSON, or an Avro container .avro) instead of Kafka')
    .action(async (opts: { config: string; file?: string }, cmd: Command) => {
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'replayer');
      const experiment = loadExperimentConfig(opts.config);
      const file = opts.file ?? experiment.source.file;
      if (!file && !config.kafka) {
        throw new UmbraError('CONFIG_INVALID', `${opts.config}: no source: give --file, set source.file, or configure kafka.brokers (or KAFKA_BROKERS)`);
      }
      const ch = await openClickHouse(config, logger);
      await migrate(ch, { logger });
      const registry = createRegistry('replayer');
      const metricsServer = config.metrics.port !== undefined ? await serveMetrics(registry, { port: config.metrics.port, host: config.metrics.host }) : null;
      if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'metrics served');

      const kafka = config.kafka;
      const bus = file ? null : (openKafka(config, logger) ?? null);
      const service = await createReplayerService({
        experiment,
        baseDir: experiment.baseDir,
        ch,
        logger,
        registry,
        ...(bus && kafka
          ? {
              kafka: {
                bus,
                topic: experiment.source.kafka?.topic ?? kafka.topics.requests,
                deadLetterTopic: kafka.topics.deadLetters,
                decode: (value, headers) => decodeRequestEvent(value, headers),
              },
            }
          : {}),
      });

      if (file) {
        const source = file.endsWith('.avro') ? readAvroContainer(file) : readNdjson(file);
        const bar = process.stderr.isTTY ? new SingleBar({ format: 'replay {bar} {value} events | {rate} ev/s', hideCursor: true }, Presets.shades_classic) : null;
        const started = performance.now();
        bar?.start(0, 0, { rate: 0 });
        const { events } = await runIterable(service.replayer, source, {
          onProgress: ({ events: n }) => {
            bar?.setTotal(n);
            bar?.update(n, { rate: Math.round(n / ((performance.now() - started) / 1000)) });
          },
        });
        bar?.stop();
        await service.close();
        await metricsServer?.close();
        await ch.close();
        process.stdout.write(`replayed ${events} events from ${file} in ${((performance.now() - started) / 1000).toFixed(1)} s; pairs in ${ch.describe}\n`);
        return;
      }

      await bus!.ensureTopics([
        { topic: experiment.source.kafka?.topic ?? kafka!.topics.requests, partitions: 6 },
        { topic: kafka!.topics.deadLetters, partitions: 1 },
      ]);
      const run = await service.startKafka();
      logger.info('replaying from Kafka; SIGTERM or Ctrl-C drains, stores, commits and exits');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      logger.info('stopping: finishing the batches in hand');
      await run.stop();
      await service.close();
      await metricsServer?.close();
      await ch.close();
    });
}
