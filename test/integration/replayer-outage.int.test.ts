import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UmbraError, silentLogger } from '@umbra/core';
import { decodeRequestEvent } from '@umbra/core/avro';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createClickHouseWriter, createReplayerService, generateTraffic, parseExperimentConfig, type PairWriter, type ReplayerService } from '@umbra/replayer';
import { produceEvents, testBus, uniqueName, waitFor } from '../support/kafka.ts';

const STEADY = fileURLToPath(new URL('../fixtures/models/steady.ts', import.meta.url));
const EVENTS = 8_000;
const MAX_PENDING = 3_000;
const CHUNK = 500;

/** The real ClickHouse writer, made to fail as an unreachable store does while `down` is set. */
function outageWriter(inner: PairWriter): PairWriter & { down: boolean; failures: number } {
  const w = {
    down: false,
    failures: 0,
    async write(batch: Parameters<PairWriter['write']>[0], token: string) {
      if (w.down) {
        w.failures++;
        throw new UmbraError('STORE_UNAVAILABLE', 'connect ECONNREFUSED (simulated outage)', { retriable: true });
      }
      await inner.write(batch, token);
    },
  };
  return w;
}

describe('replayer while ClickHouse is unavailable for several seconds', () => {
  const { bus } = testBus('replayer-outage');
  const topic = uniqueName('outage');
  let ch: ClickHouse;
  let service: ReplayerService;

  afterAll(async () => {
    await service?.close();
    await ch?.close();
  });

  it('waits with bounded memory, loses nothing, and resumes', async () => {
    await bus.ensureTopics([{ topic, partitions: 2 }, { topic: `${topic}.dlq`, partitions: 1 }]);
    await produceEvents(bus, topic, [...generateTraffic({ count: EVENTS, seed: 3 })]);
    ch = await createClickHouse({ dataDir: ':memory:' });
    await migrate(ch);
    const writer = outageWriter(createClickHouseWriter(ch));
    service = await createReplayerService({
      experiment: parseExperimentConfig({
        experiment: 'outage',
        source: { kafka: { groupId: `${topic}-group` } },
        baseline: { model: 'credit-risk' },
        output: { task: 'classification', label: '$.label' },
        candidates: [{ name: 'steady', adapter: 'module', path: STEADY, export: 'steady', concurrency: 64 }],
        store: { batchPairs: 1_000, flushIntervalMs: 100, maxPendingPairs: MAX_PENDING, retryMaxDelayMs: 500 },
      }),
      baseDir: process.cwd(),
      ch,
      logger: silentLogger(),
      writer,
      kafka: { bus, topic, deadLetterTopic: `${topic}.dlq`, decode: (v, h) => decodeRequestEvent(v, h), chunkSize: CHUNK },
    });
    const admin = bus.admin();
    const committed = async () => (await admin.fetchGroupLag(`${topic}-group`, topic)).reduce((s, p) => s + (p.committed === null ? 0 : Number(p.committed)), 0);
    const stored = async () => Number((await queryRows<{ n: number }>(ch, `SELECT count() AS n FROM shadow_pairs FINAL WHERE experiment = 'outage'`))[0]!.n);

    await service.startKafka();
    await waitFor('the first pairs to be stored', async () => (await stored()) > 0);

    writer.down = true;
    const atOutage = await committed();
    let maxPending = 0;
    let maxHeap = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    const outageEnds = Date.now() + 5_000;
    while (Date.now() < outageEnds) {
      maxPending = Math.max(maxPending, service.replayer.sink.pendingPairs);
      maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
      await new Promise((r) => setTimeout(r, 50));
    }
    const duringOutage = await committed();
    const storedDuringOutage = await stored();
    writer.down = false;

    await waitFor('every offset to be committed', async () => (await committed()) === EVENTS, { timeoutMs: 120_000 });
    await admin.disconnect();
    const final = await stored();
    console.log(
      `outage 5 s: ${writer.failures} failed writes retried, pending pairs peaked at ${maxPending} (bound ${MAX_PENDING} + one ${CHUNK}-event chunk per partition), ` +
        `heap +${((maxHeap - heapBefore) / 1e6).toFixed(1)} MB, committed ${atOutage} -> ${duringOutage} during the outage, ${final}/${EVENTS} pairs stored after it`,
    );
    expect(writer.failures).toBeGreaterThan(0);
    // Offsets may only move for what was stored before the outage began.
    expect(duringOutage).toBeLessThanOrEqual(storedDuringOutage);
    expect(duringOutage).toBeLessThan(EVENTS);
    expect(maxPending).toBeLessThanOrEqual(MAX_PENDING + 2 * CHUNK);
    expect(final).toBe(EVENTS);
  });
});
