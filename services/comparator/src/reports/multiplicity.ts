// services/core/src/domain/index.ts does not re-export stats/ yet (another owner's file); once it
// does, import from '@umbra/core/domain'.
import { adjust } from '@umbra/core/domain';
import type { MetricRow, Multiplicity } from './types.ts';

/**
 * Fills p_adjusted within each family: the rows of one metric of one report kind (all segments,
 * and for per-label or per-feature metrics all labels or features too). Under Holm a family
 * rejects at level α with family-wise error ≤ α whatever the dependence between segments; BH
 * bounds the false discovery rate instead. Rows without a p-value stay null.
 */
export function adjustFamilies(rows: MetricRow[], method: Multiplicity): MetricRow[] {
  const families = new Map<string, number[]>();
  rows.forEach((row, i) => {
    if (row.p_value === null) return;
    const key = `${row.report}\u0000${row.metric}`;
    const members = families.get(key);
    if (members) members.push(i);
    else families.set(key, [i]);
  });
  const out = rows.map((r) => ({ ...r }));
  for (const [key, members] of families) {
    const adjusted = adjust(
      members.map((i) => (rows[i] as MetricRow).p_value),
      method,
    );
    members.forEach((rowIndex, j) => {
      const row = out[rowIndex] as MetricRow;
      row.p_adjusted = adjusted[j] ?? null;
      row.details = { ...row.details, p_adjust: method, p_adjust_family: key.replace('\u0000', '/'), p_adjust_family_size: members.length };
    });
  }
  return out;
}
