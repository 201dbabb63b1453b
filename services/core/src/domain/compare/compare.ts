/**
 * compare(): the comparison fields of one pair, computed at write time from the baseline's
 * and the candidate's JSON outputs under the experiment's OutputSpec.
 */
import type { Comparison } from '../events.ts';
import { formatPath, getPathSegments, parsePath, type PathSegment } from '../json-path.ts';
import { diffValues, type DiffOptions } from './diff.ts';
import { canonicalJson, parseOutput, type ParsedOutput } from './json.ts';
import { rankingMetrics } from './ranking.ts';
import { parseOutputSpec, type OutputSpec, type ResolvedOutputSpec } from './spec.ts';

// Object.hasOwn is slower than this on Node 20's V8 (see json-path.ts).
const hasOwn = Object.prototype.hasOwnProperty;

/** At most this many diffPaths are kept per pair (the first ones in sorted order). */
export const MAX_DIFF_PATHS = 50;
/** relError = |c−b| / max(|b|, REL_ERROR_FLOOR), so a zero baseline gives a large finite value. */
export const REL_ERROR_FLOOR = 1e-12;
/** Float tolerance of the whole-output diff filled in for the non-structured tasks. */
const WHOLE_OUTPUT_DIFF: DiffOptions = {
  floatTolerance: 1e-9,
  ignoreArrayOrder: false,
  ignore: [],
};
const ROOT: readonly PathSegment[] = [];

export interface Comparator {
  readonly spec: ResolvedOutputSpec;
  /** Compares two JSON-encoded outputs; null is a failed call. */
  compare(baselineOutput: string | null, candidateOutput: string | null): Comparison;
  /** Same, on outputs parsed once with parseOutput (one baseline, many candidates). */
  compareParsed(baseline: ParsedOutput, candidate: ParsedOutput): Comparison;
}

/** The Comparison of a pair whose outputs cannot be read: nothing agrees, nothing is measured. */
export function unreadableComparison(): Comparison {
  return {
    agree: false,
    baselineLabel: null,
    candidateLabel: null,
    baselineValue: null,
    candidateValue: null,
    absError: null,
    relError: null,
    withinTolerance: null,
    baselineRanking: [],
    candidateRanking: [],
    topkOverlap: null,
    jaccard: null,
    rbo: null,
    diffPaths: [],
  };
}

/**
 * Validates the spec once (UmbraError 'CONFIG_INVALID' on bad paths or values) and returns a
 * comparator with its paths pre-parsed.
 */
export function createComparator(spec: OutputSpec | ResolvedOutputSpec): Comparator {
  const resolved = parseOutputSpec(spec);
  const compareParsed = comparePairFor(resolved);
  return {
    spec: resolved,
    compareParsed,
    compare: (b, c) => compareParsed(parseOutput(b), parseOutput(c)),
  };
}

// Specs are long-lived config objects: compiling once per object keeps compare() cheap.
const compiled = new WeakMap<object, Comparator>();

/**
 * The Comparison of one pair. Compiles the spec on first use and caches it by object identity,
 * so a spec must not be mutated after use (config objects are frozen). createComparator is
 * the explicit form for hot paths.
 */
export function compare(
  spec: OutputSpec | ResolvedOutputSpec,
  baselineOutput: string | null,
  candidateOutput: string | null,
): Comparison {
  let comparator = compiled.get(spec);
  if (comparator === undefined) {
    comparator = createComparator(spec);
    compiled.set(spec, comparator);
  }
  return comparator.compare(baselineOutput, candidateOutput);
}

type PairFn = (baseline: ParsedOutput, candidate: ParsedOutput) => Comparison;

function comparePairFor(spec: ResolvedOutputSpec): PairFn {
  switch (spec.task) {
    case 'classification':
      return classification(spec);
    case 'regression':
      return regression(spec);
    case 'ranking':
      return ranking(spec);
    case 'structured':
      return structured(spec);
  }
}

/** Sorted differing paths of the whole outputs, capped; [] when the texts are identical. */
function wholeOutputDiff(b: ParsedOutput & { ok: true }, c: ParsedOutput & { ok: true }): string[] {
  if (b.raw === c.raw) return [];
  return cap(diffValues(b.value, c.value, ROOT, WHOLE_OUTPUT_DIFF));
}

function cap(paths: string[]): string[] {
  return paths.length > MAX_DIFF_PATHS ? paths.slice(0, MAX_DIFF_PATHS) : paths;
}

/** A label as text: strings as they are, anything else as canonical JSON; missing is null. */
function labelOf(v: unknown): string | null {
  if (v === undefined) return null;
  return typeof v === 'string' ? v : canonicalJson(v);
}

/** A finite number, or null: strings such as "NaN" and "0.5" are not numbers here. */
function numberOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function relError(abs: number, baseline: number): number {
  return abs / Math.max(Math.abs(baseline), REL_ERROR_FLOOR);
}

function classification(spec: Extract<ResolvedOutputSpec, { task: 'classification' }>): PairFn {
  const label = parsePath(spec.label);
  const score = spec.score === null ? null : parsePath(spec.score);
  return (b, c) => {
    if (!b.ok || !c.ok) return unreadableComparison();
    const result = unreadableComparison();
    const bl = labelOf(getPathSegments(b.value, label));
    const cl = labelOf(getPathSegments(c.value, label));
    result.baselineLabel = bl;
    result.candidateLabel = cl;
    result.agree = bl !== null && bl === cl;
    if (score !== null) {
      const bs = numberOf(getPathSegments(b.value, score));
      const cs = numberOf(getPathSegments(c.value, score));
      result.baselineValue = bs;
      result.candidateValue = cs;
      if (bs !== null && cs !== null) {
        const abs = Math.abs(cs - bs);
        result.absError = abs;
        result.relError = relError(abs, bs);
        result.withinTolerance = abs <= spec.scoreTolerance;
      }
    }
    result.diffPaths = wholeOutputDiff(b, c);
    return result;
  };
}

function regression(spec: Extract<ResolvedOutputSpec, { task: 'regression' }>): PairFn {
  const value = parsePath(spec.value);
  return (b, c) => {
    if (!b.ok || !c.ok) return unreadableComparison();
    const result = unreadableComparison();
    const bv = numberOf(getPathSegments(b.value, value));
    const cv = numberOf(getPathSegments(c.value, value));
    result.baselineValue = bv;
    result.candidateValue = cv;
    if (bv !== null && cv !== null) {
      const abs = Math.abs(cv - bv);
      result.absError = abs;
      result.relError = relError(abs, bv);
      // numpy.isclose(c, b): asymmetric, the baseline is the reference.
      result.withinTolerance = abs <= spec.atol + spec.rtol * Math.abs(bv);
      result.agree = result.withinTolerance;
    }
    result.diffPaths = wholeOutputDiff(b, c);
    return result;
  };
}

function ranking(spec: Extract<ResolvedOutputSpec, { task: 'ranking' }>): PairFn {
  const list = parsePath(spec.ranking);
  const idPath =
    spec.idField !== null && spec.idField.startsWith('$') ? parsePath(spec.idField) : null;
  const idField = spec.idField;
  const idOf = (item: unknown): string | null => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number') return Number.isFinite(item) ? String(item) : null;
    if (idField === null || item === null || typeof item !== 'object' || Array.isArray(item))
      return null;
    const id =
      idPath !== null
        ? getPathSegments(item, idPath)
        : hasOwn.call(item, idField)
          ? (item as Record<string, unknown>)[idField]
          : undefined;
    if (typeof id === 'string') return id;
    return typeof id === 'number' && Number.isFinite(id) ? String(id) : null;
  };
  /** The first k distinct ids, or null when the list is missing or an item has no id. */
  const topK = (output: unknown): string[] | null => {
    const items = getPathSegments(output, list);
    if (!Array.isArray(items)) return null;
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      if (ids.length >= spec.k) break;
      const id = idOf(item);
      if (id === null) return null;
      // A ranking is a permutation: a repeated id keeps its first (best) rank.
      if (seen.has(id)) continue;
      seen.add(id);
      ids.push(id);
    }
    return ids;
  };
  return (b, c) => {
    if (!b.ok || !c.ok) return unreadableComparison();
    const result = unreadableComparison();
    const br = topK(b.value);
    const cr = topK(c.value);
    result.baselineRanking = br ?? [];
    result.candidateRanking = cr ?? [];
    if (br !== null && cr !== null) {
      const m = rankingMetrics(br, cr, spec.k, spec.rboP);
      result.topkOverlap = m.topkOverlap;
      result.jaccard = m.jaccard;
      result.rbo = m.rbo;
      result.agree = m.identical;
    }
    result.diffPaths = wholeOutputDiff(b, c);
    return result;
  };
}

function structured(spec: Extract<ResolvedOutputSpec, { task: 'structured' }>): PairFn {
  const root = parsePath(spec.root);
  const rootPath = formatPath(root); // reported paths are absolute and canonical
  const options: DiffOptions = {
    floatTolerance: spec.floatTolerance,
    ignoreArrayOrder: spec.ignoreArrayOrder,
    ignore: spec.ignorePaths.map((p) => parsePath(p)),
  };
  return (b, c) => {
    if (!b.ok || !c.ok) return unreadableComparison();
    const result = unreadableComparison();
    const bv = getPathSegments(b.value, root);
    const cv = getPathSegments(c.value, root);
    if (bv === undefined || cv === undefined) {
      // A root that is not there differs at the root, so a mistyped root never makes all agree.
      result.diffPaths = [rootPath];
      return result;
    }
    const paths = b.raw === c.raw ? [] : diffValues(bv, cv, root, options);
    result.agree = paths.length === 0;
    result.diffPaths = cap(paths);
    return result;
  };
}
