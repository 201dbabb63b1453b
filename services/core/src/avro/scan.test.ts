import { describe, expect, it } from 'vitest';
import { parseAvroSchema, schemaCatalog } from './catalog.ts';
import { AvroScanError, scanAvro } from './scan.ts';

/** Zig-zag varint, for hand-built payloads. */
function long(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return Buffer.from(out);
}

function scanError(fn: () => unknown): AvroScanError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AvroScanError) return e;
    throw e;
  }
  throw new Error('expected an AvroScanError');
}

describe('scanAvro', () => {
  it('agrees with avsc on where random values of every contract end', () => {
    const catalog = schemaCatalog();
    for (const subject of catalog.subjects()) {
      for (const { type } of catalog.versions(subject)) {
        for (let i = 0; i < 30; i++) {
          const bytes = type.toBuffer(type.random());
          expect(scanAvro(type, bytes), subject).toBe(bytes.length);
          // Every strict prefix is reported as truncated or malformed, never as a whole value.
          const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
          expect(() => scanAvro(type, cut)).toThrow(AvroScanError);
        }
      }
    }
  });

  it('follows negative block counts, which carry a byte size', () => {
    const type = parseAvroSchema({ type: 'array', items: 'int' });
    const items = Buffer.concat([long(5), long(-7)]);
    const bytes = Buffer.concat([long(-2), long(items.length), items, long(0)]);
    expect(scanAvro(type, bytes)).toBe(bytes.length);
    expect(type.fromBuffer(bytes)).toEqual([5, -7]);
  });

  it('rejects a block count the bytes cannot hold, without looping over it', () => {
    const type = parseAvroSchema({ type: 'map', values: 'string' });
    const err = scanError(() =>
      scanAvro(type, Buffer.concat([long(2 ** 40), Buffer.from([2, 0x61, 0])])),
    );
    expect(err.message).toMatch(/cannot fit/);
  });

  it('caps items of zero-byte types', () => {
    const type = parseAvroSchema({ type: 'array', items: 'null' });
    expect(scanAvro(type, Buffer.concat([long(1000), long(0)]))).toBe(3);
    expect(scanError(() => scanAvro(type, Buffer.concat([long(2 ** 40), long(0)]))).truncated).toBe(
      false,
    );
  });

  it('rejects bad enum and union indexes and negative lengths', () => {
    const record = parseAvroSchema({
      type: 'record',
      name: 'R',
      fields: [
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['a', 'b'] } },
        { name: 'u', type: ['null', 'string'] },
      ],
    });
    expect(scanAvro(record, Buffer.concat([long(1), long(1), long(1), Buffer.from('x')]))).toBe(4);
    expect(scanError(() => scanAvro(record, Buffer.concat([long(2), long(0)]))).message).toMatch(
      /enum index/,
    );
    expect(scanError(() => scanAvro(record, Buffer.concat([long(0), long(2)]))).message).toMatch(
      /union index/,
    );
    expect(
      scanError(() => scanAvro(record, Buffer.concat([long(0), long(1), long(-3)]))).message,
    ).toMatch(/negative length/);
  });

  it('tells truncation from malformed bytes', () => {
    const type = parseAvroSchema('string');
    expect(
      scanError(() => scanAvro(type, Buffer.concat([long(5), Buffer.from('ab')]))).truncated,
    ).toBe(true);
    expect(scanError(() => scanAvro(type, Buffer.from([0xff, 0xff, 0xff]))).truncated).toBe(true);
    expect(scanError(() => scanAvro(type, Buffer.alloc(11, 0xff))).truncated).toBe(false);
  });

  it('handles recursive schemas', () => {
    const type = parseAvroSchema({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'v', type: 'int' },
        { name: 'next', type: ['null', 'Node'] },
      ],
    });
    const bytes = type.toBuffer({ v: 1, next: { v: 2, next: { v: 3, next: null } } });
    expect(scanAvro(type, bytes)).toBe(bytes.length);
  });
});
