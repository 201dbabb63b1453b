/**
 * The Kafka adapter against the real broker from test/global-setup.ts: produce with headers,
 * consume with eachBatch, commit only what was resolved, resume a group after its commit.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  createKafka,
  type BusConsumer,
  type InBatch,
  type KafkaBus,
  type OutMessage,
} from '@umbra/core/kafka';

const brokers = inject('kafkaBrokers');
const bus: KafkaBus = createKafka({
  brokers: brokers.split(','),
  clientId: 'umbra-kafka-int-test',
});
const topics: string[] = [];
const consumers: BusConsumer[] = [];

function uniqueTopic(name: string): string {
  const topic = `umbra.test.${name}.${randomUUID()}`;
  topics.push(topic);
  return topic;
}

/** A promise settled from outside, with a deadline so a broken consumer fails instead of hanging. */
function deferred<T>(
  what: string,
  timeoutMs = 60_000,
): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), timeoutMs);
    resolve = (v) => {
      clearTimeout(timer);
      res(v);
    };
  });
  return { promise, resolve };
}

function consumer(groupId: string, topic: string): BusConsumer {
  const c = bus.consumer({ groupId, topics: [topic], fromBeginning: true, maxWaitTime: 250 });
  consumers.push(c);
  return c;
}

async function produce(topic: string, messages: OutMessage[], chunk = 100): Promise<void> {
  const producer = bus.producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk)
      await producer.send(topic, messages.slice(i, i + chunk));
  } finally {
    await producer.disconnect();
  }
}

afterAll(async () => {
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  const admin = bus.admin();
  await admin.deleteTopics(topics).finally(() => admin.disconnect());
});

describe('kafka adapter on a real broker', () => {
  it('produces 1000 messages with headers and consumes each exactly once, committing to the end', async () => {
    const topic = uniqueTopic('roundtrip');
    const groupId = `umbra-test-${randomUUID()}`;
    expect(await bus.ensureTopics([{ topic, partitions: 3 }])).toEqual([topic]);
    expect(await bus.ensureTopics([{ topic, partitions: 3 }])).toEqual([]); // idempotent

    const total = 1000;
    await produce(
      topic,
      Array.from({ length: total }, (_, i) => ({
        key: `key-${i}`,
        value: JSON.stringify({ seq: i }),
        headers: { 'umbra-seq': String(i), 'umbra-bin': Buffer.from([i % 256, 0, 255]) },
      })),
    );

    const seen = new Map<number, number>();
    const partitionsSeen = new Set<number>();
    const damaged: string[] = [];
    const all = deferred<void>('1000 messages');
    const c1 = consumer(groupId, topic);
    const joined = deferred<Record<string, number[]>>('group join');
    const unsubscribe = c1.on('GROUP_JOIN', (e) => joined.resolve(e.memberAssignment));
    await c1.run({
      eachBatch: async (batch: InBatch, control) => {
        partitionsSeen.add(batch.partition);
        for (const m of batch.messages) {
          if (!control.isRunning() || control.isStale()) break;
          const seq = Number(m.headers['umbra-seq']?.toString());
          // Collected, not asserted here: a throw inside eachBatch only restarts the consumer.
          const intact =
            m.value?.toString() === JSON.stringify({ seq }) &&
            m.key?.toString() === `key-${seq}` &&
            m.headers['umbra-bin']?.equals(Buffer.from([seq % 256, 0, 255])) === true;
          if (!intact) damaged.push(m.offset);
          seen.set(seq, (seen.get(seq) ?? 0) + 1);
          control.resolveOffset(m.offset);
        }
        await control.heartbeat();
        await control.commitOffsetsIfNecessary();
        if (seen.size >= total) all.resolve();
      },
    });
    expect((await joined.promise)[topic]?.sort()).toEqual([0, 1, 2]);
    unsubscribe();
    await all.promise;
    await c1.stop();

    expect(damaged).toEqual([]);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect([...partitionsSeen].sort()).toEqual([0, 1, 2]);

    const admin = bus.admin();
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchGroupOffsets(groupId, topic);
      expect(ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)).toBe(total);
      expect(committed).toEqual(ends.map((e) => ({ partition: e.partition, offset: e.high })));
      expect((await admin.fetchGroupLag(groupId, topic)).map((l) => l.lag)).toEqual([
        '0',
        '0',
        '0',
      ]);
    } finally {
      await admin.disconnect();
    }
    await c1.disconnect();
    console.log(`produced ${total} / consumed ${seen.size} via ${brokers}`);

    // The same group resumes after its commit: the first thing each partition delivers is a
    // marker produced after the restart, so anything old would show up before it.
    const c2 = consumer(groupId, topic);
    const after: string[] = [];
    const markers = deferred<void>('3 markers');
    const rejoined = deferred<void>('second join');
    c2.on('GROUP_JOIN', () => rejoined.resolve());
    await c2.run({
      eachBatch: async (batch, control) => {
        for (const m of batch.messages) {
          after.push(m.value?.toString() ?? '');
          control.resolveOffset(m.offset);
        }
        if (after.length >= 3) markers.resolve();
      },
    });
    await rejoined.promise;
    await produce(
      topic,
      [0, 1, 2].map((partition) => ({ value: `marker-${partition}`, partition })),
    );
    await markers.promise;
    await c2.disconnect();
    expect(after.sort()).toEqual(['marker-0', 'marker-1', 'marker-2']);
  });

  it('commits nothing a consumer did not resolve, and a restart delivers it again', async () => {
    const topic = uniqueTopic('unresolved');
    const groupId = `umbra-test-${randomUUID()}`;
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    const total = 30;
    await produce(
      topic,
      Array.from({ length: total }, (_, i) => ({ key: `k${i}`, value: String(i) })),
    );

    // First member reads everything and resolves nothing.
    const seenOnce = new Set<string>();
    let deliveries = 0;
    const allSeen = deferred<void>('unresolved messages');
    const c1 = consumer(groupId, topic);
    await c1.run({
      eachBatch: async (batch) => {
        for (const m of batch.messages) {
          seenOnce.add(m.value?.toString() ?? '');
          deliveries++;
        }
        // An unresolved message is fetched again; wait until that has happened too.
        if (seenOnce.size >= total && deliveries > total) allSeen.resolve();
      },
    });
    await allSeen.promise;
    await c1.disconnect();

    const admin = bus.admin();
    try {
      expect((await admin.fetchGroupOffsets(groupId, topic)).map((o) => o.offset)).toEqual([
        null,
        null,
        null,
      ]);

      // A restart of the group gets every message again; this member commits explicitly.
      const again = new Set<string>();
      const last = new Map<number, string>();
      const redelivered = deferred<void>('redelivery');
      const c2 = consumer(groupId, topic);
      await c2.run({
        eachBatch: async (batch) => {
          for (const m of batch.messages) {
            again.add(m.value?.toString() ?? '');
            last.set(batch.partition, m.offset);
          }
          if (again.size >= total) redelivered.resolve();
        },
      });
      await redelivered.promise;
      expect(again.size).toBe(total);
      await c2.commitOffsets(
        [...last].map(([partition, offset]) => ({
          topic,
          partition,
          offset: String(BigInt(offset) + 1n),
        })),
      );
      await c2.disconnect();

      const ends = await admin.fetchTopicOffsets(topic);
      expect(await admin.fetchGroupOffsets(groupId, topic)).toEqual(
        ends.map((e) => ({ partition: e.partition, offset: e.high })),
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('creates compacted topics and reports an unreachable cluster as a retriable KAFKA_UNAVAILABLE', async () => {
    const topic = uniqueTopic('compacted');
    await bus.ensureTopics([{ topic, partitions: 1, config: { 'cleanup.policy': 'compact' } }]);
    const admin = bus.admin();
    try {
      expect(await admin.listTopics()).toContain(topic);
      const bad = {
        topic: uniqueTopic('bad-config'),
        partitions: 1,
        config: { 'cleanup.policy': 'no-such-policy' },
      };
      await expect(admin.ensureTopics([bad])).rejects.toMatchObject({ code: 'KAFKA_FAILED' });
    } finally {
      await admin.disconnect();
    }

    // Port 1 on loopback: nothing listens there.
    const down = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'umbra-down',
      retry: { retries: 0 },
      connectionTimeoutMs: 500,
    }).admin();
    await expect(down.describeCluster()).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      retriable: true,
    });
  });
});
