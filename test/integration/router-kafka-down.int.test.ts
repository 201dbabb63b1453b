/**
 * Kafka down while the router serves: a broker of this test's own (deploy/local/kafka.ts) is
 * stopped mid-run and started again from the same directory and port. While it is down every
 * request is still answered by its backend, the tap holds at most maxBuffer events and counts the
 * rest as dropped (in its stats and on /metrics); when the broker is back the buffered events and
 * the new ones arrive on the topic, and sent + dropped accounts for every request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createRegistry } from '@umbra/core';
import { createKafka, type BusConsumer, type KafkaBus } from '@umbra/core/kafka';
import { createTap, type Tap } from '@umbra/core/tap';
import { createRouter, type Router } from '@umbra/router';
import { startKafka, type LocalKafka } from '../../deploy/local/kafka.ts';
import { startBackend, type Backend } from '../../services/router/src/test-backends.ts';
import { readTopicEvents, waitFor } from '../support/kafka.ts';

const TOPIC = 'umbra.requests.kafka-down';
const MAX_BUFFER = 500;

let kafka: LocalKafka;
let bus: KafkaBus;
let stable: Backend;
let canary: Backend;
let tap: Tap;
let router: Router;
let url: string;
const registry = createRegistry('router-test');
const consumers: BusConsumer[] = [];

beforeAll(async () => {
  kafka = await startKafka({ keepDir: true });
  bus = createKafka({
    brokers: [kafka.brokers],
    clientId: 'umbra-kafka-down-test',
    retry: { retries: 2 },
  });
  await bus.ensureTopics([{ topic: TOPIC, partitions: 2 }]);
  stable = await startBackend('stable');
  canary = await startBackend('canary');
  tap = createTap({
    bus,
    topic: TOPIC,
    maxBuffer: MAX_BUFFER,
    batchSize: 100,
    lingerMs: 10,
    maxBackoffMs: 1000,
    registry,
  });
  router = createRouter({
    stable: stable.url,
    canary: canary.url,
    mode: 'canary',
    weight: 30,
    models: { stable: { name: 'fraud', version: '1' }, canary: { name: 'fraud', version: '2' } },
    tap,
    adminToken: 'token',
    registry,
  });
  ({ url } = await router.listen(0, '127.0.0.1'));
});

afterAll(async () => {
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  await router?.close();
  await tap?.close();
  await stable?.close();
  await canary?.close();
  await kafka?.stop();
});

/** Sends `n` requests, 16 at a time; every one must come back 200 with its backend's echo. */
async function load(phase: string, n: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const res = await request(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': `${phase}-${i}` },
        body: JSON.stringify({ phase, i }),
      });
      const body = (await res.body.json()) as { backend: string; echo: unknown };
      expect(res.statusCode).toBe(200);
      expect(body.echo).toEqual({ phase, i });
      expect(body.backend).toBe(res.headers['x-umbra-arm']);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

const droppedOnMetrics = async (): Promise<number> => {
  const m = await registry.getSingleMetric('umbra_tap_dropped_total')?.get();
  return (m?.values ?? []).reduce((sum, v) => sum + v.value, 0);
};

describe('router with Kafka down', () => {
  it('answers every request, drops and counts past the buffer, and resumes when Kafka is back', async () => {
    await load('before', 200);
    expect(await tap.flush(30_000)).toBe(true);
    expect(tap.stats()).toMatchObject({ sent: 200, dropped: 0, queued: 0 });

    await kafka.stop();
    // Twice the buffer while the broker is gone: every response as usual, the excess dropped.
    await load('down', 2 * MAX_BUFFER);
    await waitFor(
      'the tap to take every event of the outage',
      async () =>
        tap.stats().queued + tap.stats().dropped + tap.stats().sent === 200 + 2 * MAX_BUFFER,
      { timeoutMs: 10_000, everyMs: 20 },
    );
    const during = tap.stats();
    expect(during.sent).toBe(200);
    expect(during.queued).toBeLessThanOrEqual(MAX_BUFFER);
    expect(during.dropped).toBeGreaterThanOrEqual(MAX_BUFFER);
    expect(during.failedBatches).toBeGreaterThan(0);
    expect(await droppedOnMetrics()).toBe(during.dropped);

    kafka = await startKafka({ dir: kafka.dir });
    // The buffered events go out once the broker is back, with no help from us.
    expect(await tap.flush(90_000)).toBe(true);
    const back = tap.stats();
    expect(back).toMatchObject({
      queued: 0,
      dropped: during.dropped,
      sent: 200 + 2 * MAX_BUFFER - during.dropped,
    });

    await load('after', 200);
    expect(await tap.flush(30_000)).toBe(true);
    const after = tap.stats();
    expect(after).toMatchObject({ queued: 0, dropped: during.dropped, sent: back.sent + 200 });

    // What the tap says it sent is on the topic: the events before, the buffered ones, the new ones.
    const events = await readTopicEvents(bus, TOPIC, after.sent, consumers, 90_000);
    // At-least-once: a batch cut off by the broker stopping may arrive twice; count events once.
    const byPhase = (p: string) =>
      new Set(
        events
          .filter((e) => (JSON.parse(e.input) as { phase: string }).phase === p)
          .map((e) => e.eventId),
      ).size;
    expect(byPhase('before')).toBe(200);
    expect(byPhase('down')).toBe(2 * MAX_BUFFER - after.dropped);
    expect(byPhase('after')).toBe(200);

    // The tap spreads events round-robin (their ids order nothing): both partitions carry a share.
    const admin = bus.admin();
    const ends = await admin.fetchTopicOffsets(TOPIC).finally(() => admin.disconnect());
    const perPartition = ends.map((o) => Number(o.high) - Number(o.low));
    const total = perPartition.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(after.sent);
    for (const n of perPartition) expect(n).toBeGreaterThan(total / 3);
  }, 240_000);
});
