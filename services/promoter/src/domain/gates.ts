/**
 * Gates: each gate of the spec judged on the evidence, overall and per segment, into a
 * GateResult that says what was tested, how, and why it concluded what it did.
 *
 * pass: the always-valid 1 − α bound named by `bound` is on the right side of the threshold.
 * fail: the whole confidence sequence is on the wrong side (the candidate is worse with
 *       confidence), e.g. agreement upper bound < 0.98.
 * inconclusive: neither, or below minimum evidence, or the evidence lacks the field.
 *
 * Per-segment gates are corrected with Bonferroni: each of the m segments' sequences is built at
 * α/m, so with probability ≥ 1 − α every segment's sequence covers its truth at every look.
 * Bonferroni rather than Holm because the verdict reads a bound, and Bonferroni bounds are
 * simultaneous intervals a human can read; Holm only sharpens p-values. Both raw and adjusted
 * values are reported.
 */
import { formatCount, formatLevel, formatNumber, formatPercent } from './format.ts';
import {
  CANARY_METRICS,
  type GateMetric,
  type GateSpec,
  type RolloutSpec,
  type Stage,
} from './spec.ts';
import {
  differenceBounds,
  differenceP,
  mixtureFor,
  proportionSequence,
  type BetaMixture,
  type ProportionSequence,
} from './stats/confidence-sequence.ts';
import type { Evidence, EvidenceSet, GateOutcome, GateResult, LatencyExceedance } from './types.ts';

/**
 * A failure whose anytime-valid p-value is below α/DECISIVE_FACTOR rolls back at once: the
 * sequence at level α/20 (0.25 % for α = 5 %) excludes the threshold too, so waiting for a
 * second failing evaluation would only expose more traffic. Point-estimate gates are never
 * decisive.
 */
export const DECISIVE_FACTOR = 20;

/** Appended to the reason of a decisive failure. */
export const DECISIVE_NOTE = `; decisive (anytime p ≤ α/${DECISIVE_FACTOR})`;

export const METHOD_CS =
  'confidence-sequence (beta-binomial mixture; Robbins 1970, Howard et al. 2021)';
export const METHOD_POINT = 'point estimate with minimum evidence (not always-valid)';

const LABEL: Record<GateMetric, string> = {
  agreement: 'agreement',
  candidate_error_rate: 'candidate error rate',
  timeout_rate: 'timeout rate',
  latency_p99_ratio: 'p99 latency ratio',
  latency_p95_ratio: 'p95 latency ratio',
  psi: 'PSI',
  js: 'JS distance',
  canary_error_rate_diff: 'canary − stable error rate',
  canary_latency_p99_ratio: 'canary/stable p99 latency ratio',
};

/** True when the gate can be judged in this stage (canary gates need a live split). */
export function gateApplies(gate: GateSpec, stage: Stage): boolean {
  return !CANARY_METRICS.includes(gate.metric) || (stage.weight > 0 && stage.weight < 100);
}

/** Every applicable gate of the spec, overall then per segment, in spec order. */
export function evaluateGates(
  spec: RolloutSpec,
  evidence: EvidenceSet,
  stage: Stage,
): GateResult[] {
  const out: GateResult[] = [];
  for (const gate of spec.gates) {
    if (!gateApplies(gate, stage)) continue;
    out.push(judge(spec, gate, evidence.overall, { alpha: spec.alpha, m: 1 }));
    if (!gate.perSegment) continue;
    const keys = gate.perSegment.keys;
    // Every segment the edges sent counts towards m, judged or not: m is fixed by the family.
    const segments = evidence.segments.filter(
      (e) => e.segment !== null && keys.includes(e.segment.key),
    );
    const m = segments.length;
    for (const e of segments) out.push(judge(spec, gate, e, { alpha: spec.alpha / m, m }));
    // A key without segments means the edges did not compute it: a regression there would go
    // unseen, so the gate cannot pass.
    for (const key of keys) {
      if (segments.some((e) => e.segment?.key === key)) continue;
      out.push(missingSegments(gate, key, evidence.overall.window));
    }
  }
  return out;
}

function missingSegments(
  gate: GateSpec,
  key: string,
  window: { from: number; to: number },
): GateResult {
  return {
    gate: gate.name,
    metric: gate.metric,
    segment: { key, value: '*' },
    value: null,
    lower: null,
    upper: null,
    pValue: null,
    n: 0,
    threshold: gate.threshold,
    op: gate.op,
    outcome: 'inconclusive',
    method: 'per-segment evidence required by perSegment.keys',
    query: `segments[key=${key}]`,
    window: { from: window.from, to: window.to },
    reason: `${key}=*: inconclusive: no ${key} segments in the evidence`,
  };
}

interface Family {
  /** α for this result after the correction. */
  alpha: number;
  m: number;
}

/** What a gate read from the evidence. */
type Reading =
  | { kind: 'missing'; what: string; query: string; n: number }
  | { kind: 'short'; have: number; need: number; unit: string; query: string }
  | { kind: 'point'; value: number; n: number; query: string; method: string }
  | {
      kind: 'sequence';
      /** Point estimate in the gate's own terms (a ratio for the latency gates). */
      value: number | null;
      n: number;
      query: string;
      /** The tested statistic; for most gates the metric itself. */
      estimate: number | null;
      /** The tested proportion's sequence; with `two`, the difference one − two. */
      one: ProportionSequence;
      two?: ProportionSequence;
      /** Where the anytime p-value is taken: the threshold (or the exceedance limit). */
      at: number;
      /** Set when the tested statistic is an exceedance share standing in for a latency ratio. */
      exceedance?: {
        quantile: number;
        ratio: number;
        limit: number;
        k: number;
        n: number;
        against: string;
      };
      method: string;
    };

function judge(spec: RolloutSpec, gate: GateSpec, e: Evidence, family: Family): GateResult {
  const method = methodFor(gate, family, spec.alpha);
  const reading = read(spec, gate, e, method);
  const where = e.segment ? `${e.segment.key}=${e.segment.value}: ` : '';
  const label = LABEL[gate.metric];
  if (reading.kind === 'missing') {
    const r = resultOf(
      gate,
      e,
      family,
      reading.query,
      'inconclusive',
      null,
      null,
      null,
      null,
      reading.n,
      `${where}inconclusive: no ${reading.what} in the evidence`,
      method,
    );
    addMultiplicity(r, family, null, null, null);
    return r;
  }
  if (reading.kind === 'short') {
    const more = reading.need - reading.have;
    const reason = `${where}inconclusive: ${formatCount(reading.have)} of ${formatCount(reading.need)} ${reading.unit}, needs ${formatCount(more)} more ${reading.unit}`;
    const r = resultOf(
      gate,
      e,
      family,
      reading.query,
      'inconclusive',
      null,
      null,
      null,
      null,
      reading.have,
      reason,
      method,
    );
    r.needed = more;
    addMultiplicity(r, family, null, null, null);
    return r;
  }

  if (reading.kind === 'point') {
    const ok = gate.op === '>=' ? reading.value >= gate.threshold : reading.value <= gate.threshold;
    const cmp = ok ? (gate.op === '>=' ? '≥' : '≤') : gate.op === '>=' ? '<' : '>';
    const reason = `${where}${ok ? 'pass' : 'fail'}: ${label} ${formatNumber(reading.value)} ${cmp} ${gate.threshold} at n=${formatCount(reading.n)} (point estimate)`;
    const r = resultOf(
      gate,
      e,
      family,
      reading.query,
      ok ? 'pass' : 'fail',
      reading.value,
      null,
      null,
      null,
      reading.n,
      reason,
      reading.method,
    );
    r.decisive = false;
    addMultiplicity(r, family, null, null, null);
    return r;
  }

  const { lower, upper } = boundsOf(reading, family.alpha);
  const raw = family.m > 1 ? boundsOf(reading, spec.alpha) : { lower, upper };
  const rawP = reading.two
    ? differenceP(reading.one, reading.two, reading.at)
    : reading.one.pValue(reading.at);
  const adjustedP = Math.min(1, rawP * family.m);
  // The latency ratio gates test a share against its limit; everything else tests the metric.
  const x = reading.exceedance;
  const limit = x ? x.limit : gate.threshold;
  const pick = gate.bound === 'lower' ? lower : gate.bound === 'upper' ? upper : reading.estimate;
  let outcome: GateOutcome;
  if (gate.op === '>=' ? upper < limit : lower > limit) outcome = 'fail';
  else if (pick !== null && (gate.op === '>=' ? pick >= limit : pick <= limit)) outcome = 'pass';
  else outcome = 'inconclusive';
  const decisive = outcome === 'fail' && adjustedP <= spec.alpha / DECISIVE_FACTOR;

  const reason = `${where}${explain(gate, reading, outcome, { lower, upper, pick, limit, level: formatLevel(family.alpha), decisive, m: family.m })}`;
  // Latency ratio gates keep lower/upper null: their bounds are on the share, in `tested`.
  const r = resultOf(
    gate,
    e,
    family,
    reading.query,
    outcome,
    reading.value,
    x ? null : lower,
    x ? null : upper,
    adjustedP,
    reading.n,
    reason,
    reading.method,
  );
  r.decisive = decisive;
  addMultiplicity(r, family, raw.lower, raw.upper, rawP);
  if (x) {
    r.tested = {
      statistic: `share of ${x.against === 'baseline' ? 'candidate' : 'canary'} latencies above ${x.ratio} × ${x.against} p${Math.round(x.quantile * 100)}`,
      value: reading.estimate,
      lower,
      upper,
      limit: x.limit,
      k: x.k,
      n: x.n,
    };
  }
  return r;
}

// Built field by field (no object spread, no closure): this runs ~10 times per evaluation and
// hundreds of thousands of times per harness run.
function resultOf(
  gate: GateSpec,
  e: Evidence,
  family: Family,
  query: string,
  outcome: GateOutcome,
  value: number | null,
  lower: number | null,
  upper: number | null,
  pValue: number | null,
  n: number,
  reason: string,
  method: string,
): GateResult {
  return {
    gate: gate.name,
    metric: gate.metric,
    segment: e.segment ? { key: e.segment.key, value: e.segment.value } : null,
    value,
    lower,
    upper,
    pValue,
    n,
    threshold: gate.threshold,
    op: gate.op,
    outcome,
    method,
    query,
    window: { from: e.window.from, to: e.window.to },
    reason,
    alpha: family.alpha,
  };
}

function boundsOf(
  r: Extract<Reading, { kind: 'sequence' }>,
  alpha: number,
): { lower: number; upper: number } {
  if (r.two) return differenceBounds(r.one, r.two, alpha);
  return { lower: r.one.bound(alpha, 'lower'), upper: r.one.bound(alpha, 'upper') };
}

function addMultiplicity(
  r: GateResult,
  family: Family,
  rawLower: number | null,
  rawUpper: number | null,
  rawPValue: number | null,
): void {
  if (family.m <= 1) return;
  r.multiplicity = {
    method: 'bonferroni',
    m: family.m,
    rawLower,
    rawUpper,
    rawPValue,
    adjustedPValue: rawPValue === null ? null : Math.min(1, rawPValue * family.m),
  };
}

function explain(
  gate: GateSpec,
  r: Extract<Reading, { kind: 'sequence' }>,
  outcome: GateOutcome,
  x: {
    lower: number;
    upper: number;
    pick: number | null;
    limit: number;
    level: string;
    decisive: boolean;
    m: number;
  },
): string {
  const n = formatCount(r.n);
  const seg = x.m > 1 ? `, Bonferroni over ${x.m} segments` : '';
  const decisive = x.decisive ? DECISIVE_NOTE : '';
  const ge = gate.op === '>=';
  const boundName = gate.bound === 'value' ? 'estimate' : `${gate.bound} bound`;
  if (r.exceedance) {
    const e = r.exceedance;
    const who = e.against === 'baseline' ? 'candidate' : 'canary';
    const share = `${formatPercent(r.estimate)} of ${who} latencies above ${e.ratio} × ${e.against} p${Math.round(e.quantile * 100)}`;
    const point = r.value === null ? '' : `, point ratio ${formatNumber(r.value)}`;
    if (outcome === 'pass') {
      return `pass: ${share} (${boundName} ${formatPercent(x.pick)} ≤ ${formatPercent(e.limit)}) at n=${n}, so ${LABEL[gate.metric]} ≤ ${gate.threshold} with ${x.level} always-valid confidence${seg}${point}`;
    }
    if (outcome === 'fail') {
      return `fail: ${share} (lower bound ${formatPercent(x.lower)} > ${formatPercent(e.limit)}) at n=${n}: ${LABEL[gate.metric]} > ${gate.threshold} with ${x.level} always-valid confidence${seg}${point}${decisive}`;
    }
    return `inconclusive: ${share}, ${boundName} ${formatPercent(x.pick)} > ${formatPercent(e.limit)} at n=${n}${seg}${point}, needs more evidence`;
  }
  const label = LABEL[gate.metric];
  const est = `estimate ${formatNumber(r.estimate)}`;
  if (outcome === 'pass') {
    return `pass: ${label} ${boundName} ${formatNumber(x.pick)} ${gate.op === '>=' ? '≥' : '≤'} ${gate.threshold} at n=${n} (${est}, ${x.level} always-valid${seg})`;
  }
  if (outcome === 'fail') {
    const bound = ge
      ? `upper bound ${formatNumber(x.upper)} < `
      : `lower bound ${formatNumber(x.lower)} > `;
    return `fail: ${label} ${bound}${gate.threshold} at n=${n} (${est}): worse than the gate with ${x.level} always-valid confidence${seg}${decisive}`;
  }
  return `inconclusive: ${label} ${boundName} ${formatNumber(x.pick)} ${ge ? '<' : '>'} ${gate.threshold} at n=${n} (${est}${seg}), needs more evidence`;
}

function methodFor(gate: GateSpec, family: Family, alpha: number): string {
  const seg =
    family.m > 1
      ? `, Bonferroni over ${family.m} segments (alpha ${round(family.alpha)} each)`
      : '';
  switch (gate.metric) {
    case 'latency_p99_ratio':
    case 'latency_p95_ratio':
    case 'canary_latency_p99_ratio':
      return `${METHOD_CS} on the exceedance share, alpha ${alpha}${seg}`;
    case 'canary_error_rate_diff':
      return `${METHOD_CS} per arm at alpha/2, difference of bounds, alpha ${alpha}${seg}`;
    case 'psi':
    case 'js':
      return METHOD_POINT;
    default:
      return `${METHOD_CS}, alpha ${alpha}${seg}`;
  }
}

function pointFallbackNote(gate: GateSpec): string {
  return `the evidence has no exceedance counts at ratio ${gate.threshold}, so the ${LABEL[gate.metric]} is compared as a point estimate`;
}

function round(x: number): number {
  return Number(x.toPrecision(6));
}

// ---------------------------------------------------------------------------------------------
// Reading the evidence.

function read(spec: RolloutSpec, gate: GateSpec, e: Evidence, method: string): Reading {
  const minPairs = e.segment ? spec.evidence.minPerSegment : spec.evidence.minPairs;
  const fallback = `${METHOD_POINT}; ${pointFallbackNote(gate)}`;
  switch (gate.metric) {
    case 'agreement':
      return proportion(
        gate,
        e.pairs.agreed,
        e.pairs.compared,
        minPairs,
        'compared pairs',
        'pairs.agreed / pairs.compared',
        method,
      );
    case 'candidate_error_rate':
      return proportion(
        gate,
        e.candidateCalls.errors,
        e.candidateCalls.n,
        minPairs,
        'replay calls',
        'candidateCalls.errors / candidateCalls.n',
        method,
      );
    case 'timeout_rate':
      return proportion(
        gate,
        e.candidateCalls.timeouts,
        e.candidateCalls.n,
        minPairs,
        'replay calls',
        'candidateCalls.timeouts / candidateCalls.n',
        method,
      );
    case 'latency_p99_ratio':
    case 'latency_p95_ratio': {
      const quantile = gate.metric === 'latency_p99_ratio' ? 0.99 : 0.95;
      const [b, c] =
        quantile === 0.99
          ? [e.latency.baselineP99, e.latency.candidateP99]
          : [e.latency.baselineP95, e.latency.candidateP95];
      const ratio = b !== null && c !== null && b > 0 ? c / b : null;
      const x = findExceedance(e.latency.exceedance, quantile, gate.threshold);
      const field = `latency.exceedance[quantile=${quantile}, ratio=${gate.threshold}]`;
      if (x)
        return exceedance(gate, x, ratio, minPairs, 'latency pairs', field, 'baseline', method);
      const q = quantile === 0.99 ? 'P99' : 'P95';
      return pointOrShort(
        ratio,
        e.latency.n,
        minPairs,
        'latency pairs',
        `latency.candidate${q} / latency.baseline${q}`,
        `${q.toLowerCase()} latencies`,
        fallback,
      );
    }
    case 'psi':
      return pointOrShort(
        e.drift.psi,
        e.drift.n,
        minPairs,
        'drift samples',
        'drift.psi',
        'PSI',
        METHOD_POINT,
      );
    case 'js':
      return pointOrShort(
        e.drift.jensenShannon,
        e.drift.n,
        minPairs,
        'drift samples',
        'drift.jensenShannon',
        'Jensen-Shannon distance',
        METHOD_POINT,
      );
    case 'canary_error_rate_diff': {
      const query =
        'canary.canary.errors / canary.canary.n − canary.stable.errors / canary.stable.n';
      if (!e.canary) return { kind: 'missing', what: 'canary arms', query, n: 0 };
      const { stable, canary } = e.canary;
      const minArm = e.segment ? spec.evidence.minPerSegment : spec.evidence.minRequestsPerArm;
      const short = shortest(
        [
          { have: canary.n, unit: 'requests on the canary arm' },
          { have: stable.n, unit: 'requests on the stable arm' },
        ],
        minArm,
        query,
      );
      if (short) return short;
      // Per-arm priors centred where error rates of this size live; fixed by the spec.
      const prior = mixtureFor(Math.min(0.5, Math.max(1e-3, Math.abs(gate.threshold))));
      const estimate = canary.errors / canary.n - stable.errors / stable.n;
      const one = proportionSequence(canary.errors, canary.n, prior);
      const two = proportionSequence(stable.errors, stable.n, prior);
      return {
        kind: 'sequence',
        value: estimate,
        estimate,
        n: canary.n + stable.n,
        query,
        one,
        two,
        at: gate.threshold,
        method,
      };
    }
    case 'canary_latency_p99_ratio': {
      if (!e.canary) return { kind: 'missing', what: 'canary arms', query: 'canary', n: 0 };
      const { stable, canary } = e.canary;
      const minArm = e.segment ? spec.evidence.minPerSegment : spec.evidence.minRequestsPerArm;
      const ratio =
        canary.latencyP99 !== null && stable.latencyP99 !== null && stable.latencyP99 > 0
          ? canary.latencyP99 / stable.latencyP99
          : null;
      const x = findExceedance(e.canary.exceedance, 0.99, gate.threshold);
      const field = `canary.exceedance[quantile=0.99, ratio=${gate.threshold}]`;
      if (x)
        return exceedance(
          gate,
          x,
          ratio,
          minArm,
          'requests on the canary arm',
          field,
          'stable',
          method,
        );
      return pointOrShort(
        ratio,
        Math.min(canary.n, stable.n),
        minArm,
        'requests per arm',
        'canary.canary.latencyP99 / canary.stable.latencyP99',
        'arm p99 latencies',
        fallback,
      );
    }
  }
}

function proportion(
  gate: GateSpec,
  k: number,
  n: number,
  min: number,
  unit: string,
  query: string,
  method: string,
): Reading {
  if (n < min) return { kind: 'short', have: n, need: min, unit, query };
  const prior = mixtureFor(gate.threshold);
  return sequence(k, n, gate.threshold, prior, k / n, query, method);
}

function sequence(
  k: number,
  n: number,
  at: number,
  prior: BetaMixture,
  value: number | null,
  query: string,
  method: string,
): Extract<Reading, { kind: 'sequence' }> {
  return {
    kind: 'sequence',
    value,
    estimate: k / n,
    n,
    query,
    one: proportionSequence(k, n, prior),
    at,
    method,
  };
}

function exceedance(
  gate: GateSpec,
  x: LatencyExceedance,
  ratio: number | null,
  min: number,
  unit: string,
  query: string,
  against: 'baseline' | 'stable',
  method: string,
): Reading {
  if (x.n < min) return { kind: 'short', have: x.n, need: min, unit, query };
  // Rounded so 1 − 0.99 reads 0.01 in results, not 0.010000000000000009.
  const limit = Number((1 - x.quantile).toPrecision(12));
  const reading = sequence(x.k, x.n, limit, mixtureFor(limit), ratio, `${query}.k / .n`, method);
  reading.exceedance = {
    quantile: x.quantile,
    ratio: gate.threshold,
    limit,
    k: x.k,
    n: x.n,
    against,
  };
  return reading;
}

function pointOrShort(
  value: number | null,
  n: number,
  min: number,
  unit: string,
  query: string,
  what: string,
  method: string,
): Reading {
  if (n < min) return { kind: 'short', have: n, need: min, unit, query };
  if (value === null || !Number.isFinite(value)) return { kind: 'missing', what, query, n };
  return { kind: 'point', value, n, query, method };
}

function shortest(
  arms: { have: number; unit: string }[],
  min: number,
  query: string,
): Reading | null {
  const worst = arms.reduce((a, b) => (b.have < a.have ? b : a));
  return worst.have < min
    ? { kind: 'short', have: worst.have, need: min, unit: worst.unit, query }
    : null;
}

function findExceedance(
  list: LatencyExceedance[] | undefined,
  quantile: number,
  ratio: number,
): LatencyExceedance | undefined {
  return list?.find(
    (x) => Math.abs(x.quantile - quantile) < 1e-9 && Math.abs(x.ratio - ratio) < 1e-9,
  );
}
