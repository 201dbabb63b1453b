/**
 * The ClickHouse writer on the real engine (chDB): pairs and events of a batch are two inserts
 * made side by side; when one fails, the write fails after both have settled, and writing the
 * batch again under its token stores what was missing and nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '@umbra/core';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { samplePair } from '../../core/src/clickhouse/test-fixtures.ts';
import { createClickHouseWriter } from './store.ts';

let ch: ClickHouse;
beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
});
afterAll(async () => {
  await ch?.close();
});

const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

function batch(n: number) {
  const events: RequestEvent[] = Array.from({ length: n }, (_, i) => ({
    eventId: `w-${i}`,
    eventTime: base + i,
    model: { name: 'writer-model', version: 'v1' },
    arm: 'stable',
    input: '{"x":1}',
    output: '{"label":"ok"}',
    latencyMs: 3,
    status: 'ok',
    errorMessage: null,
    attributes: { region: 'eu' },
    traceId: null,
  }));
  const pairs = events.map((e) => samplePair({ experiment: 'writer-exp', eventId: e.eventId, eventTime: e.eventTime, replayedAt: base + 10 }));
  return { pairs, events, deadLetters: [] };
}

async function counts(): Promise<{ pairs: number; events: number }> {
  const [row] = await queryRows<{ pairs: number; events: number }>(
    ch,
    "SELECT (SELECT count() FROM shadow_pairs WHERE experiment = 'writer-exp') AS pairs, (SELECT count() FROM request_events WHERE model_name = 'writer-model') AS events",
  );
  return { pairs: Number(row!.pairs), events: Number(row!.events) };
}

describe('createClickHouseWriter', () => {
  it('fails a write whose events insert fails only after the pairs insert settled, and a retry adds just the events', async () => {
    let failEvents = true;
    let pairsSettled = false;
    // The same engine, with the request_events insert refused once.
    const flaky: ClickHouse = {
      ...ch,
      lease: (fn) =>
        ch.lease((client) =>
          fn(
            new Proxy(client, {
              get(target, key, receiver) {
                if (key !== 'command') return Reflect.get(target, key, receiver);
                return async (params: { query: string }) => {
                  if (params.query.includes('INTO request_events') && failEvents) {
                    failEvents = false;
                    throw new Error('store down for request_events');
                  }
                  const result = await target.command(params);
                  if (params.query.includes('INTO shadow_pairs')) pairsSettled = true;
                  return result;
                };
              },
            }),
          ),
        ),
    };
    const writer = createClickHouseWriter(flaky);
    const b = batch(50);
    await expect(writer.write(b, 'topic/0/0-49')).rejects.toThrow('store down for request_events');
    expect(pairsSettled).toBe(true);
    expect(await counts()).toEqual({ pairs: 50, events: 0 });
    await writer.write(b, 'topic/0/0-49');
    expect(await counts()).toEqual({ pairs: 50, events: 50 });
    await writer.write(b, 'topic/0/0-49');
    expect(await counts()).toEqual({ pairs: 50, events: 50 });
  });
});
