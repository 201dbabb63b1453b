import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestEvent } from '../domain/events.ts';
import type { UmbraError } from '../errors.ts';
import { createClickHouse, type ClickHouse } from './client.ts';
import { clickHouseErrorType } from './errors.ts';
import { encodeNative, insertEncoded, insertRows, queryRows, runStatement } from './io.ts';
import { migrate } from './migrate.ts';
import {
  requestEventEncoder,
  requestEventToRow,
  shadowPairEncoder,
  shadowPairToRow,
  toDateTime64,
} from './rows.ts';
import { samplePair } from './test-fixtures.ts';

let ch: ClickHouse;
beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
});
afterAll(async () => {
  await ch.close();
});
beforeEach(async () => {
  await runStatement(ch, 'TRUNCATE TABLE shadow_pairs');
});

// Times near now: the tables' 90-day TTL deletes rows whose event_time is older than that.
const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 789;

function batch(n: number, replayedAt: number, output = '{"label":"fraud"}') {
  return Array.from({ length: n }, (_, i) =>
    shadowPairToRow(
      samplePair({
        eventId: `evt-${i}`,
        eventTime: base + i * 1001,
        replayedAt,
        candidateOutput: output,
      }),
    ),
  );
}

function sampleEvent(overrides: Partial<RequestEvent> = {}): RequestEvent {
  return {
    eventId: 'r-1',
    eventTime: base,
    model: { name: 'fraud', version: 'v1' },
    arm: 'stable',
    input: '{"amount":3}',
    output: '{"label":"ok"}',
    latencyMs: 4.5,
    status: 'ok',
    errorMessage: null,
    attributes: { region: 'us' },
    traceId: 'trace-1',
    ...overrides,
  };
}

async function count(sql: string, params: Record<string, unknown> = {}): Promise<number> {
  const rows = await queryRows<{ n: number | string }>(ch, sql, params);
  return Number(rows[0]?.n);
}

describe('insertRows into shadow_pairs', () => {
  it('stores a batch re-sent with the same dedup token once', async () => {
    const rows = batch(50, base + 10_000);
    await insertRows(ch, 'shadow_pairs', rows, { dedupToken: 'umbra.requests/0/100-149' });
    await insertRows(ch, 'shadow_pairs', rows, { dedupToken: 'umbra.requests/0/100-149' });
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(50);
    // The token, not the content, decides: a rebuilt batch (new replayed_at) is still a repeat.
    await insertRows(ch, 'shadow_pairs', batch(50, base + 20_000), {
      dedupToken: 'umbra.requests/0/100-149',
    });
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(50);
    await insertRows(ch, 'shadow_pairs', batch(50, base + 20_000), {
      dedupToken: 'umbra.requests/0/150-199',
    });
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(100);
  });

  it('a dedup token applies to its own insert only', async () => {
    // chDB turns client-level settings into session SETs; this would drop the second batch.
    await insertRows(ch, 'shadow_pairs', batch(3, base), { dedupToken: 'tok-a' });
    await insertRows(ch, 'shadow_pairs', batch(5, base + 1));
    await insertRows(ch, 'shadow_pairs', batch(7, base + 2));
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(15);
  });

  it('collapses a re-delivered pair to one row under FINAL, the latest replay winning', async () => {
    await insertRows(ch, 'shadow_pairs', batch(10, base + 1_000, '{"label":"old"}'), {
      dedupToken: 'b1',
    });
    // The same events replayed again later, in another batch (after a crash, say).
    await insertRows(ch, 'shadow_pairs', batch(4, base + 2_000, '{"label":"new"}'), {
      dedupToken: 'b2',
    });
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(14);
    expect(await count('SELECT count() AS n FROM shadow_pairs FINAL')).toBe(10);
    const rows = await queryRows<{
      event_id: string;
      candidate_output: string;
      replayed_at: string;
    }>(
      ch,
      `SELECT event_id, candidate_output, toString(replayed_at) AS replayed_at
       FROM shadow_pairs FINAL WHERE experiment = {experiment:String} ORDER BY event_time`,
      { experiment: 'exp-1' },
    );
    expect(rows.slice(0, 4).map((r) => r.candidate_output)).toEqual(
      Array(4).fill('{"label":"new"}'),
    );
    expect(rows.slice(4).map((r) => r.candidate_output)).toEqual(Array(6).fill('{"label":"old"}'));
    expect(rows[0]?.replayed_at).toBe(toDateTime64(base + 2_000));
  });

  it('round-trips DateTime64 to the millisecond, whether sent as string or epoch-ms number', async () => {
    const times = [base, base + 1, base + 999, base + 86_400_123];
    const rows = times.map((t, i) =>
      shadowPairToRow(samplePair({ eventId: `s-${i}`, eventTime: t, replayedAt: t + 7 })),
    );
    const numeric = times.map((t, i) => ({
      ...shadowPairToRow(samplePair({ eventId: `n-${i}` })),
      event_time: t,
      replayed_at: t + 7,
    }));
    await insertRows(ch, 'shadow_pairs', [...rows, ...numeric]);
    const back = await queryRows<{ event_id: string; t: number; r: number; s: string }>(
      ch,
      `SELECT event_id, toUnixTimestamp64Milli(event_time) AS t, toUnixTimestamp64Milli(replayed_at) AS r, toString(event_time) AS s
       FROM shadow_pairs ORDER BY event_id`,
    );
    const expected = [
      ...times.map((t, i) => ({ event_id: `n-${i}`, t, r: t + 7, s: toDateTime64(t) })),
      ...times.map((t, i) => ({ event_id: `s-${i}`, t, r: t + 7, s: toDateTime64(t) })),
    ];
    expect(back.map((b) => ({ ...b, t: Number(b.t), r: Number(b.r) }))).toEqual(expected);
  });

  it('stores every column as mapped, including maps, arrays, nulls and flags', async () => {
    const pair = samplePair({
      eventTime: base,
      replayedAt: base + 5,
      agree: true,
      withinTolerance: false,
      attributes: { region: 'eu', client: "o'brien" },
      baselineRanking: ['a', 'b'],
      candidateRanking: ['b', 'a'],
      rbo: 0.5,
      candidateError: null,
      served: 'baseline',
      baselineError: null,
    });
    await insertRows(ch, 'shadow_pairs', [shadowPairToRow(pair)]);
    const [row] = await queryRows<Record<string, unknown>>(
      ch,
      'SELECT * EXCEPT (event_time, replayed_at) FROM shadow_pairs WHERE event_id = {id:String}',
      { id: pair.eventId },
    );
    const { event_time: _e, replayed_at: _r, ...expected } = shadowPairToRow(pair);
    expect(row).toEqual(expected);
  });

  it('accepts an empty batch without a round trip', async () => {
    expect(await insertRows(ch, 'shadow_pairs', [])).toEqual({ rows: 0 });
  });
});

describe('insertEncoded as Native (the replayer path)', () => {
  // Pairs that touch every column type: nulls, NaN and infinities, multi-byte and long strings
  // (a String length past one VarUInt byte), empty and non-empty maps and arrays, a time far
  // ahead (before-1970 times would fall to the tables' TTL; native.test.ts covers their bytes).
  const long = 'ü'.repeat(200);
  const pairs = [
    samplePair({
      eventId: 'n-0',
      eventTime: base,
      replayedAt: base + 1,
      agree: true,
      withinTolerance: true,
    }),
    samplePair({
      eventId: 'n-1',
      eventTime: base + 1_001,
      replayedAt: base + 2,
      attributes: {},
      baselineOutput: null,
      candidateOutput: long,
      candidateError: 'timeout after 20 ms: "x"\n',
      baselineValue: Number.NaN,
      candidateValue: Number.POSITIVE_INFINITY,
      absError: -0.5,
      relError: 1e-300,
      baselineRanking: ['a', 'b', long],
      candidateRanking: [],
      diffPaths: [],
      baselineLatencyMs: Number.NaN,
      role: 'noise',
      served: 'candidate',
      baselineError: 'refused',
    }),
    samplePair({
      eventId: 'n-2',
      eventTime: Date.UTC(2200, 0, 1, 0, 0, 0, 1),
      replayedAt: base + 3,
      attributes: { region: 'eu', client: "o'brien", ключ: long },
    }),
  ];

  async function stored(table: string, order: string): Promise<Record<string, unknown>[]> {
    return queryRows(ch, `SELECT * FROM ${table} ORDER BY ${order}`);
  }

  it('stores the same rows as the JSON path, value for value', async () => {
    await insertRows(ch, 'shadow_pairs', pairs.map(shadowPairToRow));
    const viaJson = await stored('shadow_pairs', 'event_id');
    await runStatement(ch, 'TRUNCATE TABLE shadow_pairs');
    // Two blocks in one insert, as the replayer stages them.
    const blocks = [
      encodeNative(pairs.slice(0, 1), shadowPairEncoder),
      encodeNative(pairs.slice(1), shadowPairEncoder),
    ];
    await insertEncoded(ch, 'shadow_pairs', {
      columns: shadowPairEncoder.columns,
      format: 'Native',
      body: blocks,
      rows: 3,
    });
    const viaNative = await stored('shadow_pairs', 'event_id');
    expect(viaNative).toEqual(viaJson);
    expect(viaNative[1]).toMatchObject({
      baseline_value: null,
      candidate_value: null,
      baseline_latency_ms: 0,
      candidate_output: long,
      baseline_output: null,
    });
    expect(viaNative[2]).toMatchObject({ event_time: '2200-01-01 00:00:00.001' });
  });

  it('stores a batch re-sent with the same dedup token once', async () => {
    const body = [encodeNative(pairs, shadowPairEncoder)];
    const encoded = {
      columns: shadowPairEncoder.columns,
      format: 'Native' as const,
      body,
      rows: pairs.length,
    };
    await insertEncoded(ch, 'shadow_pairs', encoded, {
      dedupToken: 'native/0/0-2',
      optimizeOnInsert: false,
    });
    await insertEncoded(ch, 'shadow_pairs', encoded, {
      dedupToken: 'native/0/0-2',
      optimizeOnInsert: false,
    });
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(3);
    await insertEncoded(ch, 'shadow_pairs', encoded, {
      dedupToken: 'native/0/3-5',
      optimizeOnInsert: false,
    });
    expect(await count('SELECT count() AS n FROM shadow_pairs')).toBe(6);
    // Each insert's file is gone once inserted.
    expect(
      readdirSync(tmpdir()).filter((f) => f.startsWith(`umbra-insert-${process.pid}-`)),
    ).toEqual([]);
  });

  it('writes request_events rows as requestEventToRow does', async () => {
    const event = sampleEvent({
      eventId: 'rn-1',
      arm: 'canary',
      output: null,
      status: 'error',
      errorMessage: 'boom',
      traceId: null,
    });
    const encoder = requestEventEncoder(base + 10);
    await insertEncoded(ch, 'request_events', {
      columns: encoder.columns,
      format: 'Native',
      body: [encodeNative([event], encoder)],
      rows: 1,
    });
    const rows = await queryRows(ch, "SELECT * FROM request_events WHERE event_id = 'rn-1'");
    expect(rows).toEqual([requestEventToRow(event, base + 10)]);
  });
});

describe('request_events', () => {
  it('collapses a re-ingested event to the latest ingestion', async () => {
    const event = sampleEvent({ eventId: 'r-1' });
    await insertRows(ch, 'request_events', [requestEventToRow(event, base + 10)]);
    await insertRows(ch, 'request_events', [
      requestEventToRow({ ...event, latencyMs: 9 }, base + 20),
    ]);
    const rows = await queryRows<{ latency_ms: number; ingested_at: string }>(
      ch,
      "SELECT latency_ms, toString(ingested_at) AS ingested_at FROM request_events FINAL WHERE event_id = 'r-1'",
    );
    expect(rows).toEqual([{ latency_ms: 9, ingested_at: toDateTime64(base + 20) }]);
  });
});

describe('errors', () => {
  it('a statement the engine rejects is STORE_QUERY_FAILED, not retriable, with the ClickHouse type', async () => {
    const err = await queryRows(ch, 'SELECT * FROM no_such_table').then(
      () => expect.unreachable(),
      (e: unknown) => e as UmbraError,
    );
    expect(err).toMatchObject({
      code: 'STORE_QUERY_FAILED',
      retriable: false,
      context: { clickhouseType: 'UNKNOWN_TABLE', clickhouseCode: '60' },
    });
    expect(clickHouseErrorType(err)).toBe('UNKNOWN_TABLE');

    const bad = await insertRows(ch, 'shadow_pairs', [{ event_time: 'not a time' }]).then(
      () => expect.unreachable(),
      (e: unknown) => e as UmbraError,
    );
    expect(bad).toMatchObject({
      code: 'STORE_QUERY_FAILED',
      retriable: false,
      context: { table: 'shadow_pairs', rows: 1 },
    });
  });

  it('refuses table names that are not identifiers', async () => {
    await expect(insertRows(ch, 'shadow_pairs; DROP TABLE x', [{}])).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
  });
});
