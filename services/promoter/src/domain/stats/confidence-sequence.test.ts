import { describe, expect, it } from 'vitest';
import {
  betaBinomialCS,
  betaBinomialLogE,
  betaBinomialPValue,
  differenceCS,
  differencePValue,
  logBeta,
  logGamma,
  mixtureFor,
  proportionSequence,
} from './confidence-sequence.ts';
import { differencePeekingCoverage, peekingCoverage } from '../quality/coverage.ts';

describe('logGamma', () => {
  it('matches known values', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(2)).toBeCloseTo(0, 13);
    // ln 9! = ln 362880
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    // ln Γ(100) = ln 99! (reference: 359.1342053695754, e.g. scipy.special.gammaln(100))
    expect(logGamma(100)).toBeCloseTo(359.1342053695754, 9);
    // reflection branch: Γ(0.1) = 9.513507698668732
    expect(logGamma(0.1)).toBeCloseTo(Math.log(9.513507698668732), 12);
  });

  it('stays accurate for counts in the millions (Stirling with three terms)', () => {
    const x = 2_000_000.5;
    const stirling =
      (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
    expect(Math.abs(logGamma(x) - stirling) / stirling).toBeLessThan(1e-13);
  });

  it('rejects x ≤ 0', () => {
    expect(() => logGamma(0)).toThrow(RangeError);
  });
});

describe('beta-binomial mixture e-value', () => {
  // Independent check of the closed form: ∫ θ^k (1−θ)^(n−k) Beta(θ; a, b) dθ by Simpson's rule.
  function integrated(k: number, n: number, m: number, a: number, b: number): number {
    const steps = 200_000;
    const h = 1 / steps;
    const f = (t: number): number =>
      t <= 0 || t >= 1
        ? 0
        : Math.exp(
            k * Math.log(t) +
              (n - k) * Math.log1p(-t) +
              (a - 1) * Math.log(t) +
              (b - 1) * Math.log1p(-t) -
              logBeta(a, b),
          );
    let sum = f(0) + f(1);
    for (let i = 1; i < steps; i++) sum += f(i * h) * (i % 2 ? 4 : 2);
    const mixture = (sum * h) / 3;
    return Math.log(mixture) - (k * Math.log(m) + (n - k) * Math.log1p(-m));
  }

  it('equals the numerically integrated likelihood ratio', () => {
    for (const [k, n, m, a, b] of [
      [18, 20, 0.7, 2, 2],
      [45, 50, 0.98, 4, 1.5],
      [3, 40, 0.01, 1.5, 30],
    ] as const) {
      expect(betaBinomialLogE(k, n, m, { a, b })).toBeCloseTo(integrated(k, n, m, a, b), 6);
    }
  });

  it('is never above 1 at the maximum likelihood, so the sequence is never empty', () => {
    const prior = mixtureFor(0.98);
    for (const [k, n] of [
      [0, 10],
      [10, 10],
      [995, 1000],
      [5, 7],
    ] as const) {
      expect(betaBinomialLogE(k, n, k / n, prior)).toBeLessThanOrEqual(0);
    }
  });

  it('p-value is 1/M capped at 1', () => {
    const prior = mixtureFor(0.98);
    const logE = betaBinomialLogE(1950, 2000, 0.98, prior);
    expect(betaBinomialPValue(1950, 2000, 0.98, prior)).toBeCloseTo(
      Math.min(1, Math.exp(-logE)),
      15,
    );
  });
});

describe('betaBinomialCS', () => {
  const prior = mixtureFor(0.98);

  it('its ends are where M_n(m) = 1/α, and the estimate lies inside', () => {
    const cs = betaBinomialCS(1990, 2000, 0.05, prior);
    expect(cs.estimate).toBe(0.995);
    expect(cs.lower).toBeLessThan(0.995);
    expect(cs.upper).toBeGreaterThan(0.995);
    expect(betaBinomialLogE(1990, 2000, cs.lower, prior)).toBeCloseTo(Math.log(20), 8);
    expect(betaBinomialLogE(1990, 2000, cs.upper, prior)).toBeCloseTo(Math.log(20), 8);
  });

  it('is wider than the fixed-sample Wilson interval (the price of looking at any time)', () => {
    // Wilson 95 % for 1990/2000: [0.990820, 0.997282] (scipy binomtest(1990, 2000).proportion_ci('wilson')).
    const cs = betaBinomialCS(1990, 2000, 0.05, prior);
    expect(cs.lower).toBeLessThan(0.99082);
    expect(cs.upper).toBeGreaterThan(0.99728);
  });

  it('narrows with more evidence and widens with a smaller α', () => {
    const a = betaBinomialCS(199, 200, 0.05, prior);
    const b = betaBinomialCS(19900, 20000, 0.05, prior);
    expect(b.upper - b.lower).toBeLessThan(a.upper - a.lower);
    const strict = betaBinomialCS(19900, 20000, 0.0025, prior);
    expect(strict.lower).toBeLessThan(b.lower);
    expect(strict.upper).toBeGreaterThan(b.upper);
  });

  it('a prior centred on the threshold is tighter there than a uniform one', () => {
    const tuned = betaBinomialCS(1990, 2000, 0.05, prior);
    const uniform = betaBinomialCS(1990, 2000, 0.05, { a: 1, b: 1 });
    expect(tuned.lower).toBeGreaterThan(uniform.lower);
  });

  it('handles the edges: no evidence, all or none', () => {
    expect(betaBinomialCS(0, 0, 0.05, prior)).toEqual({ estimate: null, lower: 0, upper: 1 });
    const none = betaBinomialCS(0, 5000, 0.05, mixtureFor(0.005));
    expect(none.lower).toBe(0);
    expect(none.upper).toBeGreaterThan(0);
    expect(none.upper).toBeLessThan(0.002);
    const all = betaBinomialCS(5000, 5000, 0.05, prior);
    expect(all.upper).toBe(1);
    expect(all.lower).toBeGreaterThan(0.998);
  });

  it('mirrors under k ↔ n − k with the mirrored prior', () => {
    const a = betaBinomialCS(30, 1000, 0.05, { a: 2, b: 50 });
    const b = betaBinomialCS(970, 1000, 0.05, { a: 50, b: 2 });
    expect(a.lower).toBeCloseTo(1 - b.upper, 10);
    expect(a.upper).toBeCloseTo(1 - b.lower, 10);
  });

  it('rejects impossible counts and α', () => {
    expect(() => betaBinomialCS(5, 4, 0.05, prior)).toThrow(RangeError);
    expect(() => betaBinomialCS(-1, 4, 0.05, prior)).toThrow(RangeError);
    expect(() => betaBinomialCS(1, 4, 0, prior)).toThrow(RangeError);
  });
});

describe('mixtureFor', () => {
  it('centres the prior on the threshold with sd = distance to the nearer end', () => {
    for (const c of [0.98, 0.005, 0.01, 0.2]) {
      const { a, b } = mixtureFor(c);
      const mean = a / (a + b);
      const sd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
      expect(mean).toBeCloseTo(c, 12);
      expect(sd).toBeCloseTo(Math.min(c, 1 - c), 12);
    }
    expect(mixtureFor(0.5)).toEqual({ a: 1, b: 1 });
    // Never flatter than a + b = 2.
    const { a, b } = mixtureFor(0.3);
    expect(a + b).toBeCloseTo(2, 12);
  });
});

describe('difference of two arms', () => {
  const prior = mixtureFor(0.005);

  it('is the difference of the arms’ sequences at α/2', () => {
    const cs = differenceCS(12, 5000, 95, 95000, 0.05, prior);
    const one = proportionSequence(12, 5000, prior);
    const two = proportionSequence(95, 95000, prior);
    expect(cs.lower).toBeCloseTo(one.bound(0.025, 'lower') - two.bound(0.025, 'upper'), 15);
    expect(cs.upper).toBeCloseTo(one.bound(0.025, 'upper') - two.bound(0.025, 'lower'), 15);
    expect(cs.estimate).toBeCloseTo(12 / 5000 - 95 / 95000, 15);
  });

  // Reference: the smallest α whose sequence excludes d, by bisection on α itself.
  function bruteP(k1: number, n1: number, k2: number, n2: number, d: number): number {
    const excludes = (logAlpha: number): boolean => {
      const cs = differenceCS(k1, n1, k2, n2, Math.exp(logAlpha), prior);
      return d < cs.lower || d > cs.upper;
    };
    let kept = Math.log(1e-300);
    let excluded = Math.log(1 - 1e-12);
    if (!excludes(excluded)) return 1;
    for (let i = 0; i < 80; i++) {
      const mid = (kept + excluded) / 2;
      if (excludes(mid)) excluded = mid;
      else kept = mid;
    }
    return Math.exp(excluded);
  }

  it('p-value: the smallest α whose sequence excludes d', () => {
    for (const [k1, n1, k2, n2, d] of [
      [5, 5000, 95, 95000, 0.005],
      [60, 5000, 95, 95000, 0.005],
      [0, 600, 3, 9000, 0.005],
      [50, 1000, 10, 1000, -0.01],
      [30, 5000, 95, 95000, 0.005],
    ] as const) {
      const p = differencePValue(k1, n1, k2, n2, d, prior);
      const ref = bruteP(k1, n1, k2, n2, d);
      expect(Math.abs(p - ref)).toBeLessThanOrEqual(1e-9 + 1e-6 * ref);
    }
  });
});

describe('confidence sequences under repeated peeking', () => {
  // 2 000 sequences × 100 looks: Monte Carlo standard error of a 5 % rate is 0.49 %.
  const tolerance = 3 * Math.sqrt((0.05 * 0.95) / 2000);

  it('agreement at its 0.98 gate: the sequence stays ≤ α, Wilson peeked 100 times inflates', () => {
    const r = peekingCoverage({
      p: 0.98,
      prior: mixtureFor(0.98),
      sequences: 2000,
      looks: 100,
      lookEvery: 50,
      alpha: 0.05,
      seed: 11,
    });
    expect(r.sequenceMiss).toBeLessThanOrEqual(0.05 + tolerance);
    // One look at the end: Wilson is a fine fixed-sample interval…
    expect(Math.abs(r.wilsonMissAtEnd - 0.05)).toBeLessThan(0.025);
    // …but checked at every look it excludes the truth several times more often than α.
    expect(r.wilsonMiss).toBeGreaterThan(0.2);
  });

  it('a rare rate (p99 exceedance at its 1 % limit): the sequence stays ≤ α', () => {
    const r = peekingCoverage({
      p: 0.01,
      prior: mixtureFor(0.01),
      sequences: 2000,
      looks: 100,
      lookEvery: 50,
      alpha: 0.05,
      seed: 12,
    });
    expect(r.sequenceMiss).toBeLessThanOrEqual(0.05 + tolerance);
    expect(r.wilsonMiss).toBeGreaterThan(0.2);
  });

  it('the difference of two arms stays ≤ α', () => {
    const r = differencePeekingCoverage({
      p1: 0.002,
      p2: 0.001,
      n1PerLook: 50,
      n2PerLook: 950,
      sequences: 500,
      looks: 100,
      alpha: 0.05,
      prior: mixtureFor(0.005),
      seed: 13,
    });
    expect(r.miss).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / 500));
  });
});
