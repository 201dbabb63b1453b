import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { RequestEvent } from '@umbra/core';
import { decodeRequestEvent, encodeRequestEvent } from '@umbra/core/avro';
import { createKafka, type BusConsumer, type KafkaBus, type OutMessage } from '@umbra/core/kafka';

export function testBus(clientId = 'umbra-test'): { bus: KafkaBus; brokers: string[] } {
  const brokers = inject('kafkaBrokers').split(',');
  return { bus: createKafka({ brokers, clientId }), brokers };
}

export const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

export interface ProducedSet {
  valid: RequestEvent[];
  corrupt: number;
}

/**
 * Produces events as Kafka would carry them from a mixed fleet: odd events as schema v1, even as
 * v2; one in `corruptEvery` messages is broken (garbage bytes, a truncated body, an unknown schema
 * version, or an invalid input) and must end in the dead-letter topic.
 */
export async function produceEvents(bus: KafkaBus, topic: string, events: RequestEvent[], opts: { corruptEvery?: number; batch?: number } = {}): Promise<ProducedSet> {
  const producer = bus.producer();
  await producer.connect();
  const valid: RequestEvent[] = [];
  let corrupt = 0;
  let pending: OutMessage[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const version = i % 2 === 0 ? 2 : 1;
    const encoded = encodeRequestEvent(event, { format: 'raw', version });
    if (opts.corruptEvery && i % opts.corruptEvery === opts.corruptEvery - 1) {
      corrupt++;
      const kind = corrupt % 4;
      if (kind === 0) pending.push({ key: event.eventId, value: randomBytes(40), headers: encoded.headers });
      else if (kind === 1) pending.push({ key: event.eventId, value: encoded.value.subarray(0, encoded.value.length - 7), headers: encoded.headers });
      else if (kind === 2) pending.push({ key: event.eventId, value: encoded.value, headers: { ...encoded.headers, 'umbra-schema': 'RequestEvent.v9' } });
      else pending.push({ key: event.eventId, ...encodeRequestEventUnchecked({ ...event, input: '{not json' }, version) });
    } else {
      valid.push(event);
      pending.push({ key: event.eventId, value: encoded.value, headers: encoded.headers });
    }
    if (pending.length >= (opts.batch ?? 500)) {
      await producer.send(topic, pending);
      pending = [];
    }
  }
  if (pending.length) await producer.send(topic, pending);
  await producer.disconnect();
  return { valid, corrupt };
}

/** Encodes an event that fails validation (the encoder refuses it), as a buggy producer would. */
function encodeRequestEventUnchecked(event: RequestEvent, version: 1 | 2): { value: Buffer; headers: Record<string, string> } {
  const ok = encodeRequestEvent({ ...event, input: '"placeholder-input"' }, { format: 'raw', version });
  // Same field layout; swap the placeholder's bytes for invalid JSON of equal length.
  const placeholder = Buffer.from('"placeholder-input"');
  const bad = Buffer.from('{not json}{{{{{{{{{'.slice(0, placeholder.length));
  const at = ok.value.indexOf(placeholder);
  const value = Buffer.concat([ok.value.subarray(0, at), bad, ok.value.subarray(at + placeholder.length)]);
  return { value, headers: ok.headers };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, opts: { timeoutMs?: number; everyMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 250));
  }
}

/**
 * Reads the topic from the beginning until `n` events have arrived (decoded as RequestEvents).
 * The consumer joins `consumers` so an afterAll can disconnect it if the wait times out.
 */
export async function readTopicEvents(bus: KafkaBus, topic: string, n: number, consumers: BusConsumer[] = [], timeoutMs = 60_000): Promise<RequestEvent[]> {
  const events: RequestEvent[] = [];
  const consumer = bus.consumer({ groupId: uniqueName('umbra-test-read'), topics: [topic], fromBeginning: true, maxWaitTime: 250 });
  consumers.push(consumer);
  await consumer.run({
    eachBatch: async (batch, ctl) => {
      for (const m of batch.messages) {
        events.push(await decodeRequestEvent(m.value, m.headers));
        ctl.resolveOffset(m.offset);
      }
    },
  });
  await waitFor(`${n} events on ${topic}`, async () => events.length >= n, { timeoutMs });
  await consumer.disconnect();
  return events;
}
