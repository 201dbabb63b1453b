/**
 * Multiple-testing adjustments. Both take raw p-values and return adjusted ones in input order;
 * null (a test that could not be run) stays null and does not count towards the family size.
 */

function ranked(pValues: readonly (number | null)[]): { index: number; p: number }[] {
  const out: { index: number; p: number }[] = [];
  pValues.forEach((p, index) => {
    if (p !== null && !Number.isNaN(p)) out.push({ index, p });
  });
  // Stable on ties, so equal p-values keep their input order.
  return out.sort((a, b) => a.p - b.p || a.index - b.index);
}

/** Holm's step-down adjustment (controls the family-wise error rate under any dependence). */
export function holm(pValues: readonly (number | null)[]): (number | null)[] {
  const out: (number | null)[] = pValues.map(() => null);
  const sorted = ranked(pValues);
  const m = sorted.length;
  let running = 0;
  sorted.forEach(({ index, p }, i) => {
    running = Math.max(running, Math.min(1, (m - i) * p));
    out[index] = running;
  });
  return out;
}

/** Benjamini-Hochberg step-up adjustment (controls the false discovery rate). */
export function benjaminiHochberg(pValues: readonly (number | null)[]): (number | null)[] {
  const out: (number | null)[] = pValues.map(() => null);
  const sorted = ranked(pValues);
  const m = sorted.length;
  let running = 1;
  for (let i = m - 1; i >= 0; i--) {
    const { index, p } = sorted[i] as { index: number; p: number };
    running = Math.min(running, (m / (i + 1)) * p);
    out[index] = Math.min(1, running);
  }
  return out;
}

export type Adjustment = 'holm' | 'bh';

export function adjust(pValues: readonly (number | null)[], method: Adjustment): (number | null)[] {
  return method === 'holm' ? holm(pValues) : benjaminiHochberg(pValues);
}
