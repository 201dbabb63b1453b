/**
 * Always-valid (anytime) inference for proportions from cumulative counts.
 *
 * The promoter looks at the same accumulating evidence every interval. A fixed-sample interval
 * checked that often excludes the truth far more often than its nominal α (see the tests), so
 * every gate that claims confidence uses a confidence sequence: a sequence of intervals that
 * covers the true proportion at every look simultaneously with probability ≥ 1 − α.
 *
 * Method: the beta-binomial mixture martingale (Robbins 1970; Lai 1976; the conjugate-mixture
 * construction of Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
 * nonasymptotic confidence sequences"). For i.i.d. Bernoulli(p) outcomes with k successes in n,
 *
 *   M_n(m) = ∫ θ^k (1−θ)^(n−k) dBeta(θ; a, b) / (m^k (1−m)^(n−k))
 *          = B(a + k, b + n − k) / B(a, b) / (m^k (1−m)^(n−k))
 *
 * is a nonnegative martingale with mean 1 when p = m, so by Ville's inequality
 * P(∃n: M_n(p) ≥ 1/α) ≤ α and {m : M_n(m) < 1/α} is a 1 − α confidence sequence. It depends on
 * the counts only (not their order), which is exactly what the edges can give from ClickHouse,
 * it is exact (no normal approximation), and it adapts to the variance: near p = 0.99 it is far
 * narrower than a sub-Gaussian bound. 1/M_n(m) is an anytime-valid p-value for p = m.
 *
 * The prior (a, b) only moves where the sequence is tightest; any prior fixed before the data is
 * valid. We centre it on the gate's threshold (the decision boundary), see `mixtureFor`.
 */

export interface BetaMixture {
  /** Beta prior parameters of the mixing distribution; fixed before any data is seen. */
  a: number;
  b: number;
}

export interface ConfidenceBounds {
  /** k / n, or null when n = 0. */
  estimate: number | null;
  lower: number;
  upper: number;
}

// Lanczos approximation (g = 7, 9 terms): ~15 significant digits for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x=${x} must be > 0`);
  // Reflection keeps the approximation in its accurate range.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * The mixing prior for a gate whose threshold is `center`: mean at the threshold, standard
 * deviation equal to its distance to the nearer end of [0, 1] (so an agreement gate at 0.98 mixes
 * over roughly 0.94–1 and an error-rate gate at 0.005 over 0–0.015), and never flatter than
 * a + b = 2 (uniform at 0.5). Tuning the prior to where decisions are hard cuts the evidence needed
 * near the threshold by about half compared with a uniform prior, and keeps validity.
 */
export function mixtureFor(center: number): BetaMixture {
  const c = Math.min(1 - 1e-4, Math.max(1e-4, center));
  const near = Math.min(c, 1 - c);
  // Beta variance c(1−c)/(s+1) = near² ⇒ s + 1 = max(c, 1−c) / near.
  const s = Math.max(2, Math.max(c, 1 - c) / near - 1);
  return { a: c * s, b: (1 - c) * s };
}

function checkCounts(k: number, n: number): void {
  if (!(Number.isFinite(k) && Number.isFinite(n) && n >= 0 && k >= 0 && k <= n)) {
    throw new RangeError(`confidence sequence: counts k=${k}, n=${n} must satisfy 0 ≤ k ≤ n`);
  }
}

/** The sequence for one proportion after k successes in n, with the counts' constant computed once. */
export interface ProportionSequence {
  k: number;
  n: number;
  /** k / n, or null when n = 0. */
  estimate: number | null;
  /** One end of the 1 − α sequence: the lower or upper root of M_n(m) = 1/α. */
  bound(alpha: number, side: 'lower' | 'upper'): number;
  /** ln M_n(m): the log e-value against "the proportion is m" (+∞ outside [0, 1]). */
  logE(m: number): number;
  /** min(1, 1/M_n(m)): its running minimum stays above α forever with probability ≥ 1 − α when the proportion is m. */
  pValue(m: number): number;
}

export function proportionSequence(k: number, n: number, prior: BetaMixture): ProportionSequence {
  checkCounts(k, n);
  return new BetaBinomialSequence(k, n, prior);
}

// A class rather than closures: the harness builds hundreds of thousands of these.
class BetaBinomialSequence implements ProportionSequence {
  readonly k: number;
  readonly n: number;
  readonly estimate: number | null;
  /** ln B(a + k, b + n − k) − ln B(a, b). */
  private readonly c: number;

  constructor(k: number, n: number, prior: BetaMixture) {
    this.k = k;
    this.n = n;
    this.estimate = n === 0 ? null : k / n;
    this.c = n === 0 ? 0 : logBeta(prior.a + k, prior.b + n - k) - logBeta(prior.a, prior.b);
  }

  logE(m: number): number {
    if (this.n === 0) return 0;
    return m < 0 || m > 1 ? Infinity : this.c - logLikelihood(this.k, this.n, m);
  }

  pValue(m: number): number {
    return Math.min(1, Math.exp(-this.logE(m)));
  }

  bound(alpha: number, side: 'lower' | 'upper'): number {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`confidence sequence: alpha=${alpha}`);
    const { k, n } = this;
    if (n === 0) return side === 'lower' ? 0 : 1;
    // g(m) = ln M_n(m) − ln(1/α) is convex in m with its minimum at k/n, where it is
    // ≤ −ln(1/α) < 0 (the mixture never beats the maximum likelihood): one root each side.
    const offset = this.c - Math.log(1 / alpha);
    if (side === 'lower') return k === 0 ? 0 : root(k, n, offset, 0, k / n, false);
    return k === n ? 1 : root(k, n, offset, k / n, 1, true);
  }
}

// ln(m^k (1−m)^(n−k)), with 0·ln 0 = 0.
function logLikelihood(k: number, n: number, m: number): number {
  const s = k === 0 ? 0 : k * Math.log(m);
  const f = n - k === 0 ? 0 : (n - k) * Math.log1p(-m);
  return s + f;
}

/** ln M_n(m) for "the proportion is m" after k successes in n. */
export function betaBinomialLogE(k: number, n: number, m: number, prior: BetaMixture): number {
  return proportionSequence(k, n, prior).logE(m);
}

/** Anytime-valid p-value for "the proportion is m": min(1, 1/M_n(m)). */
export function betaBinomialPValue(k: number, n: number, m: number, prior: BetaMixture): number {
  return proportionSequence(k, n, prior).pValue(m);
}

/**
 * The 1 − α confidence sequence for a proportion after k successes in n: all m with
 * M_n(m) < 1/α. n = 0 gives [0, 1].
 */
export function betaBinomialCS(
  k: number,
  n: number,
  alpha: number,
  prior: BetaMixture,
): ConfidenceBounds {
  const seq = proportionSequence(k, n, prior);
  return {
    estimate: seq.estimate,
    lower: seq.bound(alpha, 'lower'),
    upper: seq.bound(alpha, 'upper'),
  };
}

/**
 * The root in (lo, hi) of g(m) = offset − ln(m^k (1−m)^(n−k)), convex with one sign change
 * there: safeguarded Newton (a step that leaves the bracket becomes a bisection). A handful of
 * steps.
 */
function root(
  k: number,
  n: number,
  offset: number,
  lo: number,
  hi: number,
  rising: boolean,
): number {
  // g falls towards k/n from below it and rises above it; keep g(neg) < 0 ≤ g(pos).
  let neg = rising ? lo : hi;
  let pos = rising ? hi : lo;
  let x = (lo + hi) / 2;
  for (let i = 0; i < 100; i++) {
    const gx = offset - logLikelihood(k, n, x);
    // g is in nats: 1e-10 nats moves α by a factor 1 + 1e-10, far below anything reported.
    if (Math.abs(gx) <= 1e-10) break;
    if (gx < 0) neg = x;
    else pos = x;
    const slope = -k / x + (n - k) / (1 - x);
    const newton = x - gx / slope;
    const next =
      newton > Math.min(neg, pos) && newton < Math.max(neg, pos) ? newton : (neg + pos) / 2;
    if (next === x) break;
    x = next;
  }
  return x;
}

/**
 * A confidence sequence for the difference p₁ − p₂ of two independent proportions (unpaired
 * arms, e.g. canary vs stable): each arm's beta-binomial sequence at α/2 (Bonferroni), and the
 * difference of their ends. Valid at every look, exact, conservative.
 */
export function differenceCS(
  k1: number,
  n1: number,
  k2: number,
  n2: number,
  alpha: number,
  prior: BetaMixture,
): ConfidenceBounds {
  return differenceBounds(
    proportionSequence(k1, n1, prior),
    proportionSequence(k2, n2, prior),
    alpha,
  );
}

/** differenceCS on sequences already built. */
export function differenceBounds(
  one: ProportionSequence,
  two: ProportionSequence,
  alpha: number,
): ConfidenceBounds {
  const estimate =
    one.estimate !== null && two.estimate !== null ? one.estimate - two.estimate : null;
  return {
    estimate,
    lower: one.bound(alpha / 2, 'lower') - two.bound(alpha / 2, 'upper'),
    upper: one.bound(alpha / 2, 'upper') - two.bound(alpha / 2, 'lower'),
  };
}

/**
 * Anytime-valid p-value for "p₁ − p₂ = d" under `differenceCS`: the smallest α whose sequence
 * excludes d. The sequence at α excludes d exactly when no pair (m₁, m₂) with m₁ − m₂ = d lies in
 * both arms' sequences at α/2, so p(d) = 2 · min over m₂ of max(1/M₁(m₂ + d), … ) in e-value terms:
 * p(d) = 2 · exp(−min_{m₂} max(ln M₁(m₂ + d), ln M₂(m₂))). Both ln M are convex with minima at
 * the arms' estimates, so the minimum lies between them where one rises and the other falls:
 * found by bisection on their difference.
 */
export function differencePValue(
  k1: number,
  n1: number,
  k2: number,
  n2: number,
  d: number,
  prior: BetaMixture,
): number {
  return differenceP(proportionSequence(k1, n1, prior), proportionSequence(k2, n2, prior), d);
}

/** differencePValue on sequences already built. */
export function differenceP(one: ProportionSequence, two: ProportionSequence, d: number): number {
  if (one.estimate === null || two.estimate === null) return 1;
  // On [min(a, b), max(a, b)] one of ln M₁(· + d), ln M₂ rises and the other falls (a, b: their minima).
  const a = one.estimate - d;
  const b = two.estimate;
  let lo = Math.max(Math.min(a, b), 0, -d);
  let hi = Math.min(Math.max(a, b), 1, 1 - d);
  if (lo > hi) return 0; // |d| beyond what two proportions can differ by here
  const firstRises = a < b;
  // gap(m₂) = rising − falling, increasing in m₂; best = min over m₂ of max(rising, falling).
  const at = (m2: number): [number, number] => {
    const e1 = one.logE(m2 + d);
    const e2 = two.logE(m2);
    return firstRises ? [e1, e2] : [e2, e1];
  };
  let [rLo, fLo] = at(lo);
  let [rHi, fHi] = at(hi);
  let best: number;
  if (rLo >= fLo) best = rLo;
  else if (rHi <= fHi) best = fHi;
  else {
    for (let i = 0; i < 100 && hi - lo > 1e-15; i++) {
      const mid = (lo + hi) / 2;
      const [r, f] = at(mid);
      if (r < f) [lo, rLo, fLo] = [mid, r, f];
      else [hi, rHi, fHi] = [mid, r, f];
    }
    best = Math.min(Math.max(rLo, fLo), Math.max(rHi, fHi));
  }
  return Math.min(1, 2 * Math.exp(-best));
}
