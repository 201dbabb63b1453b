import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../domain/events.ts';
import {
  requestEventEncoder,
  requestEventToRow,
  shadowPairEncoder,
  shadowPairToRow,
  toDateTime64,
} from './rows.ts';
import { samplePair } from './test-fixtures.ts';

describe('toDateTime64', () => {
  it('formats epoch ms as a UTC DateTime64(3) literal', () => {
    expect(toDateTime64(0)).toBe('1970-01-01 00:00:00.000');
    expect(toDateTime64(1_700_000_000_123)).toBe('2023-11-14 22:13:20.123');
    expect(toDateTime64(Date.UTC(2024, 1, 29, 23, 59, 59, 999))).toBe('2024-02-29 23:59:59.999');
  });

  it('matches the ISO form across days, before 1970 and for fractional milliseconds', () => {
    const times = [
      -1,
      -86_400_001,
      Date.UTC(1900, 0, 1),
      Date.UTC(2299, 11, 31, 23, 59, 59, 999),
      1_700_000_000_000.4,
      1_700_000_000_999.6,
    ];
    for (
      let t = Date.UTC(2026, 10, 27, 23, 59, 58, 500);
      t < Date.UTC(2026, 10, 28, 0, 0, 1);
      t += 333
    )
      times.push(t);
    for (const t of times) {
      expect(toDateTime64(t)).toBe(
        new Date(Math.round(t)).toISOString().slice(0, 23).replace('T', ' '),
      );
    }
  });

  it('refuses values that are not times in range', () => {
    expect(() => toDateTime64(Number.NaN)).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    expect(() => toDateTime64(Date.UTC(2400, 0, 1))).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
  });
});

describe('shadowPairToRow', () => {
  it('maps every field to its snake_case column, booleans to 0/1', () => {
    const row = shadowPairToRow(samplePair({ agree: true, withinTolerance: false }));
    expect(row).toMatchObject({
      experiment: 'exp-1',
      candidate: 'fraud-v2',
      event_id: 'evt-1',
      event_time: '2030-01-02 03:04:05.678',
      replayed_at: '2030-01-02 03:04:06.001',
      baseline_model: 'fraud',
      attributes: { region: 'eu' },
      agree: 1,
      within_tolerance: 0,
      diff_paths: ['$.label'],
    });
    expect(shadowPairToRow(samplePair()).within_tolerance).toBeNull();
    expect(shadowPairToRow(samplePair({ withinTolerance: true })).within_tolerance).toBe(1);
    // One column per domain field, no more, no fewer (32 in 001_shadow_pairs.sql, 2 from 009).
    expect(Object.keys(row)).toHaveLength(34);
  });
});

describe('requestEventToRow', () => {
  it('maps the event and stamps ingested_at', () => {
    const event: RequestEvent = {
      eventId: 'e1',
      eventTime: 1_700_000_000_123,
      model: { name: 'fraud', version: 'v1' },
      arm: 'canary',
      input: '{"x":1}',
      output: null,
      latencyMs: 3,
      status: 'error',
      errorMessage: 'boom',
      attributes: {},
      traceId: null,
      tapSampleRate: 0.5,
    };
    expect(requestEventToRow(event, 1_700_000_001_000)).toEqual({
      event_id: 'e1',
      event_time: '2023-11-14 22:13:20.123',
      model_name: 'fraud',
      model_version: 'v1',
      arm: 'canary',
      input: '{"x":1}',
      output: null,
      latency_ms: 3,
      status: 'error',
      error_message: 'boom',
      attributes: {},
      trace_id: null,
      ingested_at: '2023-11-14 22:13:21.000',
    });
  });
});

/** Positional values with DateTime64 columns (epoch ms) as *ToRow writes them. */
function asText(types: readonly string[], values: unknown[]): unknown[] {
  return values.map((v, i) => (types[i]!.startsWith('DateTime64') ? toDateTime64(v as number) : v));
}

describe('row encoders', () => {
  it('give the values of *ToRow, in its column order, times as epoch ms', () => {
    for (const pair of [
      samplePair(),
      samplePair({ agree: true, withinTolerance: false, candidateOutput: null }),
    ]) {
      const row = shadowPairToRow(pair);
      expect(shadowPairEncoder.columns).toEqual(Object.keys(row));
      expect(shadowPairEncoder.types).toHaveLength(shadowPairEncoder.columns.length);
      expect(asText(shadowPairEncoder.types, shadowPairEncoder.values(pair))).toEqual(
        Object.values(row),
      );
      expect(shadowPairEncoder.values(pair)[4]).toBe(pair.eventTime);
    }
    const event: RequestEvent = {
      eventId: 'e1',
      eventTime: 1_700_000_000_123,
      model: { name: 'fraud', version: 'v1' },
      arm: 'canary',
      input: '{"x":1}',
      output: '{"y":2}',
      latencyMs: 3,
      status: 'ok',
      errorMessage: null,
      attributes: { region: 'eu' },
      traceId: 't',
    };
    const row = requestEventToRow(event, 1_700_000_001_000);
    const encoder = requestEventEncoder(1_700_000_001_000);
    expect(encoder.columns).toEqual(Object.keys(row));
    expect(encoder.types).toHaveLength(encoder.columns.length);
    expect(asText(encoder.types, encoder.values(event))).toEqual(Object.values(row));
  });
});
