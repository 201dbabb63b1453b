import { describe, expect, it } from 'vitest';
import { parseJsonPath, selectJsonPath } from './json-path.ts';

describe('json path (core dialect, no wildcards)', () => {
  it('rejects bad syntax and wildcards', () => {
    for (const bad of ['a', '$.', '$[x]', '$[0', '$a', '$.items[*]']) expect(() => parseJsonPath(bad)).toThrow();
  });

  it('selects values and reports missing steps as undefined', () => {
    const v = { a: [{ b: 1 }, null], c: { 'x y': false } };
    expect(selectJsonPath(v, parseJsonPath('$.a[0].b'))).toBe(1);
    expect(selectJsonPath(v, parseJsonPath('$.a[1]'))).toBeNull();
    expect(selectJsonPath(v, parseJsonPath('$.c["x y"]'))).toBe(false);
    expect(selectJsonPath(v, parseJsonPath('$.a[2]'))).toBeUndefined();
    expect(selectJsonPath(v, parseJsonPath('$.a.b'))).toBeUndefined();
    expect(selectJsonPath(v, parseJsonPath('$.toString'))).toBeUndefined();
  });
});
