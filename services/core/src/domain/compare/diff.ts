/**
 * Structural diff of two parsed JSON values: the sorted JSON paths at which they differ.
 */
import { formatKey, formatPath, segmentMatches, type PathSegment } from '../json-path.ts';

// Object.hasOwn is slower than this on Node 20's V8 (see json-path.ts).
const hasOwn = Object.prototype.hasOwnProperty;

export interface DiffOptions {
  /** Numbers a, b are equal when |a−b| ≤ tol·max(1, |a|, |b|). */
  floatTolerance: number;
  /** Arrays compare as multisets of order-insensitive canonical JSON. */
  ignoreArrayOrder: boolean;
  /** Parsed absolute patterns (may hold wildcards); a match covers the path and below it. */
  ignore: readonly (readonly PathSegment[])[];
}

type Pattern = readonly PathSegment[];

/**
 * Every path at which `a` and `b` (the values at `at`) differ, sorted by code unit.
 * A missing key differs at that key, a type change at that path, an extra array element at
 * its index; with ignoreArrayOrder an array that differs is reported once, at its own path.
 */
export function diffValues(
  a: unknown,
  b: unknown,
  at: readonly PathSegment[],
  options: DiffOptions,
): string[] {
  let alive: Pattern[] = [];
  for (const p of options.ignore) {
    let matches = true;
    for (let i = 0; i < Math.min(p.length, at.length) && matches; i += 1) {
      matches = segmentMatches(p[i] as PathSegment, at[i] as PathSegment);
    }
    if (!matches) continue;
    if (p.length <= at.length) return []; // the whole compared value is ignored
    alive.push(p);
  }
  if (alive.length === 0) alive = NONE;
  const out: string[] = [];
  walk(a, b, formatPath(at), at.length, alive, options, out);
  return out.sort();
}

const NONE: Pattern[] = [];

/** Patterns still alive below the child (`key`, or `index` when key is null); null if one ignores it. */
function childPatterns(
  alive: Pattern[],
  depth: number,
  key: string | null,
  index: number,
): Pattern[] | null {
  if (alive.length === 0) return alive;
  let next: Pattern[] | null = null;
  for (const p of alive) {
    const s = p[depth] as PathSegment;
    const hit =
      s.kind === 'wildcard' ||
      (key !== null ? s.kind === 'key' && s.key === key : s.kind === 'index' && s.index === index);
    if (!hit) continue;
    if (p.length === depth + 1) return null;
    (next ??= []).push(p);
  }
  return next ?? NONE;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function walk(
  a: unknown,
  b: unknown,
  path: string,
  depth: number,
  alive: Pattern[],
  o: DiffOptions,
  out: string[],
): void {
  if (a === b) return;
  const ta = typeof a;
  if (ta === 'number' && typeof b === 'number') {
    if (!numbersEqual(a as number, b, o.floatTolerance)) out.push(path);
    return;
  }
  const ka = kindOf(a);
  if (ka !== kindOf(b) || (ka !== 'array' && ka !== 'object')) {
    out.push(path); // a type change, or two different scalars
    return;
  }
  if (ka === 'array') {
    const xa = a as unknown[];
    const xb = b as unknown[];
    if (o.ignoreArrayOrder) {
      if (!sameMultiset(xa, xb, depth, alive)) out.push(path);
      return;
    }
    const n = Math.max(xa.length, xb.length);
    for (let i = 0; i < n; i += 1) {
      if (i < xa.length && i < xb.length && scalarsEqual(xa[i], xb[i], o.floatTolerance)) continue;
      const next = childPatterns(alive, depth, null, i);
      if (next === null) continue;
      const childPath = `${path}[${i}]`;
      if (i >= xa.length || i >= xb.length) out.push(childPath);
      else walk(xa[i], xb[i], childPath, depth + 1, next, o, out);
    }
    return;
  }
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  for (const key of Object.keys(oa)) {
    const present = hasOwn.call(ob, key);
    if (present && scalarsEqual(oa[key], ob[key], o.floatTolerance)) continue;
    const next = childPatterns(alive, depth, key, -1);
    if (next === null) continue;
    if (!present) out.push(path + formatKey(key));
    else walk(oa[key], ob[key], path + formatKey(key), depth + 1, next, o, out);
  }
  for (const key of Object.keys(ob)) {
    if (hasOwn.call(oa, key)) continue;
    if (childPatterns(alive, depth, key, -1) === null) continue;
    out.push(path + formatKey(key));
  }
}

/** A cheap early exit, taken before any path text is built: equal scalars need no path. */
function scalarsEqual(a: unknown, b: unknown, tol: number): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && numbersEqual(a, b, tol));
}

/** Equal within a tolerance that is absolute below 1 and relative above it. */
export function numbersEqual(a: number, b: number, tol: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

function sameMultiset(a: unknown[], b: unknown[], depth: number, alive: Pattern[]): boolean {
  const ca = elementKeys(a, depth, alive);
  const cb = elementKeys(b, depth, alive);
  if (ca.length !== cb.length) return false;
  ca.sort();
  cb.sort();
  for (let i = 0; i < ca.length; i += 1) if (ca[i] !== cb[i]) return false;
  return true;
}

function elementKeys(xs: unknown[], depth: number, alive: Pattern[]): string[] {
  const keys: string[] = [];
  for (let i = 0; i < xs.length; i += 1) {
    // Index patterns under an unordered array apply to the element's original position.
    const next = childPatterns(alive, depth, null, i);
    if (next !== null) keys.push(unorderedCanonical(xs[i], depth + 1, next));
  }
  return keys;
}

/**
 * Canonical JSON in which object keys are sorted, nested arrays are sorted too (order is
 * ignored all the way down) and ignored paths are left out.
 */
export function unorderedCanonical(v: unknown, depth: number, alive: Pattern[]): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${elementKeys(v, depth, alive).sort().join(',')}]`;
  const o = v as Record<string, unknown>;
  let out = '';
  for (const key of Object.keys(o).sort()) {
    const next = childPatterns(alive, depth, key, -1);
    if (next === null) continue;
    if (out !== '') out += ',';
    out += `${JSON.stringify(key)}:${unorderedCanonical(o[key], depth + 1, next)}`;
  }
  return `{${out}}`;
}
