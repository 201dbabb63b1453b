import { setImmediate } from 'node:timers/promises';
import type { Logger, RequestEvent } from '@umbra/core';
import type { BusConsumer, BusProducer, InMessage, KafkaBus } from '@umbra/core/kafka';
import type { DeadLetterPublisher, Replayer, SourceRecord } from './replayer.ts';
import type { ReplayerMetrics } from './metrics.ts';
import { isPending } from './candidates/index.ts';
import { InOrderAcks, badRecord } from './runners.ts';
import type { DeadLetter } from './sink.ts';

export type Decode = (value: Buffer | null, headers: Record<string, Buffer | undefined>) => RequestEvent | Promise<RequestEvent>;

/** Dead letters keep the original bytes and key; the reason and source position travel in headers. */
export function createKafkaDeadLetters(producer: BusProducer, topic: string): DeadLetterPublisher {
  return {
    async publish(letters: DeadLetter[]) {
      await producer.send(
        topic,
        letters.map((l) => ({
          key: l.key,
          value: l.payload,
          headers: {
            'umbra-dlq-reason': l.reason,
            'umbra-dlq-detail': l.detail.slice(0, 1000),
            'umbra-source-topic': l.sourceTopic,
            'umbra-source-partition': String(l.sourcePartition),
            'umbra-source-offset': l.sourceOffset,
          },
        })),
      );
    },
  };
}

export interface KafkaRunOptions {
  bus: KafkaBus;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  partitionsConsumedConcurrently: number;
  replayer: Replayer;
  decode: Decode;
  logger: Logger;
  metrics?: ReplayerMetrics;
  /** Events per chunk handed to the replayer; offsets move per chunk once it is stored. */
  chunkSize?: number;
  /** Chunks replayed ahead of the store per partition (pipelining; bounded memory). */
  maxOutstandingChunks?: number;
}

export interface KafkaRun {
  consumer: BusConsumer;
  /** Stops fetching, finishes and stores the batches in hand, commits, leaves the group. */
  stop(): Promise<void>;
}

/**
 * The consume → replay → store loop on Kafka. A partition's offset is resolved and committed only
 * after the pairs of every event up to it are stored; a store outage blocks the batch (the group
 * is kept alive by heartbeats), so nothing more is fetched until the store is back.
 */
export async function runKafkaReplayer(opts: KafkaRunOptions): Promise<KafkaRun> {
  const { bus, topic, replayer, logger, metrics } = opts;
  const chunkSize = opts.chunkSize ?? 1_000;
  const consumer = bus.consumer({
    groupId: opts.groupId,
    topics: [topic],
    fromBeginning: opts.fromBeginning,
    maxBytesPerPartition: 2 * 1024 * 1024,
  });
  consumer.on('CRASH', ({ error, restart }) => logger.error({ err: error, restart }, 'consumer crashed'));
  consumer.on('GROUP_JOIN', ({ memberAssignment }) => logger.info({ assignment: memberAssignment }, 'joined the consumer group'));

  await consumer.run({
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
    eachBatch: async (batch, ctl) => {
      const log = logger.child({ topic: batch.topic, partition: batch.partition });
      const acks = new InOrderAcks(
        opts.maxOutstandingChunks ?? 8,
        async (offset) => {
          ctl.resolveOffset(offset);
          metrics?.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(offset) - 1n)));
          await ctl.commitOffsetsIfNecessary();
        },
        () => ctl.heartbeat(),
        undefined,
        // Half the window waits on the store: write it now rather than on the flush timer.
        () => void replayer.sink.flush(),
      );
      const messages = batch.messages;
      for (let i = 0; i < messages.length; i += chunkSize) {
        if (!ctl.isRunning() || ctl.isStale()) break;
        const chunk = messages.slice(i, i + chunkSize);
        const records = await Promise.all(chunk.map((m) => toRecord(m, batch.topic, batch.partition, opts.decode)));
        metrics?.eventsConsumed.inc({ source: batch.topic }, chunk.length);
        const { stored } = await replayer.handle(records);
        await acks.push(chunk[chunk.length - 1]!.offset, stored);
        await ctl.heartbeat();
        // Let timers and I/O run between chunks (flush timer, candidate sockets, heartbeats).
        await setImmediate();
      }
      // Nothing more comes for this batch: write what is pending now rather than on the timer.
      void replayer.sink.flush();
      await acks.drain();
      log.debug({ messages: messages.length }, 'batch stored and committed');
    },
  });

  return {
    consumer,
    async stop() {
      await consumer.stop();
      await replayer.sink.flush();
      await consumer.disconnect();
    },
  };
}

/** A decoded record; a promise only when the decoder returned one (no extra async frame per message). */
function toRecord(m: InMessage, topic: string, partition: number, decode: Decode): SourceRecord | Promise<SourceRecord> {
  let decoded: RequestEvent | PromiseLike<RequestEvent>;
  try {
    decoded = decode(m.value, m.headers);
  } catch (error) {
    return badRecord(error, { topic, partition, offset: m.offset, key: m.key, value: m.value });
  }
  if (!isPending(decoded)) return { kind: 'event', event: decoded };
  return Promise.resolve(decoded).then(
    (event): SourceRecord => ({ kind: 'event', event }),
    (error: unknown) => badRecord(error, { topic, partition, offset: m.offset, key: m.key, value: m.value }),
  );
}
