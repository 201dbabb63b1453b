import { describe, expect, it } from 'vitest';
import { isUmbraError } from '../errors.ts';
import { formatPath, getPath, parsePath, pathCovers } from './json-path.ts';

const doc = {
  label: 'cat',
  a: { b: { c: 1 } },
  items: [{ score: 0.5 }, { score: 0.7, tags: ['x', 'y'] }],
  'weird key': { "it's": true },
  'a.b': 'dotted',
  '0': 'zero',
  nothing: null,
  zero: 0,
};

describe('getPath', () => {
  it('reads the root', () => {
    expect(getPath(doc, '$')).toBe(doc);
    expect(getPath(42, '$')).toBe(42);
  });

  it('reads dotted and indexed paths', () => {
    expect(getPath(doc, '$.label')).toBe('cat');
    expect(getPath(doc, '$.a.b.c')).toBe(1);
    expect(getPath(doc, '$.items[0].score')).toBe(0.5);
    expect(getPath(doc, '$.items[1].tags[1]')).toBe('y');
    expect(getPath([[1, 2], [3]], '$[1][0]')).toBe(3);
  });

  it('reads quoted keys, with escapes', () => {
    expect(getPath(doc, "$['weird key']")).toEqual({ "it's": true });
    expect(getPath(doc, '$["weird key"]')).toEqual({ "it's": true });
    expect(getPath(doc, "$['weird key']['it\\'s']")).toBe(true);
    expect(getPath(doc, "$['a.b']")).toBe('dotted');
    expect(getPath({ 'x\\y': 1 }, "$['x\\\\y']")).toBe(1);
    expect(getPath({ '': 1 }, "$['']")).toBe(1);
  });

  it('returns falsy values as they are', () => {
    expect(getPath(doc, '$.nothing')).toBeNull();
    expect(getPath(doc, '$.zero')).toBe(0);
  });

  it('returns undefined for anything absent or of the wrong type', () => {
    expect(getPath(doc, '$.missing')).toBeUndefined();
    expect(getPath(doc, '$.a.missing.deeper')).toBeUndefined();
    expect(getPath(doc, '$.items[2]')).toBeUndefined();
    expect(getPath(doc, '$.label[0]')).toBeUndefined(); // no indexing into strings
    expect(getPath(doc, '$.label.length')).toBeUndefined();
    expect(getPath(doc, '$.items.length')).toBeUndefined(); // keys do not read arrays
    expect(getPath(doc, '$[0]')).toBeUndefined(); // indices do not read objects
    expect(getPath(doc, "$['0']")).toBe('zero');
    expect(getPath(doc, '$.nothing.x')).toBeUndefined();
    expect(getPath(null, '$.a')).toBeUndefined();
    expect(getPath(undefined, '$')).toBeUndefined();
  });

  it('reads own properties only', () => {
    expect(getPath({}, '$.constructor')).toBeUndefined();
    expect(getPath({}, '$.toString')).toBeUndefined();
    expect(getPath({}, '$.__proto__')).toBeUndefined();
    expect(getPath(JSON.parse('{"__proto__": 5}'), '$.__proto__')).toBe(5);
  });

  it('refuses to read a wildcard as one value', () => {
    expect(() => getPath(doc, '$.items[*]')).toThrowError(/wildcard/);
  });
});

describe('parsePath', () => {
  it.each([
    ['$', []],
    ['$.a', [{ kind: 'key', key: 'a' }]],
    ['$.a-b_c$1', [{ kind: 'key', key: 'a-b_c$1' }]],
    ['$[12]', [{ kind: 'index', index: 12 }]],
    ['$.é', [{ kind: 'key', key: 'é' }]],
    [
      '$.items[*].id',
      [{ kind: 'key', key: 'items' }, { kind: 'wildcard' }, { kind: 'key', key: 'id' }],
    ],
    ['$.*', [{ kind: 'wildcard' }]],
  ])('parses %s', (path, segments) => {
    expect(parsePath(path)).toEqual(segments);
  });

  it.each([
    ['', 0],
    ['a.b', 0],
    ['$.', 2],
    ['$..a', 2],
    ['$a', 1],
    ['$.a b', 3],
    ['$[', 2],
    ['$[x]', 2],
    ['$[-1]', 2],
    ['$[1', 3],
    ['$[1.5]', 3],
    ["$['a", 4],
    ["$['a\\", 4],
    ["$['a'", 5],
    ['$.a*', 3],
    ['$.*a', 3],
    ['$[99999999999999999999]', 2],
  ])('rejects %j with CONFIG_INVALID at %i', (path, position) => {
    let error: unknown;
    try {
      parsePath(path);
    } catch (e) {
      error = e;
    }
    expect(isUmbraError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as { context: { position: number; path: string } }).context).toMatchObject({
      path,
      position,
    });
  });

  it('caches: the same path gives the same frozen segments', () => {
    const a = parsePath('$.cached.path');
    expect(parsePath('$.cached.path')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('formatPath', () => {
  it('prints identifiers dotted and everything else bracketed', () => {
    expect(formatPath(parsePath('$'))).toBe('$');
    expect(formatPath(parsePath('$["a"][0]["b c"]'))).toBe("$.a[0]['b c']");
    expect(formatPath(parsePath("$['it\\'s']"))).toBe("$['it\\'s']");
    expect(formatPath(parsePath("$['0']"))).toBe("$['0']");
    expect(formatPath(parsePath('$.a-b'))).toBe("$['a-b']");
    expect(formatPath(parsePath('$.x[*]'))).toBe('$.x[*]');
  });

  it('round-trips: parse(format(p)) = p', () => {
    for (const key of ['a', 'a b', "it's", 'back\\slash', '', '0', '[x]', 'a.b', '"q"', 'ü']) {
      const segments = [
        { kind: 'key' as const, key },
        { kind: 'index' as const, index: 3 },
      ];
      expect(parsePath(formatPath(segments))).toEqual(segments);
    }
  });
});

describe('pathCovers', () => {
  it('matches exact paths and prefixes at segment boundaries, with wildcards', () => {
    expect(pathCovers(parsePath('$.a'), parsePath('$.a'))).toBe(true);
    expect(pathCovers(parsePath('$.a'), parsePath('$.a.b[0]'))).toBe(true);
    expect(pathCovers(parsePath('$.a'), parsePath('$.ab'))).toBe(false);
    expect(pathCovers(parsePath('$.a.b'), parsePath('$.a'))).toBe(false);
    expect(pathCovers(parsePath('$.x[*].t'), parsePath('$.x[4].t'))).toBe(true);
    expect(pathCovers(parsePath('$.x[*].t'), parsePath('$.x.y.t'))).toBe(true);
    expect(pathCovers(parsePath('$[0]'), parsePath("$['0']"))).toBe(false);
  });
});
