/**
 * The statistics helpers against reference values from scipy (test/fixtures/oracle/make_oracle.py,
 * versions recorded in oracle.json).
 */
import { describe, expect, it } from 'vitest';
import oracle from '../../../../../test/fixtures/oracle/oracle.json' with { type: 'json' };
import { adjust, benjaminiHochberg, erf, erfc, holm, mcnemar, normalCdf, normalQuantile, normalTwoSidedP, wilson, Z95, zFor } from './index.ts';

const ref = oracle.stats as unknown as {
  erfc: [number, number][];
  normal_cdf: [number, number][];
  normal_quantile: [number, number][];
  wilson: [number, number, number, number][];
  mcnemar: [number, number, number][];
  holm: { p: number[]; adjusted: number[] };
  bh: { p: number[]; adjusted: number[] };
};

/** Relative error, absolute below 1e-300 (where relative is meaningless). */
function rel(a: number, e: number): number {
  return Math.abs(e) < 1e-300 ? Math.abs(a - e) : Math.abs(a - e) / Math.abs(e);
}

describe('erfc / normalCdf', () => {
  it.each(ref.erfc)('erfc(%d) matches scipy.special.erfc to 1e-13 relative', (x, e) => {
    expect(rel(erfc(x), e)).toBeLessThan(1e-13);
  });

  it.each(ref.normal_cdf)('normalCdf(%d) matches scipy.stats.norm.cdf to 1e-13 relative', (x, e) => {
    expect(rel(normalCdf(x), e)).toBeLessThan(1e-13);
  });

  it('keeps erf and erfc consistent and odd/complementary', () => {
    for (const x of [-3, -0.7, 0, 0.3, 1.9, 2.1, 4]) {
      expect(erf(x) + erfc(x)).toBeCloseTo(1, 15);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(Number.isNaN(erfc(Number.NaN))).toBe(true);
    expect(erfc(40)).toBe(0);
    expect(erfc(-40)).toBe(2);
  });

  it('two-sided normal p-values', () => {
    expect(normalTwoSidedP(Z95)).toBeCloseTo(0.05, 14);
    expect(normalTwoSidedP(-Z95)).toBeCloseTo(0.05, 14);
    expect(normalTwoSidedP(0)).toBe(1);
  });
});

describe('normalQuantile', () => {
  it.each(ref.normal_quantile)('normalQuantile(%d) matches scipy.stats.norm.ppf to 1e-12 relative', (p, e) => {
    expect(rel(normalQuantile(p), e)).toBeLessThan(1e-12);
  });

  it('gives the z the SQL reports use, and the edges', () => {
    expect(zFor(0.95)).toBeCloseTo(Z95, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(Number.isNaN(normalQuantile(1.5))).toBe(true);
  });
});

describe('wilson', () => {
  it.each(ref.wilson)('wilson(%d, %d) matches binomtest(k, n).proportion_ci("wilson") to 1e-12', (k, n, lo, hi) => {
    const ci = wilson(k, n);
    expect(ci).not.toBeNull();
    expect(Math.abs((ci?.lower ?? NaN) - lo)).toBeLessThan(1e-12);
    expect(Math.abs((ci?.upper ?? NaN) - hi)).toBeLessThan(1e-12);
  });

  it('has no interval without trials and refuses k outside 0..n', () => {
    expect(wilson(0, 0)).toBeNull();
    expect(() => wilson(3, 2)).toThrow(RangeError);
  });
});

describe('mcnemar', () => {
  it.each(ref.mcnemar)('mcnemar(%d, %d) p matches chi2.sf with continuity correction to 1e-12', (b, c, p) => {
    expect(rel(mcnemar(b, c)?.pValue ?? NaN, p)).toBeLessThan(1e-12);
  });

  it('is null without discordant pairs', () => {
    expect(mcnemar(0, 0)).toBeNull();
  });
});

describe('multiplicity', () => {
  it('holm matches the reference in input order', () => {
    const got = holm(ref.holm.p);
    got.forEach((g, i) => expect(Math.abs((g ?? NaN) - (ref.holm.adjusted[i] ?? NaN))).toBeLessThan(1e-15));
  });

  it('benjaminiHochberg matches scipy.stats.false_discovery_control in input order', () => {
    const got = benjaminiHochberg(ref.bh.p);
    got.forEach((g, i) => expect(Math.abs((g ?? NaN) - (ref.bh.adjusted[i] ?? NaN))).toBeLessThan(1e-15));
  });

  it('keeps nulls out of the family and in place', () => {
    expect(holm([0.01, null, 0.04])).toEqual([0.02, null, 0.04]);
    expect(benjaminiHochberg([0.01, null, 0.04])).toEqual([0.02, null, 0.04]);
    expect(adjust([], 'holm')).toEqual([]);
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
  });

  it('is monotone in the raw p-values', () => {
    const p = [0.03, 0.001, 0.2, 0.04, 0.01];
    for (const out of [holm(p), benjaminiHochberg(p)]) {
      const order = [...p.keys()].sort((a, b) => (p[a] ?? 0) - (p[b] ?? 0));
      for (let i = 1; i < order.length; i++) expect(out[order[i] as number] ?? 0).toBeGreaterThanOrEqual(out[order[i - 1] as number] ?? 0);
    }
  });
});
