import { describe, expect, it } from 'vitest';
import { canonicalJson, fnv1a64, outputHash, parseOutput, quoteNonFiniteTokens } from './json.ts';

/** The textbook definition, in BigInt, as an independent oracle. */
function fnv1a64Reference(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

describe('parseOutput', () => {
  it('parses JSON text', () => {
    expect(parseOutput('{"a":[1,2]}')).toEqual({
      ok: true,
      raw: '{"a":[1,2]}',
      value: { a: [1, 2] },
    });
    expect(parseOutput('"x"')).toEqual({ ok: true, raw: '"x"', value: 'x' });
    expect(parseOutput('null')).toEqual({ ok: true, raw: 'null', value: null });
  });

  it('marks a failed call (null) and unparseable text as not ok', () => {
    expect(parseOutput(null)).toEqual({ ok: false, raw: null });
    expect(parseOutput('')).toEqual({ ok: false, raw: '' });
    expect(parseOutput('{"a":')).toEqual({ ok: false, raw: '{"a":' });
    expect(parseOutput('NaNa')).toEqual({ ok: false, raw: 'NaNa' });
    expect(parseOutput("{'a':1}")).toEqual({ ok: false, raw: "{'a':1}" });
  });

  it("reads Python's bare NaN / Infinity / -Infinity as strings", () => {
    const parsed = parseOutput('{"v": NaN, "w": [Infinity, -Infinity, -1], "s": "NaN Infinity"}');
    expect(parsed.ok && parsed.value).toEqual({
      v: 'NaN',
      w: ['Infinity', '-Infinity', -1],
      s: 'NaN Infinity',
    });
    expect(parseOutput('NaN')).toMatchObject({ ok: true, value: 'NaN' });
  });
});

describe('quoteNonFiniteTokens', () => {
  it('leaves strings alone, including escaped quotes', () => {
    expect(quoteNonFiniteTokens('{"a":"NaN"}')).toBeNull();
    expect(quoteNonFiniteTokens('{"a\\"NaN":1}')).toBeNull();
    expect(quoteNonFiniteTokens('[NaN,"\\\\",Infinity]')).toBe('["NaN","\\\\","Infinity"]');
    expect(quoteNonFiniteTokens('[-Infinity]')).toBe('["-Infinity"]');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson(JSON.parse('{ "b": 1, "a": { "d": [ 2, 1 ], "c": null } }'))).toBe(
      '{"a":{"c":null,"d":[2,1]},"b":1}',
    );
  });

  it('prints equal numbers the same', () => {
    expect(canonicalJson(JSON.parse('[1.0, 1e2, -0.50]'))).toBe('[1,100,-0.5]');
  });

  it('prints scalars and undefined', () => {
    expect(canonicalJson('cat')).toBe('"cat"');
    expect(canonicalJson(3)).toBe('3');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
  });
});

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('matches a BigInt reference over UTF-8, including multi-byte and lone surrogates', () => {
    for (const text of [
      '{"label":"cat","score":0.93}',
      'é',
      '€',
      '😀 emoji',
      'x\ud800y',
      '\udc00',
      'a'.repeat(1000),
    ]) {
      expect(fnv1a64(text)).toBe(fnv1a64Reference(text));
    }
  });
});

describe('outputHash', () => {
  it('ignores key order and whitespace', () => {
    expect(outputHash('{"a":1,"b":[1,2]}')).toBe(outputHash('{ "b": [1, 2], "a": 1.0 }'));
    expect(outputHash('{"a":1,"b":[1,2]}')).toBe(fnv1a64('{"a":1,"b":[1,2]}'));
  });

  it('tells different outputs apart, including array order', () => {
    expect(outputHash('{"b":[1,2]}')).not.toBe(outputHash('{"b":[2,1]}'));
    expect(outputHash('{"a":"1"}')).not.toBe(outputHash('{"a":1}'));
  });

  it('hashes unparseable text as is and gives "" for no output', () => {
    expect(outputHash('not json')).toBe(fnv1a64('not json'));
    expect(outputHash(null)).toBe('');
    expect(outputHash('{"x": NaN}')).toBe(fnv1a64('{"x":"NaN"}'));
    expect(outputHash('{"a":1}')).toMatch(/^[0-9a-f]{16}$/);
  });
});
