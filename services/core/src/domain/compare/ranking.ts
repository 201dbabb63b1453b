/**
 * Ranking agreement at depth k: top-k overlap, Jaccard, rank-biased overlap (RBO).
 *
 * Short lists: each list is cut to its first k ids, and the comparison depth is
 * k' = min(k, max(|A|, |B|)), the length of the longer cut list. A list shorter than k' simply
 * has no items past its end, so a short candidate list is penalised against a longer baseline,
 * and two lists that both stop at 3 ids are compared at depth 3, not 10.
 */

export interface RankingMetrics {
  /** The comparison depth k' = min(k, max(|A|, |B|)). */
  depth: number;
  /** |A_k ∩ B_k| / k'; 1 when both lists are empty. */
  topkOverlap: number;
  /** |A_k ∩ B_k| / |A_k ∪ B_k|; 1 when both lists are empty. */
  jaccard: number;
  /**
   * RBO truncated at depth k' (STATS.md): (1−p)·Σ_{d=1..k'} p^{d−1}·|A_{1:d} ∩ B_{1:d}|/d.
   * A lower bound: identical lists of length k' score 1 − p^k', not 1 (0 when both are empty).
   */
  rbo: number;
  /** Extrapolated RBO (Webber, Moffat & Zobel 2010, eq. 32): identical lists score 1. */
  rboExt: number;
  /** Same ids in the same order within the top k. */
  identical: boolean;
}

/**
 * Metrics of two rankings of distinct ids (callers drop repeated ids), compared to depth `k`
 * with RBO persistence `p`.
 */
export function rankingMetrics(
  a: readonly string[],
  b: readonly string[],
  k: number,
  p: number,
): RankingMetrics {
  const la = Math.min(a.length, k);
  const lb = Math.min(b.length, k);
  const depth = Math.max(la, lb);
  const short = Math.min(la, lb);
  if (depth === 0) return { depth, topkOverlap: 1, jaccard: 1, rbo: 0, rboExt: 1, identical: true };

  const seenA = new Set<string>();
  const seenB = new Set<string>();
  let overlap = 0; // X_d = |A_{1:d} ∩ B_{1:d}|
  let overlapAtShort = 0; // X_s
  let sum = 0; // Σ p^{d−1}·X_d/d
  let weight = 1; // p^{d−1}
  let identical = la === lb;
  for (let d = 1; d <= depth; d += 1) {
    const x = d <= la ? a[d - 1] : undefined;
    const y = d <= lb ? b[d - 1] : undefined;
    if (x !== undefined && x === y) {
      overlap += 1;
    } else {
      identical = false;
      if (x !== undefined && seenB.has(x)) overlap += 1;
      if (y !== undefined && seenA.has(y)) overlap += 1;
    }
    if (x !== undefined) seenA.add(x);
    if (y !== undefined) seenB.add(y);
    sum += (weight * overlap) / d;
    if (d === short) overlapAtShort = overlap;
    weight *= p;
  }
  const rbo = (1 - p) * sum;

  // weight = p^depth here. RBO_ext adds, for the uneven part, the short list's overlap
  // assumed to continue at its rate X_s/s, and the tail beyond depth at the final agreement.
  let rboExt = 0;
  if (short > 0) {
    let extra = 0;
    let w = Math.pow(p, short); // p^{d−1} for d = short + 1
    for (let d = short + 1; d <= depth; d += 1) {
      extra += (w * overlapAtShort * (d - short)) / (short * d);
      w *= p;
    }
    rboExt =
      rbo +
      (1 - p) * extra +
      ((overlap - overlapAtShort) / depth + overlapAtShort / short) * weight;
  }
  const union = la + lb - overlap;
  return { depth, topkOverlap: overlap / depth, jaccard: overlap / union, rbo, rboExt, identical };
}
