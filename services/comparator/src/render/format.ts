/**
 * Number formatting shared by the table, JSON and HTML renderers. Every formatter takes null
 * (no data) and prints "n/a" rather than a misleading 0.
 */

export const NA = 'n/a';

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** 19960 → "19 960": groups of three so a count is read at a glance. */
export function fmtCount(n: number | null | undefined, sep = ' '): string {
  if (!finite(n)) return NA;
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.round(Math.abs(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** A fraction as a percentage number without the sign: 0.99312 → "99.31". */
export function pctNumber(v: number | null | undefined, digits = 2): string {
  if (!finite(v)) return NA;
  const x = v * 100;
  // "-0.00" reads like a regression; zero has no sign.
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** 0.99312 → "99.31 %". */
export function fmtPct(v: number | null | undefined, digits = 2): string {
  return finite(v) ? `${pctNumber(v, digits)} %` : NA;
}

/** Bounds of a fraction as percentages: "[99.18, 99.42]". Bounds that print as 0.00 or 100.00 print as "0" and "100". */
export function fmtPctInterval(lower: number | null | undefined, upper: number | null | undefined, digits = 2): string {
  if (!finite(lower) || !finite(upper)) return '';
  const bound = (b: number) => {
    const text = pctNumber(b, digits);
    return Number(text) === 0 ? '0' : Number(text) === 100 ? '100' : text;
  };
  return `[${bound(lower)}, ${bound(upper)}]`;
}

/** Milliseconds with a precision that suits the magnitude: 0.42, 4.2, 42, 420. */
export function fmtMs(v: number | null | undefined): string {
  if (!finite(v)) return NA;
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ms`;
}

/** A plain number with up to `digits` significant decimals, e.g. PSI 0.0123. */
export function fmtNum(v: number | null | undefined, digits = 3): string {
  if (!finite(v)) return NA;
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return fmtCount(v);
  if (a >= 1) return v.toFixed(Math.min(digits, 2));
  // Small values keep `digits` significant figures, so 0.00042 does not print as 0.000.
  return Number(v.toPrecision(digits)).toString();
}

export function fmtInterval(lower: number | null | undefined, upper: number | null | undefined, fmt: (v: number) => string = (v) => fmtNum(v)): string {
  if (!finite(lower) || !finite(upper)) return '';
  return `[${unsignZero(fmt(lower))}, ${unsignZero(fmt(upper))}]`;
}

/** "-0.00" reads like a regression; a value that rounds to zero has no sign. */
function unsignZero(text: string): string {
  return text.startsWith('-') && Number.parseFloat(text) === 0 ? text.slice(1) : text;
}

/** A ratio as "×1.04". */
export function fmtRatio(v: number | null | undefined): string {
  return finite(v) ? `×${v.toFixed(2)}` : NA;
}

/** p-values: "p=0.031", "p<0.001"; the adjusted one is named when it differs. */
export function fmtP(raw: number | null | undefined, adjusted?: number | null): string {
  const one = (p: number) => (p < 0.001 ? '<0.001' : `=${p < 0.01 ? p.toFixed(4) : p.toFixed(3)}`);
  if (finite(adjusted) && finite(raw) && one(adjusted) !== one(raw)) return `p${one(raw)} (adj. p${one(adjusted)})`;
  if (finite(adjusted)) return `p${one(adjusted)}`;
  if (finite(raw)) return `p${one(raw)}`;
  return '';
}

/** Epoch ms as ISO 8601 UTC to the second: the window is shown the way the CLI takes it. */
export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return NA;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration in ms as "1 h", "24 h", "15 min", "90 s" — for window widths. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return NA;
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  const min = s / 60;
  if (min < 120) return `${Math.round(min)} min`;
  const h = min / 60;
  return h < 72 ? `${Number(h.toFixed(1))} h` : `${Number((h / 24).toFixed(1))} d`;
}

export function segmentLabel(key: string, value: string): string {
  return key === '' ? 'overall' : `${key}=${value}`;
}
