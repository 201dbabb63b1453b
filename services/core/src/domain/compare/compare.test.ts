import { describe, expect, it } from 'vitest';
import { isUmbraError } from '../../errors.ts';
import type { Comparison } from '../events.ts';
import {
  compare,
  createComparator,
  MAX_DIFF_PATHS,
  REL_ERROR_FLOOR,
  unreadableComparison,
} from './compare.ts';
import { parseOutput } from './json.ts';
import type { OutputSpec } from './spec.ts';

const j = (v: unknown): string => JSON.stringify(v);

const UNREADABLE: Comparison = {
  agree: false,
  baselineLabel: null,
  candidateLabel: null,
  baselineValue: null,
  candidateValue: null,
  absError: null,
  relError: null,
  withinTolerance: null,
  baselineRanking: [],
  candidateRanking: [],
  topkOverlap: null,
  jaccard: null,
  rbo: null,
  diffPaths: [],
};

const specs: OutputSpec[] = [
  { task: 'classification', label: '$.label', score: '$.score' },
  { task: 'regression', value: '$.value' },
  { task: 'ranking', ranking: '$.items' },
  { task: 'structured' },
];

describe('compare, for every task', () => {
  it.each(specs)('gives the unreadable comparison for failed calls and bad JSON (%j)', (spec) => {
    const good = j({ label: 'a', score: 0.5, value: 1, items: ['x'] });
    for (const [b, c] of [
      [null, good],
      [good, null],
      [null, null],
      ['{"label":', good],
      [good, 'not json'],
      [good, ''],
    ] as const) {
      expect(compare(spec, b, c)).toEqual(UNREADABLE);
    }
  });

  it.each(specs)('agrees on identical outputs with no diffPaths (%j)', (spec) => {
    const out = j({ label: 'a', score: 0.5, value: 1, items: ['x', 'y'] });
    const r = compare(spec, out, out);
    expect(r.agree).toBe(true);
    expect(r.diffPaths).toEqual([]);
  });

  it('returns a fresh object each time', () => {
    const a = unreadableComparison();
    a.diffPaths.push('$.x');
    expect(unreadableComparison().diffPaths).toEqual([]);
    const spec = specs[0] as OutputSpec;
    expect(compare(spec, null, null)).not.toBe(compare(spec, null, null));
  });

  it('rejects an invalid spec with CONFIG_INVALID', () => {
    let error: unknown;
    try {
      compare({ task: 'classification', label: '$.[0' }, '{}', '{}');
    } catch (e) {
      error = e;
    }
    expect(isUmbraError(error, 'CONFIG_INVALID')).toBe(true);
  });
});

describe('classification', () => {
  const spec: OutputSpec = {
    task: 'classification',
    label: '$.label',
    score: '$.score',
    scoreTolerance: 0.05,
  };

  it('agrees on equal labels and measures the score change', () => {
    const r = compare(spec, j({ label: 'cat', score: 0.9 }), j({ score: 0.8, label: 'cat' }));
    expect(r).toMatchObject({
      agree: true,
      baselineLabel: 'cat',
      candidateLabel: 'cat',
      baselineValue: 0.9,
      candidateValue: 0.8,
    });
    expect(r.absError).toBeCloseTo(0.1, 12);
    expect(r.relError).toBeCloseTo(0.1 / 0.9, 12);
    expect(r.withinTolerance).toBe(false);
    expect(r.diffPaths).toEqual(['$.score']);
    expect(r).toMatchObject({
      baselineRanking: [],
      candidateRanking: [],
      topkOverlap: null,
      jaccard: null,
      rbo: null,
    });
  });

  it('is within tolerance when |Δscore| ≤ scoreTolerance', () => {
    expect(
      compare(spec, j({ label: 'cat', score: 0.9 }), j({ label: 'cat', score: 0.86 }))
        .withinTolerance,
    ).toBe(true);
    expect(
      compare(spec, j({ label: 'cat', score: 0.9 }), j({ label: 'cat', score: 0.9 }))
        .withinTolerance,
    ).toBe(true);
  });

  it('disagrees on a label flip', () => {
    const r = compare(spec, j({ label: 'cat', score: 0.6 }), j({ label: 'dog', score: 0.6 }));
    expect(r).toMatchObject({
      agree: false,
      baselineLabel: 'cat',
      candidateLabel: 'dog',
      absError: 0,
      withinTolerance: true,
    });
    expect(r.diffPaths).toEqual(['$.label']);
  });

  it('ignores key order and whitespace', () => {
    const r = compare(spec, '{"label":"cat","score":0.9}', '{ "score" : 0.9 , "label" : "cat" }');
    expect(r).toMatchObject({ agree: true, absError: 0, diffPaths: [] });
  });

  it('prints non-string labels as canonical JSON', () => {
    expect(compare(spec, j({ label: 3 }), j({ label: 3.0 }))).toMatchObject({
      agree: true,
      baselineLabel: '3',
      candidateLabel: '3',
    });
    expect(compare(spec, j({ label: true }), j({ label: false }))).toMatchObject({
      agree: false,
      baselineLabel: 'true',
      candidateLabel: 'false',
    });
    expect(compare(spec, '{"label":{"b":1,"a":[2]}}', '{"label":{"a":[2],"b":1}}')).toMatchObject({
      agree: true,
      baselineLabel: '{"a":[2],"b":1}',
    });
    expect(compare(spec, j({ label: null }), j({ label: null }))).toMatchObject({
      agree: true,
      baselineLabel: 'null',
    });
  });

  it('does not agree when a label is missing', () => {
    const r = compare(spec, j({ label: 'cat', score: 0.9 }), j({ cls: 'cat', score: 0.9 }));
    expect(r).toMatchObject({
      agree: false,
      baselineLabel: 'cat',
      candidateLabel: null,
      absError: 0,
    });
    expect(r.diffPaths).toEqual(['$.cls', '$.label']);
    // Both missing: a misconfigured path never makes everything agree.
    expect(compare(spec, j({ cls: 'cat' }), j({ cls: 'cat' }))).toMatchObject({
      agree: false,
      baselineLabel: null,
      candidateLabel: null,
    });
  });

  it('leaves score metrics null when a score is missing or not a finite number', () => {
    for (const bad of [
      { label: 'cat' },
      { label: 'cat', score: '0.9' },
      { label: 'cat', score: null },
    ]) {
      const r = compare(spec, j({ label: 'cat', score: 0.9 }), j(bad));
      expect(r).toMatchObject({
        agree: true,
        baselineValue: 0.9,
        candidateValue: null,
        absError: null,
        relError: null,
        withinTolerance: null,
      });
    }
    const nan = compare(spec, '{"label":"cat","score":NaN}', '{"label":"cat","score":0.9}');
    expect(nan).toMatchObject({
      agree: true,
      baselineValue: null,
      candidateValue: 0.9,
      absError: null,
    });
    expect(nan.diffPaths).toEqual(['$.score']);
  });

  it('measures nothing about scores without a score path', () => {
    const r = compare(
      { task: 'classification', label: '$.label' },
      j({ label: 'a', score: 1 }),
      j({ label: 'a', score: 0 }),
    );
    expect(r).toMatchObject({
      agree: true,
      baselineValue: null,
      absError: null,
      withinTolerance: null,
      diffPaths: ['$.score'],
    });
  });

  it('reads labels at nested and quoted paths', () => {
    const nested: OutputSpec = {
      task: 'classification',
      label: "$.predictions[0]['class name']",
      score: '$.predictions[0].p',
    };
    const r = compare(
      nested,
      j({ predictions: [{ 'class name': 'x', p: 0.7 }] }),
      j({ predictions: [{ 'class name': 'x', p: 0.75 }] }),
    );
    expect(r).toMatchObject({
      agree: true,
      baselineLabel: 'x',
      baselineValue: 0.7,
      candidateValue: 0.75,
    });
    expect(r.diffPaths).toEqual(['$.predictions[0].p']);
  });
});

describe('regression', () => {
  const spec: OutputSpec = { task: 'regression', value: '$.value', atol: 0.001, rtol: 0.01 };

  it('measures absolute and relative error, within atol + rtol·|b|', () => {
    const r = compare(spec, j({ value: 100 }), j({ value: 100.5 }));
    expect(r).toMatchObject({
      agree: true,
      withinTolerance: true,
      baselineValue: 100,
      candidateValue: 100.5,
      absError: 0.5,
    });
    expect(r.relError).toBeCloseTo(0.005, 12);
    expect(r.diffPaths).toEqual(['$.value']);
    const far = compare(spec, j({ value: 100 }), j({ value: 98.9 }));
    expect(far).toMatchObject({ agree: false, withinTolerance: false });
    expect(far.absError).toBeCloseTo(1.1, 12);
  });

  it('uses the numpy isclose convention: the baseline is the reference', () => {
    // The tolerance scales with |b|, so swapping the sides can change the answer.
    const s: OutputSpec = { task: 'regression', value: '$', atol: 0, rtol: 0.01 };
    expect(compare(s, '100', '101').withinTolerance).toBe(true);
    expect(compare(s, '101', '100').withinTolerance).toBe(true);
    expect(compare(s, '100', '101.0001').withinTolerance).toBe(false);
    expect(compare(s, '101.0001', '100').withinTolerance).toBe(true); // 1.0001 ≤ 1.010001
  });

  it('applies the defaults atol 0, rtol 0.01', () => {
    const s: OutputSpec = { task: 'regression', value: '$.value' };
    expect(compare(s, j({ value: 10 }), j({ value: 10.1 })).agree).toBe(true);
    expect(compare(s, j({ value: 10 }), j({ value: 10.11 })).agree).toBe(false);
    expect(compare(s, j({ value: 0 }), j({ value: 1e-300 })).agree).toBe(false); // atol 0: zero is exact
  });

  it('floors the relative error denominator for a zero baseline', () => {
    const r = compare(spec, j({ value: 0 }), j({ value: 0.0005 }));
    expect(r).toMatchObject({ agree: true, absError: 0.0005 });
    expect(r.relError).toBeCloseTo(0.0005 / REL_ERROR_FLOOR, 0);
    expect(Number.isFinite(r.relError)).toBe(true);
    expect(compare(spec, j({ value: 0 }), j({ value: 0 }))).toMatchObject({
      relError: 0,
      absError: 0,
    });
  });

  it('handles negative values', () => {
    const r = compare(spec, j({ value: -2 }), j({ value: -2.01 }));
    expect(r).toMatchObject({ agree: true, baselineValue: -2, candidateValue: -2.01 });
    expect(r.relError).toBeCloseTo(0.005, 12);
  });

  it('treats a missing or non-numeric value as unreadable, keeping the readable side', () => {
    for (const bad of [
      '{"other":1}',
      '{"value":"1.5"}',
      '{"value":null}',
      '{"value":[1]}',
      '{"value":NaN}',
      '{"value":Infinity}',
      '{"value":"NaN"}',
    ]) {
      const r = compare(spec, j({ value: 1.5 }), bad);
      expect(r).toMatchObject({
        agree: false,
        baselineValue: 1.5,
        candidateValue: null,
        absError: null,
        relError: null,
        withinTolerance: null,
      });
      expect(r.diffPaths.length).toBeGreaterThan(0);
    }
    expect(compare(spec, '{"value":NaN}', '{"value":NaN}')).toMatchObject({
      agree: false,
      withinTolerance: null,
      diffPaths: [],
    });
  });
});

describe('ranking', () => {
  const spec: OutputSpec = { task: 'ranking', ranking: '$.items', k: 3, rboP: 0.9 };

  it('agrees on the same top-k order and stores the top-k ids', () => {
    const r = compare(spec, j({ items: ['a', 'b', 'c', 'd'] }), j({ items: ['a', 'b', 'c', 'z'] }));
    expect(r).toMatchObject({
      agree: true,
      baselineRanking: ['a', 'b', 'c'],
      candidateRanking: ['a', 'b', 'c'],
      topkOverlap: 1,
      jaccard: 1,
    });
    expect(r.rbo).toBeCloseTo(1 - 0.9 ** 3, 12);
    expect(r.diffPaths).toEqual(['$.items[3]']);
    expect(r).toMatchObject({
      baselineLabel: null,
      baselineValue: null,
      absError: null,
      withinTolerance: null,
    });
  });

  it('disagrees on a swap but keeps full overlap', () => {
    const r = compare(spec, j({ items: ['a', 'b', 'c'] }), j({ items: ['b', 'a', 'c'] }));
    expect(r).toMatchObject({ agree: false, topkOverlap: 1, jaccard: 1 });
    expect(r.rbo).toBeCloseTo(0.171, 12);
  });

  it('scores disjoint rankings 0', () => {
    expect(
      compare(spec, j({ items: ['a', 'b', 'c'] }), j({ items: ['x', 'y', 'z'] })),
    ).toMatchObject({
      agree: false,
      topkOverlap: 0,
      jaccard: 0,
      rbo: 0,
    });
  });

  it('reads ids from objects through idField, as a key or a relative path', () => {
    const byKey: OutputSpec = { task: 'ranking', ranking: '$.results', idField: 'doc_id', k: 10 };
    const b = j({
      results: [
        { doc_id: 'd1', s: 0.9 },
        { doc_id: 'd2', s: 0.8 },
      ],
    });
    const c = j({
      results: [
        { doc_id: 'd1', s: 0.7 },
        { doc_id: 'd2', s: 0.6 },
      ],
    });
    expect(compare(byKey, b, c)).toMatchObject({
      agree: true,
      baselineRanking: ['d1', 'd2'],
      topkOverlap: 1,
    });
    expect(compare(byKey, b, c).diffPaths).toEqual(['$.results[0].s', '$.results[1].s']);

    const byPath: OutputSpec = { task: 'ranking', ranking: '$', idField: '$.doc.id' };
    expect(
      compare(byPath, j([{ doc: { id: 7 } }, { doc: { id: 8 } }]), j([{ doc: { id: 8 } }])),
    ).toMatchObject({
      baselineRanking: ['7', '8'],
      candidateRanking: ['8'],
      topkOverlap: 0.5,
      agree: false,
    });
  });

  it('prints numeric ids as strings', () => {
    expect(compare(spec, j({ items: [1, 2.5, 3] }), j({ items: ['1', '2.5', 3] }))).toMatchObject({
      agree: true,
      baselineRanking: ['1', '2.5', '3'],
    });
  });

  it('compares at the longer list when k exceeds both lengths', () => {
    const s: OutputSpec = { task: 'ranking', ranking: '$.items', k: 10, rboP: 0.9 };
    const r = compare(s, j({ items: ['a', 'b', 'c'] }), j({ items: ['a'] }));
    expect(r).toMatchObject({
      agree: false,
      baselineRanking: ['a', 'b', 'c'],
      candidateRanking: ['a'],
    });
    expect(r.topkOverlap).toBeCloseTo(1 / 3, 12);
    expect(r.rbo).toBeCloseTo(0.172, 12);
    const same = compare(s, j({ items: ['a', 'b'] }), j({ items: ['a', 'b'] }));
    expect(same).toMatchObject({ agree: true, topkOverlap: 1 });
    expect(same.rbo).toBeCloseTo(1 - 0.9 ** 2, 12);
  });

  it('handles empty rankings', () => {
    expect(compare(spec, j({ items: [] }), j({ items: [] }))).toMatchObject({
      agree: true,
      baselineRanking: [],
      topkOverlap: 1,
      jaccard: 1,
      rbo: 0,
      diffPaths: [],
    });
    expect(compare(spec, j({ items: ['a'] }), j({ items: [] }))).toMatchObject({
      agree: false,
      baselineRanking: ['a'],
      candidateRanking: [],
      topkOverlap: 0,
      jaccard: 0,
      rbo: 0,
      diffPaths: ['$.items[0]'],
    });
  });

  it('keeps the first rank of a repeated id', () => {
    const r = compare(spec, j({ items: ['a', 'a', 'b', 'c'] }), j({ items: ['a', 'b', 'c'] }));
    expect(r).toMatchObject({ agree: true, baselineRanking: ['a', 'b', 'c'] });
  });

  it('treats a missing list or an item without an id as unreadable, keeping the readable side', () => {
    const good = j({ items: ['a', 'b'] });
    for (const bad of [
      j({}),
      j({ items: 'a,b' }),
      j({ items: ['a', null] }),
      j({ items: [{ id: 'a' }] }),
      j({ items: [['a']] }),
      j({ items: [true] }),
    ]) {
      const r = compare(spec, good, bad);
      expect(r).toMatchObject({
        agree: false,
        baselineRanking: ['a', 'b'],
        candidateRanking: [],
        topkOverlap: null,
        jaccard: null,
        rbo: null,
      });
    }
    const withField: OutputSpec = { task: 'ranking', ranking: '$.items', idField: 'id' };
    expect(
      compare(withField, j({ items: [{ id: 'a' }] }), j({ items: [{ key: 'a' }] })),
    ).toMatchObject({ rbo: null, agree: false });
  });

  it('reads only the first k items, so a bad item past k does not matter', () => {
    expect(
      compare(spec, j({ items: ['a', 'b', 'c', null] }), j({ items: ['a', 'b', 'c'] })),
    ).toMatchObject({ agree: true });
  });
});

describe('structured', () => {
  it('agrees when nothing differs, and lists the differing paths otherwise', () => {
    const spec: OutputSpec = { task: 'structured' };
    expect(compare(spec, '{"a":{"b":[1,2]},"c":"x"}', '{"c":"x","a":{"b":[1,2.0]}}')).toMatchObject(
      { agree: true, diffPaths: [] },
    );
    const r = compare(
      spec,
      j({ a: { b: [1, 2] }, c: 'x', gone: 1 }),
      j({ a: { b: [1, 3] }, c: 'y', added: { z: 1 } }),
    );
    expect(r).toMatchObject({ agree: false, diffPaths: ['$.a.b[1]', '$.added', '$.c', '$.gone'] });
    expect(r).toMatchObject({
      baselineLabel: null,
      absError: null,
      topkOverlap: null,
      withinTolerance: null,
    });
  });

  it('accepts float noise under floatTolerance in nested objects', () => {
    const b = j({ entities: [{ box: [0.1, 0.2, 0.3], conf: 0.98765 }], meta: { ms: 12.5 } });
    const c = j({
      entities: [{ box: [0.1 + 1e-12, 0.2, 0.3 - 1e-12], conf: 0.98765 + 1e-11 }],
      meta: { ms: 12.5 },
    });
    expect(compare({ task: 'structured' }, b, c)).toMatchObject({ agree: true, diffPaths: [] });
    expect(compare({ task: 'structured', floatTolerance: 0 }, b, c).diffPaths).toEqual([
      '$.entities[0].box[0]',
      '$.entities[0].box[2]',
      '$.entities[0].conf',
    ]);
    expect(
      compare({ task: 'structured', floatTolerance: 1e-3 }, j({ x: 1000 }), j({ x: 1000.9 })),
    ).toMatchObject({ agree: true });
    expect(
      compare({ task: 'structured', floatTolerance: 1e-3 }, j({ x: 1000 }), j({ x: 1001.1 })),
    ).toMatchObject({ agree: false });
  });

  it('ignores array order when asked, reporting a differing array once', () => {
    const spec: OutputSpec = { task: 'structured', ignoreArrayOrder: true };
    expect(
      compare(spec, j({ tags: ['a', 'b'], n: 1 }), j({ tags: ['b', 'a'], n: 1 })),
    ).toMatchObject({ agree: true });
    expect(compare(spec, j({ tags: ['a', 'b'] }), j({ tags: ['b', 'c'] }))).toMatchObject({
      agree: false,
      diffPaths: ['$.tags'],
    });
    expect(
      compare({ task: 'structured' }, j({ tags: ['a', 'b'] }), j({ tags: ['b', 'a'] })).diffPaths,
    ).toEqual(['$.tags[0]', '$.tags[1]']);
  });

  it('reports added and removed keys, and type changes, at their paths', () => {
    const spec: OutputSpec = { task: 'structured' };
    expect(compare(spec, j({ a: 1 }), j({ a: 1, b: null })).diffPaths).toEqual(['$.b']);
    expect(compare(spec, j({ a: 1, b: { c: 1 } }), j({ a: 1 })).diffPaths).toEqual(['$.b']);
    expect(compare(spec, j({ a: 1 }), j({ a: [1] })).diffPaths).toEqual(['$.a']);
    expect(compare(spec, j({ a: '1' }), j({ a: 1 })).diffPaths).toEqual(['$.a']);
    expect(compare(spec, j({ a: 1 }), j([1])).diffPaths).toEqual(['$']);
  });

  it('leaves out ignorePaths (exact, prefix, wildcard)', () => {
    const spec: OutputSpec = {
      task: 'structured',
      ignorePaths: ['$.requestId', '$.debug', '$.items[*].latency'],
    };
    const b = j({
      requestId: 'r1',
      debug: { host: 'a' },
      items: [{ v: 1, latency: 3 }],
      label: 'x',
    });
    const c = j({
      requestId: 'r2',
      debug: { host: 'b', extra: 1 },
      items: [{ v: 1, latency: 9 }],
      label: 'x',
    });
    expect(compare(spec, b, c)).toMatchObject({ agree: true, diffPaths: [] });
    const c2 = j({ requestId: 'r2', items: [{ v: 2, latency: 9 }], label: 'y' });
    expect(compare(spec, b, c2).diffPaths).toEqual(['$.items[0].v', '$.label']);
  });

  it('compares under root and reports absolute paths', () => {
    const spec: OutputSpec = { task: 'structured', root: '$.result', ignorePaths: ['$.result.id'] };
    const b = j({ took: 1, result: { id: 1, a: { b: 1 } } });
    expect(compare(spec, b, j({ took: 2, result: { id: 2, a: { b: 1 } } }))).toMatchObject({
      agree: true,
      diffPaths: [],
    });
    expect(compare(spec, b, j({ took: 1, result: { id: 1, a: { b: 2 } } })).diffPaths).toEqual([
      '$.result.a.b',
    ]);
  });

  it('counts a missing root as a difference at the root', () => {
    const spec: OutputSpec = { task: 'structured', root: '$["the result"]' };
    expect(compare(spec, j({ 'the result': 1 }), j({}))).toMatchObject({
      agree: false,
      diffPaths: ["$['the result']"],
    });
    expect(compare(spec, j({}), j({}))).toMatchObject({
      agree: false,
      diffPaths: ["$['the result']"],
    });
  });

  it('compares NaN-like values as the strings they were read as', () => {
    const spec: OutputSpec = { task: 'structured' };
    expect(compare(spec, '{"x":NaN,"y":1}', '{"x":NaN,"y":1}')).toMatchObject({ agree: true });
    expect(compare(spec, '{"x":NaN,"y":1}', '{"x": NaN, "y": 1}')).toMatchObject({ agree: true });
    expect(compare(spec, '{"x":NaN}', '{"x":0}')).toMatchObject({
      agree: false,
      diffPaths: ['$.x'],
    });
    expect(compare(spec, '{"x":Infinity}', '{"x":-Infinity}')).toMatchObject({
      agree: false,
      diffPaths: ['$.x'],
    });
  });

  it('caps diffPaths at MAX_DIFF_PATHS, keeping the first in sorted order, but still disagrees', () => {
    const many = (offset: number): string =>
      j(
        Object.fromEntries(
          Array.from({ length: 80 }, (_, i) => [`k${String(i).padStart(3, '0')}`, i + offset]),
        ),
      );
    const r = compare({ task: 'structured' }, many(0), many(1));
    expect(r.agree).toBe(false);
    expect(r.diffPaths).toHaveLength(MAX_DIFF_PATHS);
    expect(r.diffPaths[0]).toBe('$.k000');
    expect(r.diffPaths[MAX_DIFF_PATHS - 1]).toBe('$.k049');
    expect(
      compare({ task: 'classification', label: '$.k000' }, many(0), many(1)).diffPaths,
    ).toHaveLength(MAX_DIFF_PATHS);
  });
});

describe('createComparator', () => {
  it('exposes the resolved spec and compares parsed outputs (one baseline, many candidates)', () => {
    const comparator = createComparator({ task: 'regression', value: '$.y' });
    expect(comparator.spec).toEqual({ task: 'regression', value: '$.y', atol: 0, rtol: 0.01 });
    const baseline = parseOutput(j({ y: 2 }));
    const results = [j({ y: 2 }), j({ y: 2.1 }), null].map((c) =>
      comparator.compareParsed(baseline, parseOutput(c)),
    );
    expect(results.map((r) => r.agree)).toEqual([true, false, false]);
    expect(comparator.compare(j({ y: 2 }), j({ y: 2.01 }))).toEqual(
      comparator.compareParsed(baseline, parseOutput(j({ y: 2.01 }))),
    );
  });
});
