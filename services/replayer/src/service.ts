import type { Logger, Registry } from '@umbra/core';
import type { KafkaBus } from '@umbra/core/kafka';
import type { ClickHouse } from '@umbra/core/clickhouse';
import { createCandidateClient, type CandidateClient } from './candidates/index.ts';
import { NOISE_CANDIDATE, type ExperimentConfig } from './config.ts';
import { createKafkaDeadLetters, runKafkaReplayer, type Decode, type KafkaRun } from './kafka-runner.ts';
import { createReplayerMetrics, type ReplayerMetrics } from './metrics.ts';
import { createPairMaker, type ReplayTarget } from './pipeline.ts';
import { createReplayer, type Replayer } from './replayer.ts';
import { createPairSink, type PairWriter } from './sink.ts';
import { createClickHouseWriter } from './store.ts';

export interface ReplayerServiceDeps {
  experiment: Readonly<ExperimentConfig>;
  /** Where module candidates' paths resolve from (the experiment file's directory). */
  baseDir: string;
  ch: ClickHouse;
  logger: Logger;
  registry?: Registry;
  /** The storage edge; defaults to ClickHouse. Fault tests wrap it. */
  writer?: PairWriter;
  kafka?: { bus: KafkaBus; topic: string; deadLetterTopic: string; decode: Decode; chunkSize?: number };
}

export interface ReplayerService {
  replayer: Replayer;
  metrics?: ReplayerMetrics;
  candidates: CandidateClient[];
  /** Starts consuming Kafka (needs `kafka` deps). */
  startKafka(): Promise<KafkaRun>;
  close(): Promise<void>;
}

/** Builds the replayer from its config and adapters; `main` and tests both call this. */
export async function createReplayerService(deps: ReplayerServiceDeps): Promise<ReplayerService> {
  const { experiment: cfg, logger } = deps;
  const log = logger.child({ experiment: cfg.experiment });
  const candidates: CandidateClient[] = [];
  const targets: ReplayTarget[] = [];
  for (const c of cfg.candidates) {
    const client = await createCandidateClient(c, { baseDir: deps.baseDir });
    candidates.push(client);
    targets.push({ client, role: 'candidate', sampleRate: c.sampleRate, model: c.model });
  }
  // The baseline's replay client: the A/A noise run on baseline-served events, and the reverse
  // shadow on events a candidate with a `model` served.
  let baselineClient: CandidateClient | undefined;
  if (cfg.baseline.replay) {
    baselineClient = await createCandidateClient({ ...cfg.baseline.replay, name: NOISE_CANDIDATE }, { baseDir: deps.baseDir });
    candidates.push(baselineClient);
    targets.push({ client: baselineClient, role: 'noise', sampleRate: cfg.baseline.replay.sampleRate });
  }
  const pairMaker = createPairMaker({ experiment: cfg.experiment, baseline: cfg.baseline, output: cfg.output, targets, baselineClient });
  const sink = createPairSink(deps.writer ?? createClickHouseWriter(deps.ch), cfg.store);

  const producer = deps.kafka ? deps.kafka.bus.producer() : null;
  const replayer = createReplayer({
    pairMaker,
    sink,
    deadLetters: producer && deps.kafka ? createKafkaDeadLetters(producer, deps.kafka.deadLetterTopic) : null,
    storeRequestEvents: cfg.store.requestEvents,
    logger: log,
  });

  const metrics = deps.registry ? createReplayerMetrics(deps.registry) : undefined;
  if (metrics) {
    // One outcome per pair: resolving the labelled child on every observe costs more than the
    // observation, so children are kept per (candidate, status).
    const latencyByLabels = new Map<string, ReturnType<typeof metrics.candidateLatency.labels>>();
    replayer.on('outcome', (o) => {
      const key = `${o.candidate}\0${o.status}`;
      let latency = latencyByLabels.get(key);
      if (latency === undefined) {
        latency = metrics.candidateLatency.labels({ candidate: o.candidate, status: o.status });
        latencyByLabels.set(key, latency);
      }
      latency.observe(o.latencyMs / 1000);
      if (o.status !== 'ok') metrics.candidateErrors.inc({ candidate: o.candidate, status: o.status, code: o.errorCode ?? 'unknown' });
    });
    replayer.on('replayed', (r) => metrics.eventsReplayed.inc({ experiment: cfg.experiment }, r.events - r.skipped));
    replayer.on('deadLetter', (l) => metrics.deadLetters.inc({ reason: l.reason }));
    sink.on('flush', (f) => {
      metrics.pairsStored.inc({ experiment: cfg.experiment }, f.pairs);
      metrics.flushRows.observe(f.pairs);
      metrics.flushDuration.observe(f.durationMs / 1000);
      metrics.storeHealthy.set(1);
    });
    sink.on('retry', () => {
      metrics.storeRetries.inc();
      metrics.storeHealthy.set(0);
    });
    sink.on('stored', () => metrics.pendingPairs.set(sink.pendingPairs));
  }
  sink.on('retry', ({ attempt, delayMs, error }) =>
    log.warn({ attempt, delayMs: Math.round(delayMs), err: error }, 'store write failed; consumption waits and the write is retried'),
  );

  let run: KafkaRun | null = null;
  return {
    replayer,
    ...(metrics ? { metrics } : {}),
    candidates,
    async startKafka() {
      if (!deps.kafka || !producer) throw new Error('createReplayerService: kafka deps are required to consume Kafka');
      const source = cfg.source.kafka;
      await producer.connect();
      run = await runKafkaReplayer({
        bus: deps.kafka.bus,
        topic: deps.kafka.topic,
        groupId: source?.groupId ?? `umbra-replayer.${cfg.experiment}`,
        fromBeginning: source?.fromBeginning ?? true,
        partitionsConsumedConcurrently: source?.partitionsConsumedConcurrently ?? 2,
        replayer,
        decode: deps.kafka.decode,
        logger: log,
        ...(metrics ? { metrics } : {}),
        ...(deps.kafka.chunkSize ? { chunkSize: deps.kafka.chunkSize } : {}),
      });
      return run;
    },
    async close() {
      if (run) await run.stop();
      await sink.close();
      await producer?.disconnect();
      await Promise.all(candidates.map((c) => c.close()));
    },
  };
}
