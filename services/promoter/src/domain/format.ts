/** Number formatting for reasons and summaries: deterministic, locale-free. */

/** 1204 → '1 204' (a space between thousands, as in the reasons' "n=1 204"). */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** Four significant digits: 0.9791, 0.004912, 1.100. */
export function formatNumber(x: number | null): string {
  if (x === null || Number.isNaN(x)) return 'n/a';
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  return x.toPrecision(4);
}

/** 0.00587 → '0.587 %'. */
export function formatPercent(x: number | null): string {
  if (x === null || Number.isNaN(x)) return 'n/a';
  if (x === 0) return '0 %';
  return `${Number((x * 100).toPrecision(3))} %`;
}

/** The confidence level of α: 0.05 → '95 %', 0.0125 → '98.75 %'. */
export function formatLevel(alpha: number): string {
  let text = levels.get(alpha);
  if (text === undefined) {
    text = `${Number(((1 - alpha) * 100).toPrecision(6))} %`;
    if (levels.size < 1000) levels.set(alpha, text);
  }
  return text;
}

// A handful of distinct α per spec; formatted once.
const levels = new Map<number, string>();
