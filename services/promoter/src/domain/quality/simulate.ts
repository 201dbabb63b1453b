/**
 * The decision-quality harness: many simulated rollouts with a known truth, run through the same
 * evaluate()/applyDecision() the promoter runs, counting how often the verdict is wrong.
 *
 * Each interval draws fresh counts (seeded PRNG): 2 000 shadow pairs split over four regions,
 * replay errors and timeouts, agreement, the share of candidate latencies above 1.1 × the
 * baseline p99 (latencies log-normal, σ = 0.5; a regressed candidate is the baseline × a factor),
 * output histograms over ten baseline deciles for PSI, and, while the canary takes 0 < w < 100 %
 * of 10 000 live requests, the two arms' errors and latency exceedance. Evidence is cumulative
 * since the stage started and resets when the rollout moves, as the edges compute it.
 *
 * Simplifications (stated in the results file too): the baseline's p99 is treated as known when
 * counting exceedances; pairs and arms are independent draws per interval (no diurnal drift).
 */
import { evaluate, applyDecision, initialState, isTerminal } from '../decide.ts';
import { formatCount } from '../format.ts';
import { parseRolloutSpec, rolloutPlan, type RolloutSpec } from '../spec.ts';
import type { Evidence, EvidenceSet, Phase } from '../types.ts';

// ---------------------------------------------------------------------------------------------
// Randomness.

/** A seeded uniform [0, 1) generator (splitmix32: fast, 2³² period, fine for simulation). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/**
 * Binomial(n, p). Exact inversion (walking the pmf) when the smaller tail's mean is below 200,
 * which covers every count the gates test here; above that a rounded normal approximation
 * (only histogram bins of ~200 per interval, where it is indistinguishable for PSI).
 */
export function binomial(rng: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(rng, n, 1 - p);
  const mean = n * p;
  if (mean < 200) {
    const u = rng();
    const ratio = p / (1 - p);
    let pmf = Math.exp(n * Math.log1p(-p));
    let cdf = pmf;
    let k = 0;
    while (u > cdf && k < n) {
      pmf *= (ratio * (n - k)) / (k + 1);
      k++;
      cdf += pmf;
      if (pmf < 1e-300 && k > mean) break;
    }
    return k;
  }
  const z = normal(rng);
  return Math.min(n, Math.max(0, Math.round(mean + z * Math.sqrt(mean * (1 - p)))));
}

/** Standard normal by Box-Muller. */
export function normal(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Multinomial(n, probs) by sequential conditional binomials. */
export function multinomial(rng: () => number, n: number, probs: readonly number[]): number[] {
  const out: number[] = [];
  let left = n;
  let mass = 1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    const k =
      i === probs.length - 1 ? left : binomial(rng, left, mass > 0 ? Math.min(1, p / mass) : 0);
    out.push(k);
    left -= k;
    mass -= p;
  }
  return out;
}

// Φ(x) through erfc (W. J. Cody-style rational approximation is overkill for simulation truth:
// Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, only sets the simulated exceedance share).
function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Φ⁻¹(0.99). */
const Z99 = 2.3263478740408408;

// ---------------------------------------------------------------------------------------------
// Scenarios.

export interface Truth {
  /** Agreement per region (a region missing here agrees at `agreement`). */
  agreement: number;
  agreementByRegion?: Record<string, number>;
  /** Replay error rate of the candidate (timeouts included). */
  candidateErrorRate: number;
  timeoutRate: number;
  /** Candidate latency = baseline latency × this factor. */
  latencyFactor: number;
  /** Live canary-arm latency factor, when it differs from what replay shows (default: latencyFactor). */
  canaryLatencyFactor?: number;
  /** PSI of the candidate's output distribution against the baseline's (over deciles). */
  outputPsi: number;
  stableErrorRate: number;
  canaryErrorRate: number;
}

export interface Scenario {
  name: string;
  /** A bad candidate must never reach 'done'; a good one must not be rolled back. */
  bad: boolean;
  truth: Truth;
}

export const GOOD_TRUTH: Truth = Object.freeze({
  agreement: 0.995,
  candidateErrorRate: 0.001,
  timeoutRate: 0.0005,
  latencyFactor: 1,
  outputPsi: 0,
  stableErrorRate: 0.001,
  canaryErrorRate: 0.001,
});

export const SCENARIOS: readonly Scenario[] = [
  { name: 'equal to the baseline', bad: false, truth: GOOD_TRUTH },
  {
    name: 'agreement 0.995 → 0.99 (within the 0.98 gate)',
    bad: false,
    truth: { ...GOOD_TRUTH, agreement: 0.99 },
  },
  { name: 'agreement 0.995 → 0.97', bad: true, truth: { ...GOOD_TRUTH, agreement: 0.97 } },
  { name: 'p99 latency +20 %', bad: true, truth: { ...GOOD_TRUTH, latencyFactor: 1.2 } },
  {
    name: 'error rate 0.1 % → 1 %',
    bad: true,
    truth: { ...GOOD_TRUTH, candidateErrorRate: 0.01, canaryErrorRate: 0.01 },
  },
  { name: 'output shift PSI 0.15', bad: true, truth: { ...GOOD_TRUTH, outputPsi: 0.15 } },
  {
    name: 'apac only: agreement 0.9 (overall 0.9855)',
    bad: true,
    truth: { ...GOOD_TRUTH, agreementByRegion: { apac: 0.9 } },
  },
  {
    name: 'agreement 0.995 → 0.975 (just below the gate)',
    bad: true,
    truth: { ...GOOD_TRUTH, agreement: 0.975 },
  },
  // Regressions replay cannot see (e.g. a dependency only live traffic reaches): only the
  // canary gates on the live arms can catch them.
  {
    name: 'live only: error rate 0.1 % → 1 % (replay clean)',
    bad: true,
    truth: { ...GOOD_TRUTH, canaryErrorRate: 0.01 },
  },
  {
    name: 'live only: p99 latency +20 % (replay clean)',
    bad: true,
    truth: { ...GOOD_TRUTH, canaryLatencyFactor: 1.2 },
  },
];

/**
 * Candidates right at the gate: slow to decide by design (the sequence needs many pairs to tell
 * 0.985 or 0.978 from 0.98). run.ts reports them at fewer rollouts with a longer horizon.
 */
export const NEAR_GATE_SCENARIOS: readonly Scenario[] = [
  {
    name: 'agreement 0.995 → 0.985 (inside the gate, close)',
    bad: false,
    truth: { ...GOOD_TRUTH, agreement: 0.985 },
  },
  {
    name: 'agreement 0.995 → 0.978 (below the gate, close)',
    bad: true,
    truth: { ...GOOD_TRUTH, agreement: 0.978 },
  },
];

export interface Traffic {
  pairsPerInterval: number;
  liveRequestsPerInterval: number;
  regions: readonly { value: string; share: number }[];
  /** σ of log latency. */
  latencySigma: number;
  /** Baseline median latency (ms), for the reported point ratio only. */
  latencyMedianMs: number;
}

export const TRAFFIC: Traffic = Object.freeze({
  pairsPerInterval: 2000,
  liveRequestsPerInterval: 10_000,
  regions: [
    { value: 'us', share: 0.45 },
    { value: 'eu', share: 0.35 },
    { value: 'apac', share: 0.1 },
    { value: 'latam', share: 0.1 },
  ],
  latencySigma: 0.5,
  latencyMedianMs: 50,
});

/** The spec the harness judges with; deploy/examples/rollout-canary.yaml holds the same gates. */
export const HARNESS_SPEC: Readonly<RolloutSpec> = parseRolloutSpec(
  {
    rollout: 'quality-harness',
    experiment: 'quality',
    candidate: 'candidate',
    baseline: 'baseline',
    strategy: {
      canary: { shadow: { minDuration: '10m' }, steps: [5, 10, 25, 50, 100], bakeTime: '10m' },
    },
    gates: [
      {
        name: 'agreement',
        metric: 'agreement',
        op: '>=',
        threshold: 0.98,
        perSegment: { keys: ['region'] },
      },
      { name: 'replay-errors', metric: 'candidate_error_rate', op: '<=', threshold: 0.005 },
      { name: 'timeouts', metric: 'timeout_rate', op: '<=', threshold: 0.005 },
      { name: 'p99-latency', metric: 'latency_p99_ratio', op: '<=', threshold: 1.1 },
      { name: 'output-drift', metric: 'psi', op: '<=', threshold: 0.1 },
      { name: 'canary-errors', metric: 'canary_error_rate_diff', op: '<=', threshold: 0.005 },
      { name: 'canary-p99', metric: 'canary_latency_p99_ratio', op: '<=', threshold: 1.1 },
    ],
    evidence: { minPairs: 1000, minPerSegment: 200, minRequestsPerArm: 500 },
    rollback: { afterFailures: 2 },
    alpha: 0.05,
    interval: '1m',
  },
  'quality harness spec',
);

const BINS = 10;
const UNIFORM = Array.from({ length: BINS }, () => 1 / BINS);

/** PSI = Σ (c − r) ln(c / r) over bins, shares floored at 1e-4 (Evidently's smoothing). */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const rn = reference.reduce((a, b) => a + b, 0);
  const cn = current.reduce((a, b) => a + b, 0);
  if (rn === 0 || cn === 0) return 0;
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(1e-4, (reference[i] as number) / rn);
    const c = Math.max(1e-4, (current[i] as number) / cn);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}

/** Decile shares tilted as exp(β·i) so that their PSI against uniform deciles is `target`. */
export function shiftedShares(target: number): number[] {
  if (target <= 0) return [...UNIFORM];
  const shares = (beta: number): number[] => {
    const w = UNIFORM.map((_, i) => Math.exp((beta * i) / (BINS - 1)));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / total);
  };
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (psi(UNIFORM, shares(mid)) < target) lo = mid;
    else hi = mid;
  }
  return shares((lo + hi) / 2);
}

/** Share of latencies above ratio × the baseline p99 when latencies are the baseline's × factor. */
export function exceedanceShare(ratio: number, factor: number, sigma: number): number {
  return 1 - normalCdf(Z99 + Math.log(ratio / factor) / sigma);
}

// ---------------------------------------------------------------------------------------------
// One rollout.

export interface RolloutRun {
  outcome: 'done' | 'rolled-back' | 'undecided';
  /** The stage the rollout ended in (or was in when rolled back). */
  endPhase: Phase;
  endStep: number;
  /** Weight when the rollback was decided (0 in shadow). */
  weightAtEnd: number;
  /** The last canary stage (weight 100) was reached. */
  reachedFinalStep: boolean;
  intervals: number;
  /** Shadow pairs generated from the start to the final decision. */
  pairs: number;
  /** Live requests the candidate served before the final decision (its exposure). */
  liveRequests: number;
  /** Gates that failed in the rollback decision. */
  failedGates: string[];
}

interface Accumulator {
  regions: Map<
    string,
    {
      n: number;
      compared: number;
      agreed: number;
      errors: number;
      timeouts: number;
      exceed: number;
    }
  >;
  refHist: number[];
  curHist: number[];
  stable: { n: number; errors: number };
  canary: { n: number; errors: number; exceed: number };
}

function emptyAccumulator(traffic: Traffic): Accumulator {
  return {
    regions: new Map(
      traffic.regions.map((r) => [
        r.value,
        { n: 0, compared: 0, agreed: 0, errors: 0, timeouts: 0, exceed: 0 },
      ]),
    ),
    refHist: new Array<number>(BINS).fill(0),
    curHist: new Array<number>(BINS).fill(0),
    stable: { n: 0, errors: 0 },
    canary: { n: 0, errors: 0, exceed: 0 },
  };
}

interface Prepared {
  truth: Truth;
  traffic: Traffic;
  shares: number[];
  shadowExceed: number;
  canaryExceed: number;
  exceedRatio: number;
  canaryRatio: number;
  baselineP99: number;
}

function prepare(spec: RolloutSpec, scenario: Scenario, traffic: Traffic): Prepared {
  const ratioOf = (metric: string): number =>
    spec.gates.find((g) => g.metric === metric)?.threshold ?? 1.1;
  const exceedRatio = ratioOf('latency_p99_ratio');
  const canaryRatio = ratioOf('canary_latency_p99_ratio');
  const t = scenario.truth;
  return {
    truth: t,
    traffic,
    shares: shiftedShares(t.outputPsi),
    shadowExceed: exceedanceShare(exceedRatio, t.latencyFactor, traffic.latencySigma),
    canaryExceed: exceedanceShare(
      canaryRatio,
      t.canaryLatencyFactor ?? t.latencyFactor,
      traffic.latencySigma,
    ),
    exceedRatio,
    canaryRatio,
    baselineP99: traffic.latencyMedianMs * Math.exp(Z99 * traffic.latencySigma),
  };
}

function drawInterval(rng: () => number, p: Prepared, acc: Accumulator, weight: number): number {
  const { truth, traffic } = p;
  let pairs = 0;
  for (const region of traffic.regions) {
    const a = acc.regions.get(region.value);
    if (!a) continue;
    const n = Math.round(traffic.pairsPerInterval * region.share);
    const timeouts = binomial(rng, n, truth.timeoutRate);
    const other = binomial(
      rng,
      n - timeouts,
      Math.max(0, (truth.candidateErrorRate - truth.timeoutRate) / (1 - truth.timeoutRate)),
    );
    const errors = timeouts + other;
    const compared = n - errors;
    const agreement = truth.agreementByRegion?.[region.value] ?? truth.agreement;
    a.n += n;
    a.timeouts += timeouts;
    a.errors += errors;
    a.compared += compared;
    a.agreed += binomial(rng, compared, agreement);
    a.exceed += binomial(rng, compared, p.shadowExceed);
    pairs += n;
  }
  const ref = multinomial(rng, pairs, UNIFORM);
  const cur = multinomial(rng, pairs, p.shares);
  for (let i = 0; i < BINS; i++) {
    acc.refHist[i] = (acc.refHist[i] as number) + (ref[i] as number);
    acc.curHist[i] = (acc.curHist[i] as number) + (cur[i] as number);
  }
  if (weight > 0 && weight < 100) {
    const canaryN = Math.round((traffic.liveRequestsPerInterval * weight) / 100);
    const stableN = traffic.liveRequestsPerInterval - canaryN;
    acc.canary.n += canaryN;
    acc.canary.errors += binomial(rng, canaryN, truth.canaryErrorRate);
    acc.canary.exceed += binomial(rng, canaryN, p.canaryExceed);
    acc.stable.n += stableN;
    acc.stable.errors += binomial(rng, stableN, truth.stableErrorRate);
  }
  return pairs;
}

function evidenceOf(
  p: Prepared,
  acc: Accumulator,
  window: { from: number; to: number },
  weight: number,
): EvidenceSet {
  const candidateP99 = p.baselineP99 * p.truth.latencyFactor;
  const build = (
    segment: Evidence['segment'],
    c: {
      n: number;
      compared: number;
      agreed: number;
      errors: number;
      timeouts: number;
      exceed: number;
    },
  ): Evidence => ({
    window,
    segment,
    pairs: { n: c.n, compared: c.compared, agreed: c.agreed },
    candidateCalls: { n: c.n, errors: c.errors, timeouts: c.timeouts },
    latency: {
      baselineP50: null,
      baselineP95: null,
      baselineP99: p.baselineP99,
      candidateP50: null,
      candidateP95: null,
      candidateP99,
      n: c.compared,
      exceedance: [{ quantile: 0.99, ratio: p.exceedRatio, k: c.exceed, n: c.compared }],
    },
    drift: { psi: null, jensenShannon: null, ksP: null, n: 0 },
  });
  const total = { n: 0, compared: 0, agreed: 0, errors: 0, timeouts: 0, exceed: 0 };
  const segments: Evidence[] = [];
  for (const [value, c] of acc.regions) {
    total.n += c.n;
    total.compared += c.compared;
    total.agreed += c.agreed;
    total.errors += c.errors;
    total.timeouts += c.timeouts;
    total.exceed += c.exceed;
    segments.push(build({ key: 'region', value }, c));
  }
  const overall = build(null, total);
  overall.drift = {
    psi: psi(acc.refHist, acc.curHist),
    jensenShannon: null,
    ksP: null,
    n: total.n,
  };
  if (weight > 0 && weight < 100) {
    overall.canary = {
      stable: { n: acc.stable.n, errors: acc.stable.errors, latencyP99: p.baselineP99 },
      canary: {
        n: acc.canary.n,
        errors: acc.canary.errors,
        latencyP99: p.baselineP99 * (p.truth.canaryLatencyFactor ?? p.truth.latencyFactor),
      },
      exceedance: [{ quantile: 0.99, ratio: p.canaryRatio, k: acc.canary.exceed, n: acc.canary.n }],
    };
  }
  return { overall, segments };
}

/** One rollout from shadow to a verdict (or `maxIntervals` without one). */
export function simulateRollout(
  spec: RolloutSpec,
  scenario: Scenario,
  seed: number,
  opts: { traffic?: Traffic; maxIntervals?: number } = {},
): RolloutRun {
  const traffic = opts.traffic ?? TRAFFIC;
  const maxIntervals = opts.maxIntervals ?? 400;
  const rng = createRng(seed);
  const prepared = prepare(spec, scenario, traffic);
  const lastStep = rolloutPlan(spec).length - 1;
  let state = initialState(spec, 0);
  let acc = emptyAccumulator(traffic);
  let pairs = 0;
  let liveRequests = 0;
  let reachedFinalStep = false;
  for (let i = 1; i <= maxIntervals; i++) {
    const now = i * spec.interval;
    pairs += drawInterval(rng, prepared, acc, state.weight);
    liveRequests += Math.round((traffic.liveRequestsPerInterval * state.weight) / 100);
    const evidence = evidenceOf(
      prepared,
      acc,
      { from: state.stepStartedAt, to: now },
      state.weight,
    );
    const decision = evaluate(spec, state, evidence, now);
    const before = state;
    state = applyDecision(spec, state, decision);
    if (state.step === lastStep && state.phase !== 'rolled-back') reachedFinalStep = true;
    if (isTerminal(state.phase)) {
      return {
        outcome: state.phase === 'done' ? 'done' : 'rolled-back',
        endPhase: before.phase,
        endStep: before.step,
        weightAtEnd: before.weight,
        reachedFinalStep,
        intervals: i,
        pairs,
        liveRequests,
        failedGates: decision.reasons
          .filter((r) => r.outcome === 'fail')
          .map((r) => (r.segment ? `${r.gate}[${r.segment.value}]` : r.gate)),
      };
    }
    if (state.stepStartedAt !== before.stepStartedAt) acc = emptyAccumulator(traffic);
  }
  return {
    outcome: 'undecided',
    endPhase: state.phase,
    endStep: state.step,
    weightAtEnd: state.weight,
    reachedFinalStep,
    intervals: maxIntervals,
    pairs,
    liveRequests,
    failedGates: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Many rollouts.

export interface ScenarioResult {
  scenario: Scenario;
  runs: number;
  done: number;
  rolledBack: number;
  undecided: number;
  /** Bad scenarios: rolled back while the candidate had not yet reached the final (100 %) step. */
  caughtBeforeFinalStep: number;
  /** Count of verdicts by the stage they were made in, e.g. { 'shadow': 198, 'canary 5 %': 2 }. */
  decidedIn: Record<string, number>;
  /** Gates that failed in rollback decisions, with how many rollouts they appeared in. */
  failedGates: Record<string, number>;
  intervals: { median: number; p90: number; max: number };
  pairs: { median: number; p90: number; max: number };
  liveRequests: { median: number; p90: number; max: number };
}

export function runScenario(
  spec: RolloutSpec,
  scenario: Scenario,
  runs: number,
  seed: number,
  opts: { traffic?: Traffic; maxIntervals?: number } = {},
): ScenarioResult {
  const out: ScenarioResult = {
    scenario,
    runs,
    done: 0,
    rolledBack: 0,
    undecided: 0,
    caughtBeforeFinalStep: 0,
    decidedIn: {},
    failedGates: {},
    intervals: { median: 0, p90: 0, max: 0 },
    pairs: { median: 0, p90: 0, max: 0 },
    liveRequests: { median: 0, p90: 0, max: 0 },
  };
  const intervals: number[] = [];
  const pairs: number[] = [];
  const live: number[] = [];
  const lastStep = rolloutPlan(spec).length - 1;
  for (let r = 0; r < runs; r++) {
    // Distinct, reproducible streams per scenario and run.
    const run = simulateRollout(spec, scenario, (seed + r * 0x9e3779b1) >>> 0, opts);
    if (run.outcome === 'done') out.done++;
    else if (run.outcome === 'rolled-back') out.rolledBack++;
    else out.undecided++;
    if (run.outcome === 'rolled-back' && run.endStep < lastStep) out.caughtBeforeFinalStep++;
    const where =
      run.outcome === 'undecided'
        ? 'undecided'
        : run.endPhase === 'shadow'
          ? 'shadow'
          : `${run.endPhase} ${run.weightAtEnd} %`;
    out.decidedIn[where] = (out.decidedIn[where] ?? 0) + 1;
    for (const g of new Set(run.failedGates)) out.failedGates[g] = (out.failedGates[g] ?? 0) + 1;
    intervals.push(run.intervals);
    pairs.push(run.pairs);
    live.push(run.liveRequests);
  }
  out.intervals = summary(intervals);
  out.pairs = summary(pairs);
  out.liveRequests = summary(live);
  return out;
}

function summary(xs: number[]): { median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { median: at(0.5), p90: at(0.9), max: s[s.length - 1] ?? 0 };
}

/** Upper end of the 95 % Wilson interval of k/n: how bad a rate of 0 of 1 000 could still be. */
export function wilsonUpper(k: number, n: number): number {
  if (n === 0) return 1;
  const z = 1.959963984540054;
  const p = k / n;
  const d = 1 + (z * z) / n;
  return (p + (z * z) / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
}

/** The results as a markdown table (one row per scenario) and notes. */
export function qualityTable(results: readonly ScenarioResult[]): string {
  const pct = (k: number, n: number): string => `${Number(((100 * k) / n).toPrecision(3))} %`;
  const lines = [
    '| scenario | truth | runs | done | rolled back | undecided | false promotion (95 % upper) | false rollback (95 % upper) | caught before final step | decided in | intervals to verdict (median / p90) | pairs to verdict (median / p90) | live requests on the candidate before the verdict (median / p90) | gates that failed |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const bad = r.scenario.bad;
    const falsePromotion = bad
      ? `${pct(r.done, r.runs)} (≤ ${pct(Math.round(wilsonUpper(r.done, r.runs) * 10000), 10000)})`
      : '–';
    const falseRollback = bad
      ? '–'
      : `${pct(r.rolledBack, r.runs)} (≤ ${pct(Math.round(wilsonUpper(r.rolledBack, r.runs) * 10000), 10000)})`;
    const caught = bad ? pct(r.caughtBeforeFinalStep, r.runs) : '–';
    const decided = Object.entries(r.decidedIn)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const gates = Object.entries(r.failedGates)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 4)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(
      `| ${r.scenario.name} | ${bad ? 'bad' : 'good'} | ${r.runs} | ${r.done} | ${r.rolledBack} | ${r.undecided} | ${falsePromotion} | ${falseRollback} | ${caught} | ${decided} | ${r.intervals.median} / ${r.intervals.p90} | ${formatCount(r.pairs.median)} / ${formatCount(r.pairs.p90)} | ${formatCount(r.liveRequests.median)} / ${formatCount(r.liveRequests.p90)} | ${gates || '–'} |`,
    );
  }
  return lines.join('\n');
}
