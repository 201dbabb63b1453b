/**
 * The rollout state machine: evaluate() turns a state, the spec and the evidence into a
 * decision with its reasons; applyDecision() turns the decision into the next state. Both pure
 * and deterministic: the same inputs give the same decision, byte for byte.
 *
 * Rules, in order:
 * 1. rollback when a gate fails on `rollback.afterFailures` consecutive evaluations, or once
 *    decisively (its anytime-valid p-value ≤ α/20; see DECISIVE_FACTOR). A failure needs minimum
 *    evidence like any conclusion. Canary → weight 0, 'rolled-back'; blue-green in 'switched' or
 *    'watch' switches back to blue in one step (also weight 0, 'rolled-back').
 * 2. promote when every applicable gate passes, the stage's minimum time has elapsed (shadow
 *    minDuration, bake time, preview minDuration, watch duration) and the evidence window lies
 *    within the stage: to the next stage, or 'done' at weight 100 after the last.
 * 3. continue otherwise, saying what is missing.
 */
import { UmbraError } from '@umbra/core';
import { formatLevel } from './format.ts';
import { DECISIVE_FACTOR, DECISIVE_NOTE, evaluateGates, METHOD_CS, METHOD_POINT } from './gates.ts';
import {
  formatDuration,
  POINT_ESTIMATE_METRICS,
  rolloutPlan,
  specHash,
  type RolloutSpec,
  type Stage,
} from './spec.ts';
import type {
  Decision,
  DecisionKind,
  EvidenceSet,
  GateResult,
  LiveTrafficHolder,
  Phase,
  RolloutState,
} from './types.ts';

const TERMINAL: readonly Phase[] = ['done', 'rolled-back', 'aborted'];

export function isTerminal(phase: Phase): boolean {
  return TERMINAL.includes(phase);
}

/** A rollout that has just started: shadow, weight 0. */
export function initialState(spec: RolloutSpec, now: number): RolloutState {
  const first = rolloutPlan(spec)[0] as Stage;
  return {
    rollout: spec.rollout,
    candidate: spec.candidate,
    baseline: spec.baseline,
    strategy: 'canary' in spec.strategy ? 'canary' : 'blue-green',
    phase: first.phase,
    step: 0,
    weight: first.weight,
    stepStartedAt: now,
    startedAt: now,
    consecutiveFailures: 0,
    evaluations: 0,
    specHash: specHash(spec),
    updatedAt: now,
  };
}

const methods = new WeakMap<RolloutSpec, string>();

/** The statistical method of every decision under this spec, in one line. */
export function decisionMethod(spec: RolloutSpec): string {
  let method = methods.get(spec);
  if (method === undefined) {
    method = describeMethod(spec);
    // Only frozen specs can be cached: a mutable one may change between calls.
    if (Object.isFrozen(spec)) methods.set(spec, method);
  }
  return method;
}

function describeMethod(spec: RolloutSpec): string {
  const segments = spec.gates.some((g) => g.perSegment) ? ', Bonferroni across segments' : '';
  const point = spec.gates
    .filter((g) => POINT_ESTIMATE_METRICS.includes(g.metric))
    .map((g) => g.name);
  const parts = [
    `${METHOD_CS}, alpha ${spec.alpha}${segments}`,
    `rollback after ${spec.rollback.afterFailures} consecutive failing evaluations or one with anytime p ≤ alpha/${DECISIVE_FACTOR}`,
  ];
  if (point.length) parts.push(`${METHOD_POINT} for ${point.join(', ')}`);
  return parts.join('; ');
}

/** The decision for this evaluation. Throws BAD_ARGUMENT when the state does not belong to the spec or is finished. */
export function evaluate(
  spec: RolloutSpec,
  state: RolloutState,
  evidence: EvidenceSet,
  now: number,
): Decision {
  const hash = specHash(spec);
  checkState(spec, state, hash);
  const plan = rolloutPlan(spec);
  const stage = plan[state.step];
  if (!stage || stage.phase !== state.phase) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `rollout ${state.rollout}: step ${state.step} is not a ${state.phase} stage of the spec's plan`,
      {
        context: { rollout: state.rollout, phase: state.phase, step: state.step },
      },
    );
  }

  const gates = evaluateGates(spec, evidence, stage);
  const elapsed = now - state.stepStartedAt;
  const clock = clockResult(stage, state, now, elapsed);
  const stale = evidence.overall.window.from < state.stepStartedAt;
  const reasons: GateResult[] = [...gates, clock];
  if (stale) reasons.push(staleResult(evidence, state));
  // Leaving shadow means taking live traffic: not while another rollout of the model has it.
  const held = state.weight === 0 ? (evidence.liveTrafficHeldBy ?? null) : null;
  const holdResult = held ? liveTrafficResult(held, state, now) : null;
  if (holdResult) reasons.push(holdResult);

  const failed = gates.filter((r) => r.outcome === 'fail');
  const inARow = state.consecutiveFailures + 1;
  const decisive = failed.some((r) => r.decisive === true);
  let kind: DecisionKind;
  if (failed.length > 0 && (decisive || inARow >= spec.rollback.afterFailures)) kind = 'rollback';
  else if (
    failed.length === 0 &&
    gates.every((r) => r.outcome === 'pass') &&
    clock.outcome === 'pass' &&
    !stale &&
    !held
  )
    kind = 'promote';
  else kind = 'continue';

  const next = nextStage(kind, plan, state);
  const here = describe(state.phase, state.weight);
  const there = describe(next.phase, next.weight);
  let summary: string;
  if (kind === 'rollback') {
    const why = decisive
      ? `decisive at the first failing evaluation (anytime p ≤ α/${DECISIVE_FACTOR}), so no second look`
      : `${ordinal(inARow)} failing evaluation in a row (rollback.afterFailures ${spec.rollback.afterFailures})`;
    const back =
      state.weight === 0
        ? 'before any live traffic'
        : state.strategy === 'blue-green' && state.weight === 100
          ? 'switch back to blue (the baseline)'
          : 'the candidate goes to 0 %';
    summary = `Roll back ${spec.rollout} from ${here}, ${back}: ${list(failed)}; ${why}.`;
  } else if (kind === 'promote') {
    const results =
      gates.length === 1 ? '1 gate result passes' : `all ${gates.length} gate results pass`;
    // Say which passes rest on a point estimate rather than a confidence sequence.
    const points = [
      ...new Set(gates.filter((r) => r.method.startsWith(METHOD_POINT)).map((r) => r.gate)),
    ];
    const pointNote = points.length
      ? ` (${points.join(', ')} on ${points.length === 1 ? 'a point estimate' : 'point estimates'})`
      : '';
    const gateText =
      gates.length === 0
        ? `no gate applies in ${here}`
        : `${results} with ${formatLevel(spec.alpha)} always-valid confidence${pointNote}`;
    summary = `Promote ${spec.rollout} from ${here} to ${there}: ${gateText}; ${clock.reason}.`;
  } else if (failed.length > 0) {
    summary = `Continue ${spec.rollout} at ${here}: ${list(failed)}; ${inARow} of ${spec.rollback.afterFailures} failing evaluations before rollback.`;
  } else {
    const open = gates.filter((r) => r.outcome !== 'pass');
    const pieces: string[] = [];
    if (stale)
      pieces.push(
        'the evidence window starts before this stage, waiting for evidence of this stage alone',
      );
    if (open.length > 0)
      pieces.push(`${open.length} of ${gates.length} gate results inconclusive (${list(open)})`);
    else if (gates.length > 0) pieces.push(`all ${gates.length} gate results pass`);
    if (clock.outcome !== 'pass') pieces.push(clock.reason);
    if (holdResult) pieces.push(holdResult.reason);
    if (state.weight === 100 && evidence.overall.pairs.n === 0)
      pieces.push(
        "no pair since the switch: green serves everything, so pairs come only from the reverse shadow (the experiment's baseline.replay and the candidate's model)",
      );
    summary = `Continue ${spec.rollout} at ${here}: ${pieces.join('; ')}.`;
  }

  return {
    decision: kind,
    rollout: spec.rollout,
    phase: state.phase,
    step: state.step,
    weight: state.weight,
    nextPhase: next.phase,
    nextStep: next.step,
    nextWeight: next.weight,
    reasons,
    summary,
    specHash: hash,
    evaluatedAt: now,
    method: decisionMethod(spec),
  };
}

/** The state after a decision. Throws BAD_ARGUMENT for a decision made on another state. */
export function applyDecision(
  spec: RolloutSpec,
  state: RolloutState,
  decision: Decision,
): RolloutState {
  checkState(spec, state, specHash(spec));
  if (
    decision.rollout !== state.rollout ||
    decision.specHash !== state.specHash ||
    decision.phase !== state.phase ||
    decision.step !== state.step
  ) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `decision for ${decision.rollout} at ${decision.phase} step ${decision.step} does not match the state (${state.rollout} at ${state.phase} step ${state.step}); evaluate again`,
      {
        context: { rollout: state.rollout, decisionPhase: decision.phase, statePhase: state.phase },
      },
    );
  }
  return advance(state, decision);
}

/** Stops a rollout by hand: weight 0, phase 'aborted', with the operator's reason as the summary. */
export function abort(
  state: RolloutState,
  now: number,
  reason: string,
): { state: RolloutState; decision: Decision } {
  if (isTerminal(state.phase)) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `rollout ${state.rollout} is already ${state.phase}; nothing to abort`,
      {
        context: { rollout: state.rollout, phase: state.phase },
      },
    );
  }
  const decision: Decision = {
    decision: 'rollback',
    rollout: state.rollout,
    phase: state.phase,
    step: state.step,
    weight: state.weight,
    nextPhase: 'aborted',
    nextStep: state.step,
    nextWeight: 0,
    reasons: [],
    summary: `Abort ${state.rollout} at ${describe(state.phase, state.weight)}, the candidate goes to 0 %: ${reason.trim() || 'no reason given'}.`,
    specHash: state.specHash,
    evaluatedAt: now,
    method: 'operator abort (no statistical test)',
  };
  return { state: advance(state, decision), decision };
}

function advance(state: RolloutState, decision: Decision): RolloutState {
  const moved = decision.nextPhase !== state.phase || decision.nextStep !== state.step;
  const failed = decision.reasons.some((r) => r.outcome === 'fail');
  const next: RolloutState = {
    rollout: state.rollout,
    candidate: state.candidate,
    baseline: state.baseline,
    strategy: state.strategy,
    phase: decision.nextPhase,
    step: decision.nextStep,
    weight: decision.nextWeight,
    // A new stage starts a new evidence window.
    stepStartedAt: moved ? decision.evaluatedAt : state.stepStartedAt,
    startedAt: state.startedAt,
    consecutiveFailures: moved ? 0 : failed ? state.consecutiveFailures + 1 : 0,
    evaluations: state.evaluations + 1,
    specHash: state.specHash,
    lastDecision: decision.decision,
    updatedAt: decision.evaluatedAt,
  };
  return next;
}

function checkState(spec: RolloutSpec, state: RolloutState, hash: string): void {
  const context = { rollout: state.rollout, stateSpecHash: state.specHash, specHash: hash };
  if (
    state.rollout !== spec.rollout ||
    state.candidate !== spec.candidate ||
    state.baseline !== spec.baseline
  ) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `state of ${state.rollout} (${state.candidate} vs ${state.baseline}) does not belong to spec ${spec.rollout} (${spec.candidate} vs ${spec.baseline})`,
      { context },
    );
  }
  if (state.specHash !== hash) {
    // Changing gates mid-rollout would judge old evidence by new rules: start a new rollout.
    throw new UmbraError(
      'BAD_ARGUMENT',
      `rollout ${state.rollout} started under spec ${state.specHash}, not ${hash}: the spec changed; abort and start a new rollout`,
      { context },
    );
  }
  if (isTerminal(state.phase)) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `rollout ${state.rollout} is ${state.phase}; nothing to evaluate`,
      { context },
    );
  }
}

function nextStage(
  kind: DecisionKind,
  plan: Stage[],
  state: RolloutState,
): { phase: Phase; step: number; weight: number } {
  if (kind === 'rollback') return { phase: 'rolled-back', step: state.step, weight: 0 };
  if (kind === 'continue') return { phase: state.phase, step: state.step, weight: state.weight };
  const next = plan[state.step + 1];
  return next
    ? { phase: next.phase, step: state.step + 1, weight: next.weight }
    : { phase: 'done', step: plan.length, weight: 100 };
}

/**
 * A stage condition that is not a statistical gate (the clock, the evidence window, live traffic)
 * as a result beside the gates: no interval, no p-value, no sample.
 */
function conditionResult(
  r: Pick<GateResult, 'gate' | 'metric' | 'value' | 'threshold' | 'op' | 'outcome' | 'method' | 'query' | 'window' | 'reason'>,
): GateResult {
  // Fields in the order of every GateResult, so a decision serialises the same way as before.
  return {
    gate: r.gate,
    metric: r.metric,
    segment: null,
    value: r.value,
    lower: null,
    upper: null,
    pValue: null,
    n: 0,
    threshold: r.threshold,
    op: r.op,
    outcome: r.outcome,
    method: r.method,
    query: r.query,
    window: r.window,
    reason: r.reason,
  };
}

function clockResult(stage: Stage, state: RolloutState, now: number, elapsed: number): GateResult {
  const ok = elapsed >= stage.minDuration;
  const reason =
    stage.minDuration === 0
      ? `${stage.clock}: no minimum time`
      : `${stage.clock}: ${formatDuration(Math.max(0, elapsed))} of ${formatDuration(stage.minDuration)}`;
  return conditionResult({
    gate: 'bake-time',
    metric: 'elapsed_ms',
    value: elapsed,
    threshold: stage.minDuration,
    op: '>=',
    outcome: ok ? 'pass' : 'inconclusive',
    method: 'clock (time since the stage started)',
    query: 'now − state.stepStartedAt',
    window: { from: state.stepStartedAt, to: now },
    reason,
  });
}

function staleResult(evidence: EvidenceSet, state: RolloutState): GateResult {
  const w = evidence.overall.window;
  return conditionResult({
    gate: 'evidence-window',
    metric: 'window_from',
    value: w.from,
    threshold: state.stepStartedAt,
    op: '>=',
    outcome: 'inconclusive',
    method: 'evidence must start at or after the stage start (cumulative since the step started)',
    query: 'evidence.overall.window.from',
    window: { from: w.from, to: w.to },
    reason: `inconclusive: the evidence starts ${formatDuration(state.stepStartedAt - w.from)} before this stage started, so it mixes in the previous stage`,
  });
}

function liveTrafficResult(held: LiveTrafficHolder, state: RolloutState, now: number): GateResult {
  return conditionResult({
    gate: 'live-traffic',
    metric: 'rollouts_with_live_traffic',
    value: 1,
    threshold: 0,
    op: '<=',
    outcome: 'inconclusive',
    method: 'one rollout with live traffic per served model (live arms are recorded per model)',
    query: `active rollouts of model ${held.model} with weight > 0`,
    window: { from: state.stepStartedAt, to: now },
    reason: `waiting for live traffic: rollout ${held.rollout} (${held.candidate}) has ${held.weight} % of model ${held.model} at ${describe(held.phase, held.weight)}; two live rollouts of one model would read each other's arms`,
  });
}

function describe(phase: Phase, weight: number): string {
  switch (phase) {
    case 'shadow':
      return 'shadow';
    case 'canary':
    case 'preview':
      return `${phase} ${weight} %`;
    case 'switched':
      return 'switched (100 % on green)';
    case 'watch':
      return 'watch (100 % on green)';
    case 'done':
      return 'done (100 %)';
    case 'rolled-back':
      return 'rolled back (0 %)';
    case 'aborted':
      return 'aborted (0 %)';
  }
}

/** "agreement (region=apac): upper bound … ; p99 latency ratio: …", at most three, then "and N more". */
function list(results: GateResult[]): string {
  const shown = results.slice(0, 3).map((r) => {
    const where = r.segment ? ` (${r.segment.key}=${r.segment.value})` : '';
    const prefix = `${r.segment ? `${r.segment.key}=${r.segment.value}: ` : ''}${r.outcome}: `;
    const body = (r.reason.startsWith(prefix) ? r.reason.slice(prefix.length) : r.reason).replace(
      DECISIVE_NOTE,
      '',
    );
    return `${r.gate}${where} ${r.outcome === 'fail' ? 'failed' : 'inconclusive'}, ${body}`;
  });
  const more = results.length > 3 ? `; and ${results.length - 3} more` : '';
  return shown.join('; ') + more;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}
