import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../domain/events.ts';
import { schemaCatalog, SCHEMA_HEADER } from './catalog.ts';
import { createStaticSchemaRegistry } from './registry.ts';
import { decodeRequestEvent, encodeRequestEvent, requestEventToAvro } from './request-event.ts';
import { umbraFailure } from './test-helpers.ts';
import { decodeAvro } from './wire.ts';

const EVENT: RequestEvent = {
  eventId: 'e-1',
  eventTime: 1_700_000_000_000,
  model: { name: 'm', version: '1' },
  arm: 'canary',
  input: '{"x":1}',
  output: '{"y":2}',
  latencyMs: 12.5,
  status: 'ok',
  errorMessage: null,
  attributes: { region: 'eu' },
  traceId: null,
  tapSampleRate: null,
};

// EVENT as RequestEvent v1 Avro binary, worked out by hand (strings: zig-zag length, then UTF-8;
// unions: zig-zag branch index, then the value; enums: zig-zag symbol index).
const V1_HEX = [
  '06652d31', //              event_id: len 3 -> 06, "e-1"
  '80a0abfef962', //          event_time: 1700000000000 -> zig-zag 3400000000000 as a varint
  '026d', //                  model.name: len 1, "m"
  '0231', //                  model.version: len 1, "1"
  '02', //                    arm: canary = symbol 1 -> 02
  '0e7b2278223a317d', //      input: len 7 -> 0e, {"x":1}
  '02' + '0e7b2279223a327d', // output: branch 1 (string), len 7, {"y":2}
  '0000000000002940', //      latency_ms: 12.5 as little-endian IEEE 754 double
  '00', //                    status: ok = symbol 0
  '00', //                    error_message: branch 0 (null)
  '02' + '0c726567696f6e' + '046575' + '00', // attributes: block of 1, "region" -> "eu", end of map
  '00', //                    trace_id: branch 0 (null)
].join('');
// Confluent wire format: magic 00, schema id 42 as 4-byte big-endian, then the same Avro binary.
const CONFLUENT_42_HEX = '00' + '0000002a' + V1_HEX;
// v2 appends tap_sample_rate: branch 1 (double), 0.5 little-endian.
const V2_HEX = V1_HEX + '02' + '000000000000e03f';

const catalog = schemaCatalog();
const v1 = catalog.get('RequestEvent', 1);
const v2 = catalog.get('RequestEvent', 2);

describe('pinned bytes', () => {
  it('encodes raw v1 to the hand-checked bytes and names the schema in the header', () => {
    const msg = encodeRequestEvent(EVENT, { format: 'raw', version: 1 });
    expect(msg.value.toString('hex')).toBe(V1_HEX);
    expect(msg.headers).toEqual({ [SCHEMA_HEADER]: 'RequestEvent.v1' });
  });

  it('encodes the Confluent wire format with schema id 42', () => {
    const msg = encodeRequestEvent(EVENT, { format: 'confluent', schemaId: 42, version: 1 });
    expect(msg.value.toString('hex')).toBe(CONFLUENT_42_HEX);
    expect(msg.value.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 0, 0x2a]));
    expect(msg.headers).toEqual({});
  });

  it('encodes raw v2 (the default) with tap_sample_rate appended', () => {
    const msg = encodeRequestEvent({ ...EVENT, tapSampleRate: 0.5 });
    expect(msg.value.toString('hex')).toBe(V2_HEX);
    expect(msg.headers).toEqual({ [SCHEMA_HEADER]: 'RequestEvent.v2' });
  });

  it('decodes the pinned raw v1 bytes back to the event', async () => {
    const event = await decodeRequestEvent(Buffer.from(V1_HEX, 'hex'), {
      [SCHEMA_HEADER]: 'RequestEvent.v1',
    });
    expect(event).toEqual(EVENT);
  });

  it('decodes the pinned Confluent bytes through a registry', async () => {
    const registry = createStaticSchemaRegistry({ 42: v1.text });
    const event = await decodeRequestEvent(Buffer.from(CONFLUENT_42_HEX, 'hex'), {}, registry);
    expect(event).toEqual(EVENT);
  });

  it('decodes the pinned raw v2 bytes with the header given as a Buffer', async () => {
    const event = await decodeRequestEvent(Buffer.from(V2_HEX, 'hex'), {
      [SCHEMA_HEADER]: Buffer.from('RequestEvent.v2'),
    });
    expect(event).toEqual({ ...EVENT, tapSampleRate: 0.5 });
  });
});

describe('schema resolution', () => {
  it('a v2 reader reads v1 bytes, filling tap_sample_rate with null', async () => {
    const bytes = v1.type.toBuffer(requestEventToAvro({ ...EVENT, tapSampleRate: 0.5 }, 1));
    const raw = decodeAvro(bytes, v1.type, v2.type) as Record<string, unknown>;
    expect(raw.tap_sample_rate).toBeNull();
    const event = await decodeRequestEvent(bytes, { [SCHEMA_HEADER]: 'RequestEvent.v1' });
    expect(event.tapSampleRate).toBeNull();
    expect(event).toEqual(EVENT);
  });

  it('a v1 reader reads v2 bytes, dropping tap_sample_rate', () => {
    const bytes = v2.type.toBuffer(requestEventToAvro({ ...EVENT, tapSampleRate: 0.25 }, 2));
    const raw = decodeAvro(bytes, v2.type, v1.type) as Record<string, unknown>;
    expect(raw).not.toHaveProperty('tap_sample_rate');
    expect({ ...raw, model: { ...(raw.model as object) } }).toEqual(requestEventToAvro(EVENT, 1));
  });

  it('a Confluent v2 writer from the registry resolves too', async () => {
    const registry = createStaticSchemaRegistry({ 7: v2.text });
    const msg = encodeRequestEvent(
      { ...EVENT, tapSampleRate: 1 },
      { format: 'confluent', schemaId: 7 },
    );
    expect(await decodeRequestEvent(msg.value, msg.headers, registry)).toEqual({
      ...EVENT,
      tapSampleRate: 1,
    });
  });

  it('a producer in another namespace resolves (namespaces are ignored)', async () => {
    const foreign = JSON.stringify({
      ...(JSON.parse(v1.text) as object),
      namespace: 'com.acme.events',
    });
    const registry = createStaticSchemaRegistry({ 3: foreign });
    const msg = encodeRequestEvent(EVENT, { format: 'confluent', schemaId: 3, version: 1 });
    expect(await decodeRequestEvent(msg.value, {}, registry)).toEqual(EVENT);
  });

  it('the header wins over a leading zero byte when a registry is configured', async () => {
    // A raw value may start with 0x00 (here: an empty event_id), which is also the Confluent magic.
    const bytes = v2.type.toBuffer(requestEventToAvro({ ...EVENT, eventId: '' }, 2));
    expect(bytes[0]).toBe(0);
    const err = await umbraFailure(() =>
      decodeRequestEvent(
        bytes,
        { [SCHEMA_HEADER]: 'RequestEvent.v2' },
        createStaticSchemaRegistry(),
      ),
    );
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe('event_id');
  });
});

describe('corrupt input', () => {
  const raw = Buffer.from(V1_HEX, 'hex');
  const header = { [SCHEMA_HEADER]: 'RequestEvent.v1' };

  it.each([
    ['truncated by one byte', raw.subarray(0, raw.length - 1)],
    ['cut in half', raw.subarray(0, raw.length / 2)],
    ['with a trailing byte', Buffer.concat([raw, Buffer.from([0])])],
    ['random bytes', Buffer.from('8f3ac2d91e77b0455a01ff02c3', 'hex')],
    [
      'an out-of-range enum index',
      Buffer.from(V1_HEX.replace('0231' + '02', '0231' + '0a'), 'hex'),
    ],
  ])('%s -> DECODE_FAILED', async (_name, value) => {
    const err = await umbraFailure(() => decodeRequestEvent(value, header));
    expect(err.code).toBe('DECODE_FAILED');
    expect(err.context.writer).toBe('RequestEvent.v1');
  });

  it('a corrupt map count of 2^40 -> DECODE_FAILED, without looping over it', async () => {
    // Everything before attributes, then a block count of 2^40 (zig-zag 2^41 as a varint).
    const head = V1_HEX.slice(0, V1_HEX.indexOf('020c726567696f6e'));
    const value = Buffer.concat([
      Buffer.from(head, 'hex'),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
      Buffer.from('0000', 'hex'),
    ]);
    const err = await umbraFailure(() => decodeRequestEvent(value, header));
    expect(err.code).toBe('DECODE_FAILED');
  });

  it('an empty or missing value -> DECODE_FAILED', async () => {
    expect((await umbraFailure(() => decodeRequestEvent(null, header))).code).toBe('DECODE_FAILED');
    expect((await umbraFailure(() => decodeRequestEvent(Buffer.alloc(0), header))).code).toBe(
      'DECODE_FAILED',
    );
  });

  it.each([
    ['an unknown version', 'RequestEvent.v9'],
    ['a malformed reference', 'request-event-2'],
    ['another record', 'ShadowResult.v1'],
  ])('a header naming %s -> SCHEMA_UNKNOWN', async (_name, ref) => {
    const err = await umbraFailure(() => decodeRequestEvent(raw, { [SCHEMA_HEADER]: ref }));
    expect(err.code).toBe('SCHEMA_UNKNOWN');
    expect(err.context.header).toBe(ref);
  });

  it('no header and no registry -> SCHEMA_UNKNOWN, for raw and for Confluent-looking bytes', async () => {
    expect((await umbraFailure(() => decodeRequestEvent(raw, {}))).code).toBe('SCHEMA_UNKNOWN');
    expect(
      (
        await umbraFailure(() =>
          decodeRequestEvent(raw, { other: 'x' }, createStaticSchemaRegistry()),
        )
      ).code,
    ).toBe('SCHEMA_UNKNOWN');
    const confluent = Buffer.from(CONFLUENT_42_HEX, 'hex');
    expect((await umbraFailure(() => decodeRequestEvent(confluent, {}))).code).toBe(
      'SCHEMA_UNKNOWN',
    );
  });

  it('an unknown schema id -> SCHEMA_UNKNOWN', async () => {
    const registry = createStaticSchemaRegistry({ 41: v1.text });
    const err = await umbraFailure(() =>
      decodeRequestEvent(Buffer.from(CONFLUENT_42_HEX, 'hex'), {}, registry),
    );
    expect(err.code).toBe('SCHEMA_UNKNOWN');
    expect(err.context.schemaId).toBe(42);
  });

  it('a Confluent value with no Avro after the prefix -> DECODE_FAILED', async () => {
    const registry = createStaticSchemaRegistry({ 42: v1.text });
    const err = await umbraFailure(() =>
      decodeRequestEvent(Buffer.from('000000002a', 'hex'), {}, registry),
    );
    expect(err.code).toBe('DECODE_FAILED');
  });

  it('a registry schema that cannot be read as RequestEvent -> DECODE_FAILED', async () => {
    const other = JSON.stringify({
      type: 'record',
      name: 'Other',
      fields: [{ name: 'a', type: 'string' }],
    });
    const registry = createStaticSchemaRegistry({ 42: other, 43: '{"type": "nope"}' });
    const bytes = Buffer.from(CONFLUENT_42_HEX, 'hex');
    expect((await umbraFailure(() => decodeRequestEvent(bytes, {}, registry))).code).toBe(
      'DECODE_FAILED',
    );
    bytes.writeUInt32BE(43, 1);
    expect((await umbraFailure(() => decodeRequestEvent(bytes, {}, registry))).code).toBe(
      'DECODE_FAILED',
    );
  });

  it('random payloads never decode and never throw untyped errors', async () => {
    // A fixed-seed LCG keeps the run reproducible.
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const value = Buffer.from(
        Array.from({ length: 1 + Math.floor(next() * 80) }, () => Math.floor(next() * 256)),
      );
      const err = await umbraFailure(() =>
        decodeRequestEvent(value, { [SCHEMA_HEADER]: 'RequestEvent.v2' }),
      );
      expect(['DECODE_FAILED', 'VALIDATION_FAILED']).toContain(err.code);
    }
  });
});

describe('validation after decode', () => {
  const encodeUnchecked = (event: RequestEvent): Buffer =>
    v2.type.toBuffer(requestEventToAvro(event, 2));

  it.each<[string, Partial<RequestEvent>]>([
    ['event_id', { eventId: '' }],
    ['event_time', { eventTime: 0 }],
    ['event_time', { eventTime: -5 }],
    ['model.name', { model: { name: '', version: '1' } }],
    ['input', { input: '{x:1}' }],
    ['output', { output: 'not json' }],
    ['output', { output: null, status: 'ok' }],
    ['latency_ms', { latencyMs: -1 }],
    ['latency_ms', { latencyMs: Number.NaN }],
    ['latency_ms', { latencyMs: Number.POSITIVE_INFINITY }],
    ['tap_sample_rate', { tapSampleRate: 0 }],
    ['tap_sample_rate', { tapSampleRate: 1.5 }],
  ])('a bad %s -> VALIDATION_FAILED naming it', async (field, change) => {
    const err = await umbraFailure(() =>
      decodeRequestEvent(encodeUnchecked({ ...EVENT, ...change }), {
        [SCHEMA_HEADER]: 'RequestEvent.v2',
      }),
    );
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('a failed request may have a null output', async () => {
    const failed: RequestEvent = { ...EVENT, status: 'error', output: null, errorMessage: 'boom' };
    expect(
      await decodeRequestEvent(encodeUnchecked(failed), { [SCHEMA_HEADER]: 'RequestEvent.v2' }),
    ).toEqual(failed);
  });
});

describe('validation before encode', () => {
  it('rejects values the schema cannot hold, naming the field', async () => {
    const err = await umbraFailure(() =>
      encodeRequestEvent({ ...EVENT, arm: 'purple' as RequestEvent['arm'] }),
    );
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe('arm');
    const nested = await umbraFailure(() =>
      encodeRequestEvent({ ...EVENT, model: { name: 'm', version: 3 as unknown as string } }),
    );
    expect(nested.context.field).toBe('model.version');
  });

  it('rejects events that fail the semantic checks', async () => {
    const err = await umbraFailure(() => encodeRequestEvent({ ...EVENT, input: 'nope' }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe('input');
  });

  it('jsonChecked skips parsing input and output again, and only that', async () => {
    const vouched = { format: 'raw', jsonChecked: true } as const;
    // Same bytes as a checked encode.
    expect(encodeRequestEvent(EVENT, vouched)).toEqual(encodeRequestEvent(EVENT));
    // The caller's word is taken for the JSON (the consumer still checks it when it decodes)...
    const unparsed = encodeRequestEvent({ ...EVENT, input: 'nope' }, vouched);
    expect(
      (await umbraFailure(() => decodeRequestEvent(unparsed.value, unparsed.headers))).context
        .field,
    ).toBe('input');
    // ...but not for anything else.
    const err = await umbraFailure(() => encodeRequestEvent({ ...EVENT, eventId: '' }, vouched));
    expect(err.context.field).toBe('event_id');
    const noOutput = await umbraFailure(() =>
      encodeRequestEvent({ ...EVENT, output: null }, vouched),
    );
    expect(noOutput.context.field).toBe('output');
  });

  it('rejects an unknown version and a bad schema id', async () => {
    expect(
      (await umbraFailure(() => encodeRequestEvent(EVENT, { format: 'raw', version: 3 as 1 })))
        .code,
    ).toBe('SCHEMA_UNKNOWN');
    expect(
      (await umbraFailure(() => encodeRequestEvent(EVENT, { format: 'confluent', schemaId: -1 })))
        .code,
    ).toBe('BAD_ARGUMENT');
  });

  it('writing v1 drops the sampling rate', async () => {
    const msg = encodeRequestEvent({ ...EVENT, tapSampleRate: 0.5 }, { format: 'raw', version: 1 });
    expect(msg.value.toString('hex')).toBe(V1_HEX);
  });
});
