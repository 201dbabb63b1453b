import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createRegistry, serveMetrics, silentLogger } from '@umbra/core';
import { decodeRequestEvent } from '@umbra/core/avro';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createReplayerService, generateTraffic, parseExperimentConfig, type ReplayerService } from '@umbra/replayer';
import { produceEvents, testBus, uniqueName, waitFor, type ProducedSet } from '../support/kafka.ts';
import { spawnModelServer, unitHash } from '../support/model-server.ts';

const MODELS = fileURLToPath(new URL('../../services/replayer/src/demo/models.ts', import.meta.url));
const EVENTS = 10_000;

describe('replayer on the real broker and chDB: 10 000 events, 1 % corrupt, v1 + v2, three candidates', () => {
  const { bus, brokers } = testBus('replayer-it');
  const topic = uniqueName('requests');
  const dlq = `${topic}.dlq`;
  let ch: ClickHouse;
  let server: Awaited<ReturnType<typeof spawnModelServer>>;
  let service: ReplayerService;
  let produced: ProducedSet;
  const registry = createRegistry('replayer', { defaultMetrics: false });

  beforeAll(async () => {
    await bus.ensureTopics([
      { topic, partitions: 3 },
      { topic: dlq, partitions: 1 },
    ]);
    const events = [...generateTraffic({ count: EVENTS, seed: 11 })];
    produced = await produceEvents(bus, topic, events, { corruptEvery: 100 });
    console.log(`produced ${EVENTS} events (${produced.corrupt} corrupt) to ${topic} on ${brokers.join(',')}`);

    ch = await createClickHouse({ dataDir: ':memory:' });
    await migrate(ch);
    // A model server in its own process: 5 % of inputs answer 500, 1 % stall past the timeout.
    server = await spawnModelServer({ failRate: 0.05, stallRate: 0.01, stallMs: 6_000 });
    const experiment = parseExperimentConfig({
      experiment: 'it-replay',
      baseline: { model: 'credit-risk' },
      output: { task: 'classification', label: '$.label', score: '$.score' },
      candidates: [
        { name: 'close', adapter: 'module', path: MODELS, export: 'closeCandidate', concurrency: 256 },
        { name: 'regressed', adapter: 'module', path: MODELS, export: 'regressedCandidate', concurrency: 256 },
        {
          name: 'http-flaky',
          adapter: 'http',
          url: server.url,
          outputPath: '$.prediction',
          timeoutMs: 2_000,
          concurrency: 64,
          retry: { attempts: 2, backoffMs: 5, maxBackoffMs: 20 },
        },
      ],
      segments: ['region'],
      store: { batchPairs: 5_000, flushIntervalMs: 200 },
    });
    service = await createReplayerService({
      experiment,
      baseDir: process.cwd(),
      ch,
      logger: silentLogger(),
      registry,
      kafka: { bus, topic, deadLetterTopic: dlq, decode: (v, h) => decodeRequestEvent(v, h) },
    });
    await service.startKafka();
  });

  afterAll(async () => {
    await service?.close();
    await server?.close();
    await ch?.close();
  });

  it('stores exactly one pair per valid event per candidate, and commits every offset', async () => {
    const expected = produced.valid.length;
    const admin = bus.admin();
    await waitFor('the group to commit every offset', async () => {
      const lag = await admin.fetchGroupLag('umbra-replayer.it-replay', topic);
      return lag.every((p) => p.committed !== null && p.lag === '0');
    }, { timeoutMs: 240_000, everyMs: 500 });
    await admin.disconnect();

    const rows = await queryRows<{ candidate: string; pairs: number; events: number; raw: number }>(
      ch,
      `SELECT candidate, count() AS pairs, uniqExact(event_id) AS events,
              (SELECT count() FROM shadow_pairs AS s WHERE s.candidate = p.candidate AND s.experiment = 'it-replay') AS raw
       FROM shadow_pairs AS p FINAL WHERE experiment = 'it-replay' GROUP BY candidate ORDER BY candidate`,
    );
    console.log(`pairs per candidate (after dedup / raw rows): ${rows.map((r) => `${r.candidate}=${Number(r.pairs)}/${Number(r.raw)}`).join(' ')} for ${expected} valid events`);
    expect(rows.map((r) => r.candidate)).toEqual(['close', 'http-flaky', 'regressed']);
    for (const r of rows) {
      expect(Number(r.pairs)).toBe(expected);
      expect(Number(r.events)).toBe(expected);
    }
    const missing = await queryRows<{ n: number }>(
      ch,
      `SELECT count() AS n FROM request_events FINAL WHERE event_id IN {ids:Array(String)}`,
      { ids: produced.valid.map((e) => e.eventId) },
    );
    expect(Number(missing[0]!.n)).toBe(expected);
  });

  it('sends every corrupt message to the dead-letter topic with its reason, and counts them', async () => {
    const consumer = bus.consumer({ groupId: uniqueName('dlq-reader'), topics: [dlq], fromBeginning: true });
    const reasons = new Map<string, number>();
    let seen = 0;
    await consumer.run({
      eachBatch: async (batch, ctl) => {
        for (const m of batch.messages) {
          seen++;
          const reason = m.headers['umbra-dlq-reason']?.toString() ?? 'none';
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          expect(m.headers['umbra-source-topic']?.toString()).toBe(topic);
          expect(m.headers['umbra-source-offset']).toBeDefined();
          ctl.resolveOffset(m.offset);
        }
      },
    });
    await waitFor('the dead letters', async () => seen >= produced.corrupt);
    await consumer.disconnect();
    console.log(`dead letters: ${seen} of ${produced.corrupt} corrupt, by reason ${JSON.stringify(Object.fromEntries(reasons))}`);
    expect(seen).toBe(produced.corrupt);
    expect([...reasons.keys()].sort()).toEqual(['DECODE_FAILED', 'SCHEMA_UNKNOWN', 'VALIDATION_FAILED']);
    const stored = await queryRows<{ n: number }>(ch, 'SELECT count() AS n FROM dead_letters FINAL');
    expect(Number(stored[0]!.n)).toBe(produced.corrupt);
  });

  it('records every candidate failure and timeout as a pair with its error', async () => {
    const failing = produced.valid.filter((e) => unitHash(e.input) < 0.05).length;
    const stalling = produced.valid.filter((e) => unitHash(e.input) >= 0.05 && unitHash(e.input) < 0.06).length;
    const rows = await queryRows<{ status: string; n: number; with_error: number }>(
      ch,
      `SELECT candidate_status AS status, count() AS n, countIf(candidate_error IS NOT NULL AND candidate_error != '') AS with_error
       FROM shadow_pairs FINAL WHERE experiment = 'it-replay' AND candidate = 'http-flaky' GROUP BY status ORDER BY status`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r]));
    console.log(`http-flaky: ${Number(by.error?.n)} errors (expected ${failing}), ${Number(by.timeout?.n)} timeouts (expected ${stalling})`);
    expect(Number(by.error?.n)).toBe(failing);
    expect(Number(by.error?.with_error)).toBe(failing);
    expect(Number(by.timeout?.n)).toBe(stalling);
    expect(Number(by.timeout?.with_error)).toBe(stalling);
    expect(Number(by.ok?.n)).toBe(produced.valid.length - failing - stalling);
    const errors = await queryRows<{ e: string }>(ch, `SELECT any(candidate_error) AS e FROM shadow_pairs FINAL WHERE candidate = 'http-flaky' AND candidate_status = 'error'`);
    expect(errors[0]!.e).toMatch(/^CANDIDATE_HTTP_ERROR/);
  });

  it('exposes what it did on /metrics', async () => {
    const server = await serveMetrics(registry);
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (line: RegExp) => Number(text.split('\n').find((l) => line.test(l))?.split(' ').pop());
      expect(value(/^umbra_replayer_events_consumed_total\{/)).toBe(EVENTS);
      expect(value(/^umbra_replayer_pairs_stored_total\{/)).toBe(3 * produced.valid.length);
      expect(value(/^umbra_replayer_dead_letters_total\{.*reason="DECODE_FAILED"/)).toBe(50);
      expect(value(/^umbra_replayer_candidate_errors_total\{.*candidate="http-flaky".*status="timeout"/)).toBeGreaterThan(0);
      expect(text).toMatch(/^umbra_replayer_candidate_latency_seconds_bucket\{.*candidate="close"/m);
      expect(text).toMatch(/^umbra_replayer_consumer_lag\{.*\} 0$/m);
      expect(value(/^umbra_replayer_flush_pairs_count/)).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
