/**
 * The one kafkajs adapter. Everything kafkajs-shaped stays in this folder; the rest of umbra
 * sees the plain types of `types.ts` and UmbraErrors.
 */
import {
  Kafka,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaConfig,
  type SASLOptions,
} from 'kafkajs';
import { UmbraError } from '../errors.ts';
import { silentLogger } from '../logging/index.ts';
import { toKafkaError, wrapKafka } from './errors.ts';
import { KAFKAJS_LOG_LEVEL, pinoLogCreator } from './logging.ts';
import { fromKafkaMessage, toKafkaMessage } from './messages.ts';
import { createRoundRobinPartitioner } from './partitioners.ts';
import type {
  BatchControl,
  BusAdmin,
  BusConsumer,
  BusProducer,
  ConsumerEventName,
  ConsumerEvents,
  ConsumerOptions,
  GroupPartitionOffset,
  InBatch,
  KafkaBus,
  KafkaOptions,
  KafkaSaslOptions,
  PartitionLag,
  PartitionOffsets,
  ProducerOptions,
  RunOptions,
  SentRecord,
  TopicPartitionOffset,
  TopicPartitions,
  TopicSpec,
} from './types.ts';

const ADMIN_ATTEMPTS = 5;

export function createKafka(opts: KafkaOptions): KafkaBus {
  if (
    !Array.isArray(opts.brokers) ||
    opts.brokers.length === 0 ||
    opts.brokers.some((b) => !/^[^\s:]+:\d+$/.test(b))
  ) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `kafka brokers must be a non-empty list of host:port, got ${JSON.stringify(opts.brokers)}`,
    );
  }
  if (!opts.clientId)
    throw new UmbraError('BAD_ARGUMENT', 'kafka clientId must be a non-empty string');

  const logger = opts.logger ?? silentLogger();
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: KAFKAJS_LOG_LEVEL,
    logCreator: pinoLogCreator(logger),
  };
  if (opts.ssl !== undefined) config.ssl = opts.ssl;
  if (opts.sasl !== undefined) config.sasl = toSasl(opts.sasl);
  if (opts.connectionTimeoutMs !== undefined) config.connectionTimeout = opts.connectionTimeoutMs;
  if (opts.requestTimeoutMs !== undefined) config.requestTimeout = opts.requestTimeoutMs;
  if (opts.retry !== undefined) {
    config.retry = {
      ...(opts.retry.retries === undefined ? {} : { retries: opts.retry.retries }),
      ...(opts.retry.initialRetryTimeMs === undefined
        ? {}
        : { initialRetryTime: opts.retry.initialRetryTimeMs }),
      ...(opts.retry.maxRetryTimeMs === undefined
        ? {}
        : { maxRetryTime: opts.retry.maxRetryTimeMs }),
    };
  }
  const kafka = new Kafka(config);

  const admin = (): BusAdmin => createAdmin(kafka.admin());

  return {
    clientId: opts.clientId,
    brokers: Object.freeze([...opts.brokers]),
    async ensureTopics(topics) {
      const a = admin();
      try {
        return await a.ensureTopics(topics);
      } finally {
        await a.disconnect();
      }
    },
    producer: (producerOpts) => createProducer(kafka, producerOpts ?? {}),
    consumer: (consumerOpts) => createConsumer(kafka, consumerOpts),
    admin,
  };
}

function toSasl(sasl: KafkaSaslOptions): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
    default:
      throw new UmbraError(
        'BAD_ARGUMENT',
        `unsupported SASL mechanism ${String((sasl as { mechanism: unknown }).mechanism)}`,
      );
  }
}

function createProducer(kafka: Kafka, opts: ProducerOptions): BusProducer {
  // Idempotent: a retried send cannot duplicate or reorder; kafkajs requires acks=all and at
  // most one request in flight for that. By key: the Java client's partitioner, so keys land
  // where other Kafka clients put them.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner:
      opts.partitioning === 'round-robin'
        ? createRoundRobinPartitioner
        : Partitioners.DefaultPartitioner,
  });
  return {
    connect: () => wrapKafka('producer connect', {}, () => producer.connect()),
    async send(topic, messages): Promise<SentRecord[]> {
      if (messages.length === 0) return [];
      const metadata = await wrapKafka('produce', { topic, messages: messages.length }, () =>
        producer.send({ topic, acks: -1, messages: messages.map(toKafkaMessage) }),
      );
      return metadata.map((r) => ({
        topic: r.topicName,
        partition: r.partition,
        baseOffset: r.baseOffset ?? r.offset ?? '-1',
      }));
    },
    disconnect: () => wrapKafka('producer disconnect', {}, () => producer.disconnect()),
  };
}

function toKafkaTopicPartitions(
  tps: TopicPartitions[],
): Array<{ topic: string; partitions?: number[] }> {
  return tps.map((tp) =>
    tp.partitions === undefined
      ? { topic: tp.topic }
      : { topic: tp.topic, partitions: [...tp.partitions] },
  );
}

function createConsumer(kafka: Kafka, opts: ConsumerOptions): BusConsumer {
  if (!opts.groupId)
    throw new UmbraError('BAD_ARGUMENT', 'consumer groupId must be a non-empty string');
  if (opts.topics.length === 0)
    throw new UmbraError('BAD_ARGUMENT', 'consumer topics must not be empty', {
      context: { groupId: opts.groupId },
    });
  const groupId = opts.groupId;
  const consumer: Consumer = kafka.consumer({
    groupId,
    ...(opts.sessionTimeout === undefined ? {} : { sessionTimeout: opts.sessionTimeout }),
    ...(opts.heartbeatInterval === undefined ? {} : { heartbeatInterval: opts.heartbeatInterval }),
    ...(opts.rebalanceTimeout === undefined ? {} : { rebalanceTimeout: opts.rebalanceTimeout }),
    ...(opts.maxBytesPerPartition === undefined
      ? {}
      : { maxBytesPerPartition: opts.maxBytesPerPartition }),
    ...(opts.maxWaitTime === undefined ? {} : { maxWaitTimeInMs: opts.maxWaitTime }),
  });
  const ctx = { groupId, topics: opts.topics };
  let running = false;
  // A crash without restart leaves kafkajs stopped; keep our flag honest.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) running = false;
  });

  const control = (p: EachBatchPayload): BatchControl => ({
    resolveOffset: (offset) => p.resolveOffset(offset),
    // Errors from heartbeat and commit go back to kafkajs unwrapped: its runner recognises a
    // rebalance by the protocol error and rejoins instead of crashing.
    heartbeat: () => p.heartbeat(),
    commitOffsetsIfNecessary: () => p.commitOffsetsIfNecessary(p.uncommittedOffsets()),
    isRunning: () => p.isRunning(),
    isStale: () => p.isStale(),
    pause: () => p.pause(),
  });

  const eachBatchOf =
    (run: RunOptions) =>
    async (p: EachBatchPayload): Promise<void> => {
      const batch: InBatch = {
        topic: p.batch.topic,
        partition: p.batch.partition,
        highWatermark: p.batch.highWatermark,
        messages: p.batch.messages.map(fromKafkaMessage),
      };
      await run.eachBatch(batch, control(p));
    };

  const on = <E extends ConsumerEventName>(
    event: E,
    listener: (payload: ConsumerEvents[E]) => void,
  ): (() => void) => {
    // Each kafkajs payload is copied into our plain shape so no kafkajs object escapes.
    switch (event) {
      case 'GROUP_JOIN':
        return consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
          (listener as (p: ConsumerEvents['GROUP_JOIN']) => void)({
            groupId: payload.groupId,
            memberId: payload.memberId,
            leaderId: payload.leaderId,
            isLeader: payload.isLeader,
            memberAssignment: Object.fromEntries(
              Object.entries(payload.memberAssignment).map(([t, ps]) => [t, [...ps]]),
            ),
            durationMs: payload.duration,
          }),
        );
      case 'CRASH':
        return consumer.on(consumer.events.CRASH, ({ payload }) =>
          (listener as (p: ConsumerEvents['CRASH']) => void)({
            groupId: payload.groupId,
            error: toKafkaError(payload.error, 'consume', ctx),
            restart: payload.restart,
          }),
        );
      case 'REBALANCING':
        return consumer.on(consumer.events.REBALANCING, ({ payload }) =>
          (listener as (p: ConsumerEvents['REBALANCING']) => void)({
            groupId: payload.groupId,
            memberId: payload.memberId,
          }),
        );
      case 'COMMIT_OFFSETS':
        return consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) =>
          (listener as (p: ConsumerEvents['COMMIT_OFFSETS']) => void)({
            groupId: payload.groupId,
            memberId: payload.memberId,
            offsets: payload.topics.flatMap((t) =>
              t.partitions.map((p) => ({
                topic: t.topic,
                // kafkajs types say number, but the event carries the partition as a string.
                partition: Number(p.partition),
                offset: p.offset,
              })),
            ),
          }),
        );
      case 'STOP':
        return consumer.on(consumer.events.STOP, () =>
          (listener as (p: ConsumerEvents['STOP']) => void)({}),
        );
      default:
        throw new UmbraError('BAD_ARGUMENT', `unknown consumer event ${String(event)}`);
    }
  };

  return {
    async run(run) {
      if (running)
        throw new UmbraError('BAD_ARGUMENT', 'consumer is already running', { context: ctx });
      await wrapKafka('consumer connect', ctx, () => consumer.connect());
      await wrapKafka('subscribe', ctx, () =>
        consumer.subscribe({
          topics: [...opts.topics],
          fromBeginning: opts.fromBeginning ?? false,
        }),
      );
      // autoCommit commits only what the handler resolved (at each batch end and on failure);
      // eachBatchAutoResolve off, so nothing is resolved on the handler's behalf.
      await wrapKafka('consumer run', ctx, () =>
        consumer.run({
          autoCommit: true,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: run.partitionsConsumedConcurrently ?? 1,
          eachBatch: eachBatchOf(run),
        }),
      );
      running = true;
    },
    async stop() {
      await wrapKafka('consumer stop', ctx, () => consumer.stop());
      running = false;
    },
    async disconnect() {
      await wrapKafka('consumer disconnect', ctx, () => consumer.disconnect());
      running = false;
    },
    pause: (tps) => consumer.pause(toKafkaTopicPartitions(tps)),
    resume: (tps) => consumer.resume(toKafkaTopicPartitions(tps)),
    async commitOffsets(offsets: TopicPartitionOffset[]) {
      // kafkajs silently drops a commit from a consumer that is not running; say so instead.
      if (!running)
        throw new UmbraError('BAD_ARGUMENT', 'commitOffsets needs a running consumer', {
          context: ctx,
        });
      await wrapKafka('commit offsets', ctx, () =>
        consumer.commitOffsets(offsets.map((o) => ({ ...o }))),
      );
    },
    on,
  };
}

function createAdmin(admin: Admin): BusAdmin {
  let connecting: Promise<void> | null = null;
  const ready = (): Promise<void> =>
    (connecting ??= wrapKafka('admin connect', {}, () => admin.connect()).catch((err: unknown) => {
      connecting = null;
      throw err;
    }));
  const call = async <T>(
    operation: string,
    context: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> => {
    await ready();
    // Admin reads hit transient states (a new group's coordinator moving, a leader election)
    // that kafkajs reports as retriable without retrying: a few short retries hide them.
    for (let attempt = 1; ; attempt++) {
      try {
        return await wrapKafka(operation, context, fn);
      } catch (err) {
        if (!(err instanceof UmbraError) || !err.retriable || attempt >= ADMIN_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  };

  const fetchTopicOffsets = async (topic: string): Promise<PartitionOffsets[]> => {
    const offsets = await call('fetch topic offsets', { topic }, () =>
      admin.fetchTopicOffsets(topic),
    );
    return offsets
      .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
      .sort((a, b) => a.partition - b.partition);
  };

  const fetchGroupOffsets = async (
    groupId: string,
    topic: string,
  ): Promise<GroupPartitionOffset[]> => {
    const res = await call('fetch group offsets', { groupId, topic }, () =>
      admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    const partitions = res.find((t) => t.topic === topic)?.partitions ?? [];
    return partitions
      .map((p) => ({ partition: p.partition, offset: BigInt(p.offset) < 0n ? null : p.offset }))
      .sort((a, b) => a.partition - b.partition);
  };

  const listTopics = (): Promise<string[]> => call('list topics', {}, () => admin.listTopics());

  return {
    async describeCluster() {
      const c = await call('describe cluster', {}, () => admin.describeCluster());
      return {
        clusterId: c.clusterId,
        controller: c.controller,
        brokers: c.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      };
    },
    listTopics,
    async ensureTopics(topics: TopicSpec[]) {
      for (const t of topics) {
        if (!t.topic || !Number.isInteger(t.partitions) || t.partitions < 1) {
          throw new UmbraError(
            'BAD_ARGUMENT',
            `topic spec needs a name and partitions >= 1, got ${JSON.stringify(t)}`,
          );
        }
      }
      const existing = new Set(await listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length === 0) return [];
      const created = await call('create topics', { topics: missing.map((t) => t.topic) }, () =>
        admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: t.replicationFactor ?? 1,
            configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        }),
      );
      // false: another client created them between our listing and our request.
      return created ? missing.map((t) => t.topic) : [];
    },
    async deleteTopics(topics) {
      const existing = new Set(await listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length === 0) return;
      await call('delete topics', { topics: present }, () =>
        admin.deleteTopics({ topics: present }),
      );
    },
    fetchTopicOffsets,
    fetchGroupOffsets,
    async fetchGroupLag(groupId, topic): Promise<PartitionLag[]> {
      const [ends, committed] = await Promise.all([
        fetchTopicOffsets(topic),
        fetchGroupOffsets(groupId, topic),
      ]);
      const byPartition = new Map(committed.map((c) => [c.partition, c.offset]));
      return ends.map((e) => {
        const c = byPartition.get(e.partition) ?? null;
        const from = BigInt(c ?? e.low);
        const lag = BigInt(e.high) - from;
        return {
          partition: e.partition,
          committed: c,
          end: e.high,
          lag: (lag < 0n ? 0n : lag).toString(),
        };
      });
    },
    async disconnect() {
      if (connecting === null) return;
      connecting = null;
      await wrapKafka('admin disconnect', {}, () => admin.disconnect());
    },
  };
}
