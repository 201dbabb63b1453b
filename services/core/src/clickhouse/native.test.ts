import { describe, expect, it } from 'vitest';
import { encodeNativeBlock } from './native.ts';

/** The bytes of a block as hex, for comparing with the layout written out by hand. */
function hex(
  columns: string[],
  types: Parameters<typeof encodeNativeBlock>[1],
  rows: unknown[][],
): string {
  return Buffer.from(encodeNativeBlock(columns, types, rows)).toString('hex');
}

const str = (s: string): string =>
  Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]).toString('hex');
const u64 = (n: number): string => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b.toString('hex');
};
const f64 = (n: number): string => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(n);
  return b.toString('hex');
};

describe('encodeNativeBlock', () => {
  it('writes the block header, then each column: name, type, values', () => {
    expect(hex(['s'], ['String'], [['ab'], ['']])).toBe(
      `0102${str('s')}${str('String')}${str('ab')}${str('')}`,
    );
  });

  it('writes a Nullable column as its null map, then every value (nulls as defaults)', () => {
    expect(hex(['n'], ['Nullable(Float64)'], [[1.5], [null], [Number.NaN]])).toBe(
      `0103${str('n')}${str('Nullable(Float64)')}000101${f64(1.5)}${f64(0)}${f64(0)}`,
    );
    expect(hex(['t'], ['Nullable(String)'], [[null], ['x']])).toBe(
      `0102${str('t')}${str('Nullable(String)')}0100${str('')}${str('x')}`,
    );
  });

  it('writes arrays and maps as cumulative offsets, then their elements (a map: keys, then values)', () => {
    expect(hex(['a'], ['Array(String)'], [[['x', 'y']], [[]], [['z']]])).toBe(
      `0103${str('a')}${str('Array(String)')}${u64(2)}${u64(2)}${u64(3)}${str('x')}${str('y')}${str('z')}`,
    );
    expect(hex(['m'], ['Map(String, String)'], [[{ k: 'v', j: 'w' }], [{}]])).toBe(
      `0102${str('m')}${str('Map(String, String)')}${u64(2)}${u64(2)}${str('k')}${str('j')}${str('v')}${str('w')}`,
    );
  });

  it('writes DateTime64(3) as signed milliseconds, before 1970 too', () => {
    const t = "DateTime64(3, 'UTC')" as const;
    expect(hex(['d'], [t], [[-1], [1_700_000_000_123], [2 ** 40 + 5]])).toBe(
      `0103${str('d')}${str(t)}${u64(-1)}${u64(1_700_000_000_123)}${u64(2 ** 40 + 5)}`,
    );
  });

  it('writes strings of 128 bytes and more with a longer length prefix', () => {
    const long = 'é'.repeat(100); // 200 bytes
    const bytes = Buffer.from(encodeNativeBlock(['s'], ['String'], [[long], ['after']]));
    const at = 2 + 2 + 7; // header, then name and type
    expect(bytes.subarray(at, at + 2).toString('hex')).toBe('c801'); // 200 as a VarUInt
    expect(bytes.subarray(at + 2, at + 202).toString('utf8')).toBe(long);
    expect(bytes.subarray(at + 202).toString('hex')).toBe(str('after'));
  });

  it('grows past its first guess and refuses values of the wrong kind', () => {
    const rows = Array.from({ length: 3 }, () => ['x'.repeat(5000)]);
    expect(encodeNativeBlock(['s'], ['String'], rows).length).toBe(2 + 2 + 7 + 3 * 5002);
    expect(() => encodeNativeBlock(['s'], ['String'], [[5]])).toThrow(
      /column s: expected a string/,
    );
    expect(() => encodeNativeBlock(['d'], ["DateTime64(3, 'UTC')"], [['2020-01-01']])).toThrow(
      /epoch milliseconds/,
    );
    expect(() => encodeNativeBlock(['a', 'b'], ['String'], [])).toThrow(/2 columns but 1 types/);
  });
});
