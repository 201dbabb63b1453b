import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Type } from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvents } from '../../../../test/fixtures/capture/make-sample.ts';
import type { RequestEvent } from '../domain/events.ts';
import { schemaCatalog } from './catalog.ts';
import {
  readAvroContainer,
  readCaptureFile,
  readNdjson,
  writeAvroContainer,
  writeNdjson,
} from './files.ts';
import { requestEventToJson } from './json.ts';
import { umbraFailure } from './test-helpers.ts';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/capture/', import.meta.url));

async function collect(events: AsyncIterable<RequestEvent>): Promise<RequestEvent[]> {
  const out: RequestEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

function manyEvents(n: number): RequestEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: `e-${i}`,
    eventTime: 1_700_000_000_000 + i,
    model: { name: 'ranker', version: 'v7' },
    arm: i % 2 ? 'blue' : 'green',
    input: JSON.stringify({ query: `q${i}`, k: 10 }),
    output: i % 50 === 0 ? null : JSON.stringify({ ids: [i, i + 1, i + 2] }),
    latencyMs: i / 10,
    status: i % 50 === 0 ? 'error' : 'ok',
    errorMessage: i % 50 === 0 ? 'timeout' : null,
    attributes: { shard: String(i % 4) },
    traceId: null,
    tapSampleRate: i % 3 ? 0.1 : null,
  }));
}

/** An Avro container file written by avsc alone, bypassing umbra's checks. */
async function containerBytes(type: Type, records: unknown[]): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(type);
  const chunks: Buffer[] = [];
  encoder.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve, reject) => {
    encoder.on('end', resolve);
    encoder.on('error', reject);
  });
  for (const r of records) encoder.write(r);
  encoder.end();
  await ended;
  return Buffer.concat(chunks);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-avro-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('capture fixtures', () => {
  it('sample.ndjson holds the 20 sample events (ISO and epoch event_time lines alike)', async () => {
    const events = await collect(readNdjson(join(FIXTURES, 'sample.ndjson')));
    expect(events).toEqual(sampleEvents());
    expect(events).toHaveLength(20);
    expect(events.filter((e) => e.status === 'error')).toHaveLength(2);
  });

  it('sample.avro holds the same events', async () => {
    expect(await collect(readAvroContainer(join(FIXTURES, 'sample.avro')))).toEqual(sampleEvents());
  });

  it('readCaptureFile tells the two kinds apart', async () => {
    expect(await collect(readCaptureFile(join(FIXTURES, 'sample.avro')))).toEqual(sampleEvents());
    expect(await collect(readCaptureFile(join(FIXTURES, 'sample.ndjson')))).toEqual(sampleEvents());
  });
});

describe('NDJSON files', () => {
  it('round-trip', async () => {
    const path = join(dir, 'rt.ndjson');
    const events = manyEvents(120);
    expect(await writeNdjson(path, events)).toBe(120);
    expect(await collect(readNdjson(path))).toEqual(events);
  });

  it('skip blank lines and count them for line numbers', async () => {
    const path = join(dir, 'blank.ndjson');
    const [a, b] = manyEvents(2).map((e) => JSON.stringify(requestEventToJson(e)));
    await writeFile(path, `${a}\n\n   \n${b}\r\n`);
    expect(await collect(readNdjson(path))).toEqual(manyEvents(2));
  });

  it('a bad line throws VALIDATION_FAILED with its line number and field', async () => {
    const path = join(dir, 'bad.ndjson');
    const lines = manyEvents(3).map(
      (e) => requestEventToJson(e) as unknown as Record<string, unknown>,
    );
    lines[2]!.latency_ms = -4;
    await writeFile(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const seen: string[] = [];
    const err = await umbraFailure(async () => {
      for await (const e of readNdjson(path)) seen.push(e.eventId);
    });
    expect(seen).toEqual(['e-0', 'e-1']);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context).toMatchObject({ path, line: 3, field: 'latency_ms' });
    expect(err.message).toContain(`${path}:3:`);
  });

  it('a line that is not JSON throws VALIDATION_FAILED with its line number', async () => {
    const path = join(dir, 'notjson.ndjson');
    await writeFile(
      path,
      `${JSON.stringify(requestEventToJson(manyEvents(1)[0]!))}\n{"event_id": \n`,
    );
    const err = await umbraFailure(() => collect(readNdjson(path)));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context).toMatchObject({ line: 2 });
  });

  it('a missing file throws NOT_FOUND', async () => {
    expect((await umbraFailure(() => collect(readNdjson(join(dir, 'nope.ndjson'))))).code).toBe(
      'NOT_FOUND',
    );
    expect(
      (await umbraFailure(() => collect(readCaptureFile(join(dir, 'nope.ndjson'))))).code,
    ).toBe('NOT_FOUND');
  });

  it('writing an invalid event throws VALIDATION_FAILED', async () => {
    const bad = { ...manyEvents(1)[0]!, input: 'not json' };
    const err = await umbraFailure(() => writeNdjson(join(dir, 'w.ndjson'), [bad]));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe('input');
  });
});

describe('Avro container files', () => {
  // ~190 KB uncompressed: several 64 KB blocks, and with the null codec several read chunks.
  it.each(['deflate', 'null'] as const)(
    'round-trip many blocks across read chunks (%s codec)',
    async (codec) => {
      const events = manyEvents(1500);
      const path = join(dir, `many-${codec}.avro`);
      expect(await writeAvroContainer(path, events, { codec })).toBe(1500);
      expect(await collect(readAvroContainer(path))).toEqual(events);
    },
    30_000,
  );

  it('a v1 file reads with the v2 reader: tap_sample_rate comes back null', async () => {
    const path = join(dir, 'v1.avro');
    await writeAvroContainer(path, manyEvents(10), { version: 1 });
    const header = avro.extractFileHeader(path, { decode: false }) as {
      meta: Record<string, Buffer>;
    };
    expect(JSON.parse(header.meta['avro.schema']!.toString()).fields).toHaveLength(11);
    expect(await collect(readAvroContainer(path))).toEqual(
      manyEvents(10).map((e) => ({ ...e, tapSampleRate: null })),
    );
  });

  it('accepts async iterables', async () => {
    const path = join(dir, 'async.avro');
    async function* gen(): AsyncGenerator<RequestEvent> {
      yield* manyEvents(5);
    }
    expect(await writeAvroContainer(path, gen())).toBe(5);
    expect(await collect(readAvroContainer(path))).toHaveLength(5);
  });

  it('a truncated file throws DECODE_FAILED instead of reading short', async () => {
    const full = await readFile(join(FIXTURES, 'sample.avro'));
    for (const cut of [full.length - 1, full.length - 17, Math.floor(full.length / 2), 40, 3]) {
      const path = join(dir, `cut-${cut}.avro`);
      await writeFile(path, full.subarray(0, cut));
      const err = await umbraFailure(() => collect(readAvroContainer(path)));
      expect(err.code, `cut at ${cut}`).toBe('DECODE_FAILED');
    }
  });

  it('a corrupt block throws DECODE_FAILED', async () => {
    const path = join(dir, 'plain.avro');
    await writeAvroContainer(path, manyEvents(20), { codec: 'null' });
    const bytes = await readFile(path);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3]! ^= 0xff; // inside the sync marker
    await writeFile(join(dir, 'sync.avro'), flipped);
    expect(
      (await umbraFailure(() => collect(readAvroContainer(join(dir, 'sync.avro'))))).code,
    ).toBe('DECODE_FAILED');
  });

  it('garbage and files of another record throw DECODE_FAILED', async () => {
    await writeFile(join(dir, 'garbage.avro'), Buffer.from('Obj\x01\xff\xff\xff\xff', 'latin1'));
    expect(
      (await umbraFailure(() => collect(readAvroContainer(join(dir, 'garbage.avro'))))).code,
    ).toBe('DECODE_FAILED');
    await writeFile(join(dir, 'text.avro'), 'hello world\n');
    expect(
      (await umbraFailure(() => collect(readAvroContainer(join(dir, 'text.avro'))))).code,
    ).toBe('DECODE_FAILED');

    const other = join(dir, 'other.avro');
    const report = {
      run_id: 'r',
      experiment: 'x',
      candidate: 'c',
      window_from: 1,
      window_to: 2,
      created_at: 3,
      metrics: [],
    };
    await writeFile(
      other,
      await containerBytes(schemaCatalog().latest('ComparisonReport').type, [report]),
    );
    const err = await umbraFailure(() => collect(readAvroContainer(other)));
    expect(err.code).toBe('DECODE_FAILED');
  });

  it('an invalid event throws VALIDATION_FAILED with its index, on write and on read', async () => {
    const bad = manyEvents(4);
    bad[2] = { ...bad[2]!, output: '{' };
    const write = await umbraFailure(() => writeAvroContainer(join(dir, 'bad.avro'), bad));
    expect(write.code).toBe('VALIDATION_FAILED');
    expect(write.context).toMatchObject({ index: 2, field: 'output' });

    // Written around the check, straight through avsc.
    const path = join(dir, 'bad-read.avro');
    const type = schemaCatalog().latest('RequestEvent').type;
    await writeFile(
      path,
      await containerBytes(
        type,
        bad.map((e) => requestEventToJson(e)),
      ),
    );
    const read = await umbraFailure(() => collect(readAvroContainer(path)));
    expect(read.code).toBe('VALIDATION_FAILED');
    expect(read.context).toMatchObject({ index: 2, field: 'output' });
  });

  it('a missing file throws NOT_FOUND', async () => {
    expect(
      (await umbraFailure(() => collect(readAvroContainer(join(dir, 'nope.avro'))))).code,
    ).toBe('NOT_FOUND');
  });
});
