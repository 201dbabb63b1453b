import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../domain/events.ts';
import { parseRequestEventJson, requestEventToJson } from './json.ts';
import { umbraFailure } from './test-helpers.ts';

const EVENT: RequestEvent = {
  eventId: 'e-1',
  eventTime: Date.parse('2025-01-06T09:00:00.250Z'),
  model: { name: 'm', version: '1' },
  arm: 'stable',
  input: '{"x":1}',
  output: '{"y":2}',
  latencyMs: 3,
  status: 'ok',
  errorMessage: null,
  attributes: { region: 'eu' },
  traceId: 't-1',
  tapSampleRate: 0.5,
};

const JSON_EVENT = {
  event_id: 'e-1',
  event_time: Date.parse('2025-01-06T09:00:00.250Z'),
  model: { name: 'm', version: '1' },
  arm: 'stable',
  input: '{"x":1}',
  output: '{"y":2}',
  latency_ms: 3,
  status: 'ok',
  error_message: null,
  attributes: { region: 'eu' },
  trace_id: 't-1',
  tap_sample_rate: 0.5,
};

describe('RequestEvent JSON', () => {
  it('round-trips through the capture form', () => {
    expect(requestEventToJson(EVENT)).toEqual(JSON_EVENT);
    expect(parseRequestEventJson(JSON.parse(JSON.stringify(requestEventToJson(EVENT))))).toEqual(
      EVENT,
    );
  });

  it('accepts event_time as an ISO-8601 string with offset', () => {
    expect(
      parseRequestEventJson({ ...JSON_EVENT, event_time: '2025-01-06T09:00:00.250Z' }).eventTime,
    ).toBe(EVENT.eventTime);
    expect(
      parseRequestEventJson({ ...JSON_EVENT, event_time: '2025-01-06T10:00:00.250+01:00' })
        .eventTime,
    ).toBe(EVENT.eventTime);
  });

  it('fills fields with a null default and drops unknown fields, like Avro resolution', () => {
    const minimal = {
      event_id: 'e-2',
      event_time: 1,
      model: { name: 'm', version: '1' },
      arm: 'blue',
      input: '[]',
      latency_ms: 0,
      status: 'error',
      added_in_v9: true,
    };
    expect(parseRequestEventJson(minimal)).toEqual({
      eventId: 'e-2',
      eventTime: 1,
      model: { name: 'm', version: '1' },
      arm: 'blue',
      input: '[]',
      output: null,
      latencyMs: 0,
      status: 'error',
      errorMessage: null,
      attributes: {},
      traceId: null,
      tapSampleRate: null,
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['event_id', { event_id: undefined }],
    ['event_id', { event_id: '' }],
    ['event_time', { event_time: 'yesterday' }],
    ['event_time', { event_time: '2025-01-06 09:00' }],
    ['event_time', { event_time: -1 }],
    ['event_time', { event_time: 1.5 }],
    ['model.name', { model: { name: 7, version: '1' } }],
    ['model', { model: null }],
    ['arm', { arm: 'purple' }],
    ['input', { input: { x: 1 } }],
    ['input', { input: '{x:1}' }],
    ['output', { output: '{' }],
    ['output', { output: null }],
    ['latency_ms', { latency_ms: -0.1 }],
    ['latency_ms', { latency_ms: '3' }],
    ['status', { status: 'fine' }],
    ['attributes.region', { attributes: { region: 1 } }],
    ['tap_sample_rate', { tap_sample_rate: 2 }],
  ])('a bad %s -> VALIDATION_FAILED naming the field', async (field, change) => {
    const err = await umbraFailure(() => parseRequestEventJson({ ...JSON_EVENT, ...change }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe(field);
    expect(err.message).toContain(`${field}:`);
  });

  it('rejects something that is not an object', async () => {
    for (const v of [null, 'x', 3, []]) {
      const err = await umbraFailure(() => parseRequestEventJson(v));
      expect(err.code).toBe('VALIDATION_FAILED');
    }
  });

  it('adds the caller context to the error', async () => {
    const err = await umbraFailure(() =>
      parseRequestEventJson({ ...JSON_EVENT, arm: 'x' }, { path: 'f.ndjson', line: 4 }),
    );
    expect(err.context).toMatchObject({ path: 'f.ndjson', line: 4, field: 'arm' });
  });
});
