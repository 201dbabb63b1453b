import { describe, expect, it } from 'vitest';
import { decodeRequestEvent } from '../avro/index.ts';
import type { RequestEvent } from '../domain/events.ts';
import { UmbraError } from '../errors.ts';
import type { OutMessage, ProducerOptions } from '../kafka/types.ts';
import { createRegistry } from '../metrics/index.ts';
import { createTap, type TapProducer } from './index.ts';

/** A producer whose availability the test switches; it records what it was sent. */
function fakeProducer() {
  const state = {
    down: false,
    rejectNext: false,
    batches: [] as OutMessage[][],
    connects: 0,
    disconnects: 0,
    producerOptions: [] as Array<ProducerOptions | undefined>,
  };
  const producer: TapProducer = {
    async connect() {
      state.connects++;
      if (state.down) throw new UmbraError('KAFKA_UNAVAILABLE', 'down', { retriable: true });
    },
    async send(_topic, messages) {
      if (state.rejectNext) {
        state.rejectNext = false;
        throw new UmbraError('KAFKA_FAILED', 'message too large', { retriable: false });
      }
      if (state.down) throw new UmbraError('KAFKA_UNAVAILABLE', 'down', { retriable: true });
      state.batches.push([...messages]);
      return [];
    },
    async disconnect() {
      state.disconnects++;
    },
  };
  return {
    state,
    bus: {
      producer: (opts?: ProducerOptions) => {
        state.producerOptions.push(opts);
        return producer;
      },
    },
  };
}

const event = (i: number): RequestEvent => ({
  eventId: `e-${i}`,
  eventTime: 1_700_000_000_000 + i,
  model: { name: 'm', version: '1' },
  arm: 'stable',
  input: JSON.stringify({ i }),
  output: '{"y":1}',
  latencyMs: 1.5,
  status: 'ok',
  errorMessage: null,
  attributes: { region: 'eu' },
  traceId: null,
  tapSampleRate: 1,
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`never: ${what}`);
}

describe('createTap', () => {
  it('sends tapped events in batches of at most batchSize, decodable as RequestEvent v2', async () => {
    const { state, bus } = fakeProducer();
    const tap = createTap({ bus, topic: 't', batchSize: 4, lingerMs: 1 });
    for (let i = 0; i < 10; i++) expect(tap.tap(event(i))).toBe(true);
    expect(await tap.flush(5_000)).toBe(true);
    expect(tap.stats()).toEqual({ queued: 0, sent: 10, dropped: 0, failedBatches: 0 });
    expect(state.batches.every((b) => b.length <= 4)).toBe(true);
    const first = state.batches[0]![0]!;
    // Keyed by event id for tracing, but spread round-robin: the id orders nothing.
    expect(first.key).toBe('e-0');
    expect(state.producerOptions).toEqual([{ partitioning: 'round-robin' }]);
    const decoded = await decodeRequestEvent(first.value as Buffer, first.headers ?? {});
    expect(decoded).toEqual(event(0));
    await tap.close();
    expect(state.disconnects).toBe(1);
  });

  it('drops only at the bound while Kafka is down, then resumes and delivers what it kept', async () => {
    const { state, bus } = fakeProducer();
    state.down = true;
    const registry = createRegistry('test', { defaultMetrics: false });
    const tap = createTap({
      bus,
      topic: 't',
      maxBuffer: 50,
      batchSize: 20,
      lingerMs: 1,
      initialBackoffMs: 2,
      maxBackoffMs: 10,
      registry,
    });
    const accepted = Array.from({ length: 80 }, (_, i) => tap.tap(event(i)));
    expect(accepted.filter(Boolean)).toHaveLength(50);
    expect(accepted.slice(0, 50).every(Boolean)).toBe(true);
    await until('a failed batch', () => tap.stats().failedBatches >= 2);
    expect(tap.stats()).toMatchObject({ queued: 50, sent: 0, dropped: 30 });
    // A caller that asks first (the router) need not build an event the full buffer would drop;
    // the drop is counted all the same.
    expect(tap.admit()).toBe(false);
    expect(tap.stats()).toMatchObject({ queued: 50, dropped: 31 });

    state.down = false;
    expect(await tap.flush(5_000)).toBe(true);
    expect(tap.stats()).toMatchObject({ queued: 0, sent: 50, dropped: 31 });
    expect(tap.admit()).toBe(true);
    // Order is kept across the outage.
    expect(state.batches.flat().map((m) => m.key)).toEqual(
      Array.from({ length: 50 }, (_, i) => `e-${i}`),
    );
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/umbra_tap_dropped_total\{topic="t",reason="full",service="test"\} 31/);
    expect(metrics).toMatch(/umbra_tap_sent_total\{topic="t",service="test"\} 50/);
    await tap.close();
  });

  it('never throws into the caller: an invalid event is refused and counted', async () => {
    const { bus } = fakeProducer();
    const tap = createTap({ bus, topic: 't', lingerMs: 1 });
    expect(tap.tap({ ...event(1), input: '{not json' })).toBe(false);
    expect(tap.tap({ ...event(2), eventId: '' })).toBe(false);
    expect(tap.stats()).toMatchObject({ queued: 0, dropped: 2 });
    await tap.close();
  });

  it('skips the JSON check when the caller vouches for it, and only then', async () => {
    const { state, bus } = fakeProducer();
    const tap = createTap({ bus, topic: 't', lingerMs: 1 });
    // Not JSON: a tapper that says it checked takes the blame (the consumer's decode refuses it).
    expect(tap.tap({ ...event(1), output: 'not json' }, { jsonChecked: true })).toBe(true);
    expect(tap.tap({ ...event(2), output: 'not json' })).toBe(false);
    expect(tap.tap({ ...event(3), eventId: '' }, { jsonChecked: true })).toBe(false);
    expect(await tap.flush(5_000)).toBe(true);
    expect(tap.stats()).toMatchObject({ sent: 1, dropped: 2 });
    expect(state.batches.flat().map((m) => m.key)).toEqual(['e-1']);
    await tap.close();
  });

  it('drops a batch Kafka rejects for good instead of blocking the events behind it', async () => {
    const { state, bus } = fakeProducer();
    state.rejectNext = true;
    const tap = createTap({ bus, topic: 't', batchSize: 2, lingerMs: 1 });
    for (let i = 0; i < 5; i++) tap.tap(event(i));
    expect(await tap.flush(5_000)).toBe(true);
    expect(tap.stats()).toEqual({ queued: 0, sent: 3, dropped: 2, failedBatches: 1 });
    await tap.close();
  });

  it('close() with Kafka still down gives up after closeTimeoutMs and counts the rest as dropped', async () => {
    const { state, bus } = fakeProducer();
    state.down = true;
    const tap = createTap({
      bus,
      topic: 't',
      lingerMs: 1,
      initialBackoffMs: 2,
      maxBackoffMs: 5,
      closeTimeoutMs: 50,
    });
    for (let i = 0; i < 7; i++) tap.tap(event(i));
    await tap.close();
    expect(tap.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 7 });
    expect(tap.tap(event(8))).toBe(false);
    expect(tap.stats().dropped).toBe(8);
  });

  it('refuses bad options at creation', () => {
    const { bus } = fakeProducer();
    expect(() => createTap({ bus, topic: '' })).toThrow(/topic/);
    expect(() => createTap({ bus, topic: 't', maxBuffer: 0 })).toThrow(/maxBuffer/);
  });
});
