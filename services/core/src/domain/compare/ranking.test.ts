import { describe, expect, it } from 'vitest';
import { rankingMetrics } from './ranking.ts';

const ids = (s: string): string[] => (s === '' ? [] : s.split(''));

/** The formulas written out literally, with set intersections at every depth, as an oracle. */
function literal(a: string[], b: string[], k: number, p: number): { rbo: number; rboExt: number } {
  const A = a.slice(0, k);
  const B = b.slice(0, k);
  const X = (d: number): number => {
    const sa = new Set(A.slice(0, d));
    return B.slice(0, d).filter((x) => sa.has(x)).length;
  };
  const depth = Math.max(A.length, B.length);
  let sum = 0;
  for (let d = 1; d <= depth; d += 1) sum += p ** (d - 1) * (X(d) / d);
  const rbo = (1 - p) * sum;
  const s = Math.min(A.length, B.length);
  const l = depth;
  if (s === 0) return { rbo, rboExt: l === 0 ? 1 : 0 };
  let first = 0;
  for (let d = 1; d <= l; d += 1) first += (X(d) / d) * p ** d;
  let second = 0;
  for (let d = s + 1; d <= l; d += 1) second += ((X(s) * (d - s)) / (s * d)) * p ** d;
  const rboExt = ((1 - p) / p) * (first + second) + ((X(l) - X(s)) / l + X(s) / s) * p ** l;
  return { rbo, rboExt };
}

/** A small deterministic generator (mulberry32) so the random cases are the same every run. */
function random(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

describe('rankingMetrics', () => {
  it('scores identical lists of length k: overlap 1, RBO 1 − p^k, RBO_ext 1', () => {
    const m = rankingMetrics(ids('abcdefghij'), ids('abcdefghij'), 10, 0.9);
    expect(m).toMatchObject({ depth: 10, topkOverlap: 1, jaccard: 1, identical: true });
    expect(m.rbo).toBeCloseTo(1 - 0.9 ** 10, 12); // 0.6513215599
    expect(m.rboExt).toBeCloseTo(1, 12);
    expect(rankingMetrics(ids('abc'), ids('abc'), 3, 0.5).rbo).toBeCloseTo(0.875, 12);
  });

  it('scores disjoint lists 0', () => {
    expect(rankingMetrics(ids('abc'), ids('xyz'), 3, 0.9)).toEqual({
      depth: 3,
      topkOverlap: 0,
      jaccard: 0,
      rbo: 0,
      rboExt: 0,
      identical: false,
    });
  });

  it('matches hand-computed values: a swap at the top', () => {
    // d=1: X=0; d=2: X=2 → 0.9·2/2; d=3: X=3 → 0.81·3/3. RBO = 0.1·(0.9 + 0.81).
    const m = rankingMetrics(ids('abc'), ids('bac'), 3, 0.9);
    expect(m.rbo).toBeCloseTo(0.171, 12);
    expect(m.rboExt).toBeCloseTo(0.171 + 0.9 ** 3, 12); // + X_k/k·p^k
    expect(m).toMatchObject({ topkOverlap: 1, jaccard: 1, identical: false });
  });

  it('matches hand-computed values: partial overlap', () => {
    // X_d = 1, 1, 2, 2; p = 0.5: 0.5·(1 + 0.5·1/2 + 0.25·2/3 + 0.125·2/4) = 0.739583…
    const m = rankingMetrics(ids('abcd'), ids('axby'), 4, 0.5);
    expect(m.rbo).toBeCloseTo(0.5 * (1 + 0.25 + 1 / 6 + 0.0625), 12);
    expect(m.rboExt).toBeCloseTo(0.5 * (1 + 0.25 + 1 / 6 + 0.0625) + 0.5 * 0.0625, 12);
    expect(m.topkOverlap).toBe(0.5);
    expect(m.jaccard).toBeCloseTo(1 / 3, 12);
  });

  it('cuts both lists at k', () => {
    const m = rankingMetrics(ids('abcXYZ'), ids('abcPQR'), 3, 0.9);
    expect(m).toMatchObject({ depth: 3, topkOverlap: 1, jaccard: 1, identical: true });
    expect(m.rbo).toBeCloseTo(1 - 0.9 ** 3, 12);
  });

  it('compares short lists at the longer list’s length when k is larger', () => {
    const same = rankingMetrics(ids('abc'), ids('abc'), 10, 0.9);
    expect(same).toMatchObject({ depth: 3, topkOverlap: 1, jaccard: 1, identical: true });
    expect(same.rbo).toBeCloseTo(1 - 0.9 ** 3, 12);

    // Candidate returns one item where the baseline returns three: depth 3.
    // X_d = 1, 1, 1: RBO = 0.1·(1 + 0.9/2 + 0.81/3) = 0.172.
    const short = rankingMetrics(ids('abc'), ids('a'), 10, 0.9);
    expect(short).toMatchObject({ depth: 3, identical: false });
    expect(short.topkOverlap).toBeCloseTo(1 / 3, 12);
    expect(short.jaccard).toBeCloseTo(1 / 3, 12);
    expect(short.rbo).toBeCloseTo(0.172, 12);
    // The short list is a prefix of the long one: extrapolation assumes it goes on agreeing.
    expect(short.rboExt).toBeCloseTo(1, 12);
  });

  it('extrapolates uneven lists as Webber et al. eq. 32', () => {
    // L = abcd, S = be, p = 0.5: X_d = 0, 1, 1, 1; s = 2, l = 4, X_s = X_l = 1.
    // (1−p)/p·[Σ X_d/d·p^d + Σ_{d=3,4} X_s(d−s)/(s·d)·p^d] + [(X_l−X_s)/l + X_s/s]·p^l
    // = 1·[(0.125 + 0.125/3 + 0.015625) + (0.125/6 + 0.015625)] + 0.5·0.0625 = 0.25
    expect(rankingMetrics(ids('abcd'), ids('be'), 10, 0.5).rboExt).toBeCloseTo(0.25, 12);
    expect(rankingMetrics(ids('be'), ids('abcd'), 10, 0.5).rboExt).toBeCloseTo(0.25, 12);
  });

  it('is symmetric and keeps RBO ≤ RBO_ext ≤ 1', () => {
    const lists = ['abcdef', 'fedcba', 'axbycz', 'ab', 'b', 'zyx', 'abcdefghijkl', 'cab'];
    for (const x of lists) {
      for (const y of lists) {
        for (const k of [1, 3, 10]) {
          const m = rankingMetrics(ids(x), ids(y), k, 0.8);
          const r = rankingMetrics(ids(y), ids(x), k, 0.8);
          expect(r.rbo).toBeCloseTo(m.rbo, 12);
          expect(r.rboExt).toBeCloseTo(m.rboExt, 12);
          expect(m.rbo).toBeLessThanOrEqual(m.rboExt + 1e-12);
          expect(m.rboExt).toBeLessThanOrEqual(1 + 1e-12);
          expect(m.rbo).toBeGreaterThanOrEqual(0);
          expect(m.topkOverlap).toBeLessThanOrEqual(1);
          expect(m.jaccard).toBeLessThanOrEqual(m.topkOverlap);
        }
      }
    }
  });

  it('agrees with the literal formulas on random lists', () => {
    const next = random(7);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz'.split('');
    const draw = (): string[] => {
      const n = Math.floor(next() * 15);
      return [...alphabet].sort(() => next() - 0.5).slice(0, n);
    };
    for (let i = 0; i < 300; i += 1) {
      const a = draw();
      const b = draw();
      const k = 1 + Math.floor(next() * 12);
      const p = 0.05 + next() * 0.9;
      const want = literal(a, b, k, p);
      const got = rankingMetrics(a, b, k, p);
      expect(got.rbo).toBeCloseTo(want.rbo, 12);
      expect(got.rboExt).toBeCloseTo(want.rboExt, 12);
    }
  });

  it('handles empty lists', () => {
    // Both empty: identical; RBO is the empty sum, 1 − p^0 = 0.
    expect(rankingMetrics([], [], 10, 0.9)).toEqual({
      depth: 0,
      topkOverlap: 1,
      jaccard: 1,
      rbo: 0,
      rboExt: 1,
      identical: true,
    });
    expect(rankingMetrics(ids('ab'), [], 10, 0.9)).toEqual({
      depth: 2,
      topkOverlap: 0,
      jaccard: 0,
      rbo: 0,
      rboExt: 0,
      identical: false,
    });
    expect(rankingMetrics([], ids('ab'), 10, 0.9)).toMatchObject({
      topkOverlap: 0,
      rbo: 0,
      rboExt: 0,
      identical: false,
    });
  });
});
