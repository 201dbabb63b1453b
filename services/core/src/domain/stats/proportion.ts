import { erfc } from './normal.ts';

/** z of a two-sided 95 % interval, Φ⁻¹(0.975); the SQL reports use the same literal. */
export const Z95 = 1.959963984540054;

export interface Interval {
  lower: number;
  upper: number;
}

/**
 * Wilson score interval for k successes in n trials (no continuity correction), as
 * scipy.stats.binomtest(k, n).proportion_ci('wilson'). Null when n = 0: no evidence, no interval.
 */
export function wilson(k: number, n: number, z: number = Z95): Interval | null {
  if (!(n > 0)) return null;
  if (k < 0 || k > n) throw new RangeError(`wilson: k=${k} outside 0..n=${n}`);
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

export interface McNemarResult {
  chi2: number;
  pValue: number;
}

/**
 * McNemar's test with continuity correction on the discordant counts of paired binary outcomes:
 * χ² = max(|b − c| − 1, 0)² / (b + c), p = erfc(√(χ²/2)) (χ² with one degree of freedom).
 * Null when there is no discordant pair.
 */
export function mcnemar(b: number, c: number): McNemarResult | null {
  if (b + c <= 0) return null;
  const d = Math.max(Math.abs(b - c) - 1, 0);
  const chi2 = (d * d) / (b + c);
  return { chi2, pValue: erfc(Math.sqrt(chi2 / 2)) };
}
