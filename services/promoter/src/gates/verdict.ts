/**
 * What the external rollout controllers are told, as pure functions of a rollout's stored state:
 * the Argo Rollouts web-metric verdict and the answer to each Flagger webhook. The promoter's
 * state is the authority; these functions only translate it.
 */
import {
  rolloutPlan,
  type GateResult,
  type Phase,
  type RolloutSpec,
  type RolloutState,
} from '../domain/index.ts';
import type { RecordedDecision } from '../store.ts';

/** The part of a rollout's status the verdicts read. */
export interface VerdictInput {
  state: RolloutState;
  spec: Pick<RolloutSpec, 'strategy'> & Partial<RolloutSpec>;
  lastDecision: RecordedDecision | null;
}

/** Which point of the rollout a verdict is about. */
export interface VerdictQuery {
  /** "May traffic go beyond W %?": promote once umbra's approved weight exceeds W. */
  weight?: number;
  /** "Has the rollout reached this phase?" (e.g. 'switched' before a blue-green switch, 'done'). */
  phase?: Phase;
}

export interface ArgoVerdict {
  rollout: string;
  /** promote | continue | rollback, as read for this query. */
  decision: 'promote' | 'continue' | 'rollback';
  promote: boolean;
  rollback: boolean;
  /** Neither promote nor rollback: evidence still accumulating (Argo counts it against inconclusiveLimit). */
  inconclusive: boolean;
  phase: Phase;
  step: number;
  weight: number;
  agreementLower: number | null;
  agreementUpper: number | null;
  errorRateUpper: number | null;
  p99Ratio: number | null;
  n: number;
  reasons: Array<{
    gate: string;
    segment: string;
    outcome: string;
    value: number | null;
    lower: number | null;
    upper: number | null;
    n: number;
    reason: string;
  }>;
  summary: string;
  decisionId: string | null;
  decidedAt: number | null;
}

const FAILED: readonly Phase[] = ['rolled-back', 'aborted'];

export function isRolledBack(state: Pick<RolloutState, 'phase'>): boolean {
  return FAILED.includes(state.phase);
}

/**
 * True when the rollout has reached `phase` in its plan (or finished successfully past it).
 * 'done' is reached only when done.
 */
export function hasReached(input: Pick<VerdictInput, 'state' | 'spec'>, phase: Phase): boolean {
  const { state } = input;
  if (isRolledBack(state)) return false;
  if (state.phase === 'done') return true;
  if (phase === 'done') return false;
  const plan = rolloutPlan(input.spec as RolloutSpec);
  const at = plan.findIndex((s) => s.phase === phase);
  return at >= 0 && state.step >= at;
}

function overall(reasons: GateResult[], metrics: string[]): GateResult | undefined {
  return reasons.find((r) => r.segment === null && metrics.includes(r.metric));
}

export function argoVerdict(input: VerdictInput, q: VerdictQuery = {}): ArgoVerdict {
  const { state, lastDecision } = input;
  const rollback = isRolledBack(state);
  let promote: boolean;
  if (rollback) promote = false;
  else if (q.weight !== undefined) promote = state.weight > q.weight || state.phase === 'done';
  else if (q.phase !== undefined) promote = hasReached(input, q.phase);
  // Without a point of reference: the last decision, which is only as fresh as the last evaluation.
  else promote = state.phase === 'done' || lastDecision?.decision === 'promote';

  const reasons = lastDecision?.reasons ?? [];
  const agreement = overall(reasons, ['agreement']);
  const errors = overall(reasons, ['candidate_error_rate']);
  const p99 = overall(reasons, ['latency_p99_ratio', 'canary_latency_p99_ratio']);
  const judged = reasons.filter((r) => r.gate !== 'bake-time' && r.gate !== 'evidence-window');
  const decision = rollback ? 'rollback' : promote ? 'promote' : 'continue';
  const where = `${state.phase}${state.phase === 'canary' || state.phase === 'preview' ? ` ${state.weight} %` : ''}`;
  const asked =
    q.weight !== undefined
      ? ` beyond ${q.weight} %`
      : q.phase !== undefined
        ? ` to ${q.phase}`
        : '';
  const summary = rollback
    ? `rollback: ${state.rollout} is ${state.phase}. ${lastDecision?.summary ?? ''}`.trim()
    : promote
      ? `promote${asked}: ${state.rollout} is at ${where}. ${lastDecision?.summary ?? ''}`.trim()
      : `inconclusive${asked}: ${state.rollout} is at ${where}, waiting for evidence. ${lastDecision?.summary ?? 'Not evaluated yet.'}`;
  return {
    rollout: state.rollout,
    decision,
    promote,
    rollback,
    inconclusive: !promote && !rollback,
    phase: state.phase,
    step: state.step,
    weight: state.weight,
    agreementLower: agreement?.lower ?? null,
    agreementUpper: agreement?.upper ?? null,
    errorRateUpper: errors?.upper ?? null,
    p99Ratio: p99?.value ?? null,
    n: agreement?.n ?? Math.max(0, ...judged.map((r) => r.n)),
    reasons: judged.map((r) => ({
      gate: r.gate,
      segment: r.segment ? `${r.segment.key}=${r.segment.value}` : '',
      outcome: r.outcome,
      value: r.value,
      lower: r.lower,
      upper: r.upper,
      n: r.n,
      reason: r.reason,
    })),
    summary,
    decisionId: lastDecision?.decisionId ?? null,
    decidedAt: lastDecision?.evaluatedAt ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Flagger. Flagger treats HTTP 200-202 as success and anything else (or a timeout) as failure;
// what "success" means depends on the hook type.

export const FLAGGER_HOOKS = [
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'rollback',
  'post-rollout',
  'event',
] as const;
export type FlaggerHook = (typeof FLAGGER_HOOKS)[number];

/** 200 advance / yes; 409 hold (not yet); 412 the rollout failed (count towards rollback). */
export type FlaggerStatus = 200 | 202 | 409 | 412;

export interface FlaggerAnswer {
  status: FlaggerStatus;
  /** What Flagger should do, for the response body and the logs. */
  verdict: 'advance' | 'hold' | 'fail' | 'rollback' | 'no-rollback' | 'ack';
  message: string;
  /** confirm-traffic-increase: a one-time grant for the current step must be recorded first. */
  needsGrant?: boolean;
}

/**
 * The answer to one Flagger hook. `granted` (confirm-traffic-increase only) says whether this
 * step's traffic increase was already handed out: Flagger asks before every increase, and each
 * step umbra approves is worth one increase.
 */
export function flaggerAnswer(
  hook: FlaggerHook,
  input: VerdictInput,
  granted = false,
): FlaggerAnswer {
  const { state, lastDecision } = input;
  const failed = isRolledBack(state);
  const where = `${state.rollout} is ${state.phase}${state.phase === 'canary' || state.phase === 'preview' ? ` at ${state.weight} %` : ''}`;
  const last = lastDecision ? ` Last decision: ${lastDecision.summary}` : ' Not evaluated yet.';
  switch (hook) {
    case 'confirm-rollout':
      // Before Flagger scales up the canary: shadow evidence must have passed.
      if (failed)
        return { status: 412, verdict: 'fail', message: `${where}: do not start.${last}` };
      if (state.phase === 'shadow')
        return {
          status: 409,
          verdict: 'hold',
          message: `${where}: waiting for shadow evidence to pass.${last}`,
        };
      return {
        status: 200,
        verdict: 'advance',
        message: `${where}: shadow passed, start the canary.`,
      };
    case 'pre-rollout':
    case 'rollout':
      // A failure here counts towards Flagger's threshold, so only a failed rollout fails it:
      // waiting for evidence is not a failure.
      if (failed)
        return { status: 412, verdict: 'fail', message: `${where}: umbra rolled back.${last}` };
      return { status: 200, verdict: 'advance', message: `${where}: no gate has failed.${last}` };
    case 'confirm-traffic-increase': {
      if (failed)
        return { status: 412, verdict: 'fail', message: `${where}: no more traffic.${last}` };
      if (state.phase === 'done' || state.phase === 'switched' || state.phase === 'watch') {
        return {
          status: 200,
          verdict: 'advance',
          message: `${where}: umbra approved the full rollout.`,
        };
      }
      if (state.weight <= 0)
        return {
          status: 409,
          verdict: 'hold',
          message: `${where}: no traffic approved yet.${last}`,
        };
      if (granted) {
        return {
          status: 409,
          verdict: 'hold',
          message: `${where}: the increase for this step was given; waiting for umbra to pass step ${state.step}.${last}`,
        };
      }
      return {
        status: 200,
        verdict: 'advance',
        message: `${where}: umbra approved ${state.weight} %, one increase granted.`,
        needsGrant: true,
      };
    }
    case 'confirm-promotion':
      if (failed)
        return { status: 412, verdict: 'fail', message: `${where}: do not promote.${last}` };
      if (state.phase === 'done' || state.phase === 'switched' || state.phase === 'watch') {
        return {
          status: 200,
          verdict: 'advance',
          message: `${where}: umbra approved the promotion.`,
        };
      }
      return {
        status: 409,
        verdict: 'hold',
        message: `${where}: waiting for umbra to approve the promotion.${last}`,
      };
    case 'rollback':
      // Inverted: a successful answer tells Flagger to roll back now.
      if (failed)
        return { status: 200, verdict: 'rollback', message: `${where}: roll back.${last}` };
      return { status: 409, verdict: 'no-rollback', message: `${where}: no rollback.` };
    case 'post-rollout':
    case 'event':
      return { status: hook === 'event' ? 202 : 200, verdict: 'ack', message: `${where}: noted.` };
  }
}
