import { describe, expect, it } from 'vitest';
import { parsePath } from '../json-path.ts';
import { diffValues, numbersEqual, unorderedCanonical, type DiffOptions } from './diff.ts';

const exact: DiffOptions = { floatTolerance: 0, ignoreArrayOrder: false, ignore: [] };
const loose: DiffOptions = { floatTolerance: 1e-9, ignoreArrayOrder: false, ignore: [] };
const root = parsePath('$');

function diff(
  a: unknown,
  b: unknown,
  options: Partial<DiffOptions> & { ignorePaths?: string[] } = {},
): string[] {
  const { ignorePaths = [], ...rest } = options;
  return diffValues(a, b, root, {
    ...loose,
    ...rest,
    ignore: ignorePaths.map((p) => parsePath(p)),
  });
}

describe('numbersEqual', () => {
  it('is absolute below 1 and relative above', () => {
    expect(numbersEqual(0, 1e-10, 1e-9)).toBe(true);
    expect(numbersEqual(0, 2e-9, 1e-9)).toBe(false);
    expect(numbersEqual(1e6, 1e6 + 1e-4, 1e-9)).toBe(true); // 1e-4 ≤ 1e-9·1e6
    expect(numbersEqual(1e6, 1e6 + 1e-2, 1e-9)).toBe(false);
    expect(numbersEqual(-5, -5, 0)).toBe(true);
    expect(numbersEqual(0.1 + 0.2, 0.3, 0)).toBe(false);
    expect(numbersEqual(0.1 + 0.2, 0.3, 1e-12)).toBe(true);
  });
});

describe('diffValues', () => {
  it('finds nothing in equal values, whatever the key order', () => {
    expect(
      diff({ a: 1, b: { c: [1, 'x', null, true] } }, { b: { c: [1, 'x', null, true] }, a: 1 }),
    ).toEqual([]);
    expect(diff('x', 'x')).toEqual([]);
    expect(diff(null, null)).toEqual([]);
  });

  it('reports different scalars at their paths', () => {
    expect(diff({ a: { b: 1 }, s: 'x', t: true }, { a: { b: 2 }, s: 'y', t: false })).toEqual([
      '$.a.b',
      '$.s',
      '$.t',
    ]);
    expect(diff(1, 2)).toEqual(['$']);
  });

  it('accepts float noise under the tolerance in nested objects and arrays', () => {
    const a = { out: { probs: [0.1, 0.2, 0.7], meta: { temp: 1.000000000001 } } };
    const b = { out: { probs: [0.1 + 1e-12, 0.2 - 1e-12, 0.7], meta: { temp: 1 } } };
    expect(diff(a, b)).toEqual([]);
    expect(diffValues(a, b, root, exact)).toEqual([
      '$.out.meta.temp',
      '$.out.probs[0]',
      '$.out.probs[1]',
    ]);
    expect(diff({ x: [0.5] }, { x: [0.5001] })).toEqual(['$.x[0]']);
  });

  it('reports a key added or removed at that key', () => {
    expect(diff({ a: 1 }, { a: 1, b: { deep: 1 } })).toEqual(['$.b']);
    expect(diff({ a: 1, b: 2 }, { a: 1 })).toEqual(['$.b']);
    expect(diff({ a: null }, {})).toEqual(['$.a']); // null is present, not missing
  });

  it('reports type changes at that path, without descending', () => {
    expect(diff({ a: 1 }, { a: '1' })).toEqual(['$.a']);
    expect(diff({ a: [1] }, { a: { 0: 1 } })).toEqual(['$.a']);
    expect(diff({ a: null }, { a: 0 })).toEqual(['$.a']);
    expect(diff({ a: { b: 1 } }, { a: null })).toEqual(['$.a']);
    expect(diff([], {})).toEqual(['$']);
  });

  it('compares arrays by index and reports extra elements at their index', () => {
    expect(diff([1, 2, 3], [1, 3, 2])).toEqual(['$[1]', '$[2]']);
    expect(diff({ items: [{ s: 1 }] }, { items: [{ s: 1 }, { s: 2 }, { s: 3 }] })).toEqual([
      '$.items[1]',
      '$.items[2]',
    ]);
    expect(diff({ items: [{ s: 1 }, { s: 2 }] }, { items: [] })).toEqual([
      '$.items[0]',
      '$.items[1]',
    ]);
  });

  it('prints keys that are not identifiers bracketed', () => {
    expect(
      diff({ 'weird key': 1, "it's": 1, '0': 1 }, { 'weird key': 2, "it's": 2, '0': 2 }),
    ).toEqual(["$['0']", "$['it\\'s']", "$['weird key']"]);
  });

  it('returns paths sorted and unique', () => {
    const paths = diff(
      { z: 1, a: [1, 2], m: { b: 1, a: 1 } },
      { z: 2, a: [2, 1], m: { b: 2, a: 2 }, n: 1 },
    );
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths).toEqual(['$.a[0]', '$.a[1]', '$.m.a', '$.m.b', '$.n', '$.z']);
  });

  describe('ignoreArrayOrder', () => {
    const unordered = { ignoreArrayOrder: true };

    it('treats arrays as multisets', () => {
      expect(diff({ tags: ['a', 'b', 'c'] }, { tags: ['c', 'a', 'b'] }, unordered)).toEqual([]);
      expect(
        diff(
          { xs: [{ id: 1, v: 'x' }, { id: 2 }] },
          { xs: [{ id: 2 }, { v: 'x', id: 1 }] },
          unordered,
        ),
      ).toEqual([]);
    });

    it('ignores order in nested arrays too', () => {
      expect(diff([{ t: [1, 2] }, [3, 4]], [[4, 3], { t: [2, 1] }], unordered)).toEqual([]);
    });

    it('reports a differing array once, at its own path', () => {
      expect(diff({ tags: ['a', 'b'] }, { tags: ['a', 'c'] }, unordered)).toEqual(['$.tags']);
      expect(diff({ tags: ['a', 'a', 'b'] }, { tags: ['a', 'b', 'b'] }, unordered)).toEqual([
        '$.tags',
      ]); // multiplicity counts
      expect(diff({ tags: ['a'] }, { tags: ['a', 'a'] }, unordered)).toEqual(['$.tags']);
      expect(diff({ tags: [1] }, { tags: ['1'] }, unordered)).toEqual(['$.tags']);
    });

    it('still diffs objects around arrays field by field', () => {
      expect(diff({ a: 1, tags: ['x', 'y'] }, { a: 2, tags: ['y', 'x'] }, unordered)).toEqual([
        '$.a',
      ]);
    });

    it('compares elements exactly (canonical JSON), without the float tolerance', () => {
      expect(diff({ xs: [0.1, 0.2] }, { xs: [0.2, 0.1 + 1e-15] }, unordered)).toEqual(['$.xs']);
    });
  });

  describe('ignorePaths', () => {
    const a = {
      id: 'r1',
      ts: 1,
      result: { label: 'cat', debug: { took: 3 } },
      items: [
        { s: 1, t: 1 },
        { s: 2, t: 2 },
      ],
    };
    const b = {
      id: 'r2',
      ts: 2,
      result: { label: 'cat', debug: { took: 9, host: 'h' } },
      items: [
        { s: 1, t: 7 },
        { s: 2, t: 8 },
      ],
    };

    it('leaves out exact paths', () => {
      expect(diff(a, b)).toEqual([
        '$.id',
        '$.items[0].t',
        '$.items[1].t',
        '$.result.debug.host',
        '$.result.debug.took',
        '$.ts',
      ]);
      expect(diff(a, b, { ignorePaths: ['$.id', '$.ts'] })).toEqual([
        '$.items[0].t',
        '$.items[1].t',
        '$.result.debug.host',
        '$.result.debug.took',
      ]);
    });

    it('leaves out everything under a prefix, at segment boundaries only', () => {
      expect(diff(a, b, { ignorePaths: ['$.result.debug', '$.items', '$.i', '$.t'] })).toEqual([
        '$.id',
        '$.ts',
      ]);
    });

    it('matches any one segment with a wildcard', () => {
      expect(diff(a, b, { ignorePaths: ['$.items[*].t', '$.*.debug', '$.id', '$.ts'] })).toEqual(
        [],
      );
      expect(diff(a, b, { ignorePaths: ['$.items[1].t', '$.result', '$.id', '$.ts'] })).toEqual([
        '$.items[0].t',
      ]);
    });

    it('accepts any spelling of a path', () => {
      expect(diff({ 'a b': 1, c: 1 }, { 'a b': 2, c: 1 }, { ignorePaths: ['$["a b"]'] })).toEqual(
        [],
      );
      expect(diff({ c: 1 }, { c: 2 }, { ignorePaths: ["$['c']"] })).toEqual([]);
    });

    it('applies to added and removed keys', () => {
      expect(diff({ a: 1 }, { a: 1, debug: 1 }, { ignorePaths: ['$.debug'] })).toEqual([]);
      expect(diff({ a: 1, debug: 1 }, { a: 1 }, { ignorePaths: ['$.debug'] })).toEqual([]);
      expect(diff([1], [1, 2], { ignorePaths: ['$[1]'] })).toEqual([]);
    });

    it('ignores the whole value when a pattern covers the root', () => {
      expect(diff({ a: 1 }, { a: 2 }, { ignorePaths: ['$'] })).toEqual([]);
      expect(
        diffValues({ a: 1 }, { a: 2 }, parsePath('$.out'), {
          ...loose,
          ignore: [parsePath('$.out')],
        }),
      ).toEqual([]);
      expect(
        diffValues({ a: 1 }, { a: 2 }, parsePath('$.out'), {
          ...loose,
          ignore: [parsePath('$.other')],
        }),
      ).toEqual(['$.out.a']);
      expect(
        diffValues({ a: 1 }, { a: 2 }, parsePath('$.out'), {
          ...loose,
          ignore: [parsePath('$.out.a')],
        }),
      ).toEqual([]);
    });

    it('applies inside unordered arrays (by the element’s own index)', () => {
      const x = {
        items: [
          { s: 1, t: 1 },
          { s: 2, t: 2 },
        ],
      };
      const y = {
        items: [
          { s: 2, t: 9 },
          { s: 1, t: 8 },
        ],
      };
      expect(diff(x, y, { ignoreArrayOrder: true })).toEqual(['$.items']);
      expect(diff(x, y, { ignoreArrayOrder: true, ignorePaths: ['$.items[*].t'] })).toEqual([]);
      expect(diff([1, 2, 3], [2, 1, 4], { ignoreArrayOrder: true, ignorePaths: ['$[2]'] })).toEqual(
        [],
      );
    });
  });
});

describe('unorderedCanonical', () => {
  it('sorts keys and array elements at every depth', () => {
    expect(unorderedCanonical({ b: [3, { y: 1, x: [2, 1] }], a: 'q' }, 0, [])).toBe(
      '{"a":"q","b":[3,{"x":[1,2],"y":1}]}',
    );
  });
});
