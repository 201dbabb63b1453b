/**
 * The promoter's records: the evidence the edges compute from ClickHouse, what a gate concluded
 * from it, the decision, and the rollout's state. Plain data: the edges store and publish them
 * as JSON.
 */

/** Requests (live arms) or replay calls, with how many of them failed. */
export interface ArmCounts {
  n: number;
  errors: number;
}

export interface Segment {
  key: string;
  value: string;
}

/**
 * k of n latencies were above `ratio` × the reference's `quantile` latency over the window.
 * Paired shadow: candidate latencies against the baseline's quantile of the same pairs. Canary:
 * canary-arm latencies against the stable arm's quantile. The latency ratio gates test
 * "candidate p99 ≤ ratio × baseline p99", which holds exactly when this share is ≤ 1 − quantile,
 * so they need one entry per gate (quantile 0.99 or 0.95, ratio = the gate's threshold); see
 * `evidenceNeeds(spec)`. The reference quantile is taken as known (it is estimated from the same
 * window, at least `minPairs` values).
 */
export interface LatencyExceedance {
  quantile: number;
  ratio: number;
  k: number;
  n: number;
}

/** Evidence: cumulative counts since the current step started, computed by the edges. */
export interface Evidence {
  /** Epoch ms. `from` must not precede the step's start (else it mixes in an earlier step). */
  window: { from: number; to: number };
  /** null = overall. */
  segment: Segment | null;
  /** Paired shadow: `compared` pairs had two readable outputs, `agreed` of them agreed. */
  pairs: {
    n: number;
    compared: number;
    agreed: number;
    flipsBaselineToOther?: number;
    flipsOtherToBaseline?: number;
  };
  /** Replay calls to the candidate. */
  candidateCalls: ArmCounts & { timeouts: number };
  latency: {
    baselineP50: number | null;
    baselineP95: number | null;
    baselineP99: number | null;
    candidateP50: number | null;
    candidateP95: number | null;
    candidateP99: number | null;
    n: number;
    /** Paired: pairs where the candidate was slower than the baseline on the same event (shown, not gated). */
    slowerThanBaseline?: { k: number; n: number };
    /** Counts the latency ratio gates test with a confidence sequence; without them they fall back to a point estimate. */
    exceedance?: LatencyExceedance[];
  };
  drift: { psi: number | null; jensenShannon: number | null; ksP: number | null; n: number };
  /** Unpaired live arms, present while the candidate takes part of the traffic. */
  canary?: {
    stable: ArmCounts & { latencyP99: number | null };
    canary: ArmCounts & { latencyP99: number | null };
    /** Canary-arm latencies above ratio × the stable arm's quantile (see LatencyExceedance). */
    exceedance?: LatencyExceedance[];
  };
}

export interface EvidenceSet {
  overall: Evidence;
  segments: Evidence[];
  /**
   * Another active rollout of the same served model that already takes live traffic. Live arms
   * are recorded per model (request_events), so this rollout may not take live traffic too: it
   * would read the other's arms as its own and steer the same router.
   */
  liveTrafficHeldBy?: LiveTrafficHolder | undefined;
}

export interface LiveTrafficHolder {
  rollout: string;
  candidate: string;
  /** The model whose live traffic both rollouts would split. */
  model: string;
  phase: Phase;
  weight: number;
}

export type GateOutcome = 'pass' | 'fail' | 'inconclusive';

export interface GateResult {
  gate: string;
  metric: string;
  segment: Segment | null;
  /** The point estimate of the metric (for the latency ratio gates: candidate p99 / baseline p99). */
  value: number | null;
  /** Always-valid 1 − α bounds (α after the multiplicity correction); null for point-estimate gates. */
  lower: number | null;
  upper: number | null;
  /** Anytime-valid p-value for "the metric equals the threshold" (small: confidently on one side). */
  pValue: number | null;
  n: number;
  threshold: number;
  op: '>=' | '<=';
  outcome: GateOutcome;
  method: string;
  /** Which evidence fields were read, e.g. `pairs.agreed / pairs.compared`. */
  query: string;
  window: { from: number; to: number };
  /** One line a human reads at 3 a.m. */
  reason: string;
  /** The α this result was judged at (the spec's α, divided by m for per-segment gates). */
  alpha?: number;
  /**
   * Per-segment results: the Bonferroni correction and the unadjusted values, side by side. The
   * raw bounds are of the same statistic as lower/upper (of `tested` when that is set).
   */
  multiplicity?: {
    method: 'bonferroni';
    m: number;
    rawLower: number | null;
    rawUpper: number | null;
    rawPValue: number | null;
    adjustedPValue: number | null;
  };
  /** When the latency ratio gates test an exceedance share, its numbers (value/lower/upper above stay in ratio terms). */
  tested?: {
    statistic: string;
    value: number | null;
    lower: number;
    upper: number;
    limit: number;
    k: number;
    n: number;
  };
  /** More samples needed before this gate may conclude (minimum evidence). */
  needed?: number;
  /** A failure strong enough to roll back without waiting for `rollback.afterFailures`. */
  decisive?: boolean;
}

export type DecisionKind = 'promote' | 'continue' | 'rollback';

export type Phase =
  'shadow' | 'canary' | 'preview' | 'switched' | 'watch' | 'done' | 'rolled-back' | 'aborted';

export interface Decision {
  decision: DecisionKind;
  rollout: string;
  phase: Phase;
  step: number;
  weight: number;
  nextPhase: Phase;
  nextStep: number;
  nextWeight: number;
  /**
   * Every applicable gate's result (overall, then per segment), then the stage clock
   * (gate 'bake-time'), and 'evidence-window' when the evidence starts before the stage.
   */
  reasons: GateResult[];
  /** One human sentence: why. */
  summary: string;
  specHash: string;
  evaluatedAt: number;
  /** e.g. 'confidence-sequence (beta-binomial mixture; Robbins 1970, Howard et al. 2021), alpha 0.05, …' */
  method: string;
}

export interface RolloutState {
  rollout: string;
  candidate: string;
  baseline: string;
  strategy: 'canary' | 'blue-green';
  phase: Phase;
  /** Index of the current stage in `rolloutPlan(spec)`; shadow is 0. */
  step: number;
  /** Percent of live traffic on the candidate. */
  weight: number;
  stepStartedAt: number;
  startedAt: number;
  /** Consecutive evaluations with at least one failed gate. */
  consecutiveFailures: number;
  evaluations: number;
  specHash: string;
  lastDecision?: DecisionKind;
  updatedAt: number;
}
