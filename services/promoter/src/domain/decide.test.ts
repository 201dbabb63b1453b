import { isUmbraError } from '@umbra/core';
import { describe, expect, it } from 'vitest';
import { abort, applyDecision, evaluate, initialState } from './decide.ts';
import { parseRolloutSpec, specHash } from './spec.ts';
import { canaryRaw, evidence, type EvidenceShape } from './testing.ts';
import type { EvidenceSet, RolloutState } from './types.ts';

const MIN = 60_000;
const spec = parseRolloutSpec(canaryRaw);
const regions = (shape: EvidenceShape): Record<string, EvidenceShape> => ({
  us: { ...shape, n: Math.round(shape.n * 0.5) },
  eu: { ...shape, n: Math.round(shape.n * 0.3) },
  apac: { ...shape, n: Math.round(shape.n * 0.2) },
});

/** Evidence accumulated since the state's stage started, live arms while the traffic is split. */
function evidenceFor(
  state: RolloutState,
  now: number,
  shape: Partial<EvidenceShape> = {},
  segments = regions,
): EvidenceSet {
  const minutes = (now - state.stepStartedAt) / MIN;
  const n = Math.round(2000 * minutes);
  const live = state.weight > 0 && state.weight < 100;
  const full: EvidenceShape = {
    n,
    ...(live
      ? {
          canary: {
            n: 100 * state.weight * minutes,
            errorRate: 0.001,
            stableN: 100 * (100 - state.weight) * minutes,
            stableErrorRate: 0.001,
          },
        }
      : {}),
    ...shape,
  };
  const window = { from: state.stepStartedAt, to: now };
  return {
    overall: evidence(full, window),
    segments: Object.entries(segments(full)).map(([value, s]) =>
      evidence(s, window, { key: 'region', value }),
    ),
  };
}

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isUmbraError(e, 'BAD_ARGUMENT')) return e.message;
    throw e;
  }
  throw new Error('expected BAD_ARGUMENT');
}

describe('initialState', () => {
  it('starts in shadow at weight 0 with the spec hash', () => {
    expect(initialState(spec, 1000)).toEqual({
      rollout: 'scorer-v8',
      candidate: 'scorer-v8',
      baseline: 'scorer-v7',
      strategy: 'canary',
      phase: 'shadow',
      step: 0,
      weight: 0,
      stepStartedAt: 1000,
      startedAt: 1000,
      consecutiveFailures: 0,
      evaluations: 0,
      specHash: specHash(spec),
      updatedAt: 1000,
    });
  });
});

describe('evaluate: canary', () => {
  it('walks a good candidate through shadow and every step to done, waiting for bake time', () => {
    let state = initialState(spec, 0);
    let now = 0;
    const path: string[] = [];
    while (state.phase !== 'done') {
      now += MIN;
      const d = evaluate(spec, state, evidenceFor(state, now), now);
      expect(d.decision).not.toBe('rollback');
      if (d.decision === 'promote')
        path.push(
          `${d.phase} ${d.weight} → ${d.nextPhase} ${d.nextWeight} after ${(now - state.stepStartedAt) / MIN}m`,
        );
      state = applyDecision(spec, state, d);
      expect(now).toBeLessThan(200 * MIN);
    }
    expect(path).toEqual([
      'shadow 0 → canary 5 after 10m',
      'canary 5 → canary 10 after 10m',
      'canary 10 → canary 25 after 10m',
      'canary 25 → canary 50 after 10m',
      // 100 % is the promotion itself: no stage bakes there (no baseline traffic is left).
      'canary 50 → done 100 after 10m',
    ]);
    expect(state.weight).toBe(100);
    expect(state.step).toBe(5);
    expect(state.evaluations).toBe(50);
  });

  it('stays in shadow while another rollout of the model has live traffic, and says which', () => {
    const state = initialState(spec, 0);
    const now = 20 * MIN;
    const passing = evidenceFor(state, now);
    expect(evaluate(spec, state, passing, now).decision).toBe('promote');
    const held = {
      ...passing,
      liveTrafficHeldBy: { rollout: 'scorer-v9', candidate: 'scorer-v9', model: 'scorer', phase: 'canary' as const, weight: 25 },
    };
    const d = evaluate(spec, state, held, now);
    expect(d.decision).toBe('continue');
    expect(d.nextWeight).toBe(0);
    const hold = d.reasons.find((r) => r.gate === 'live-traffic');
    expect(hold).toMatchObject({ outcome: 'inconclusive' });
    expect(d.summary).toContain('rollout scorer-v9 (scorer-v9) has 25 % of model scorer at canary 25 %');
    // It only holds the way into live traffic: a failing shadow still rolls back.
    const failing = { ...evidenceFor(state, now, { agreement: 0.5 }), liveTrafficHeldBy: held.liveTrafficHeldBy };
    expect(evaluate(spec, state, failing, now).decision).toBe('rollback');
  });

  it('continues during bake time and says how long is left', () => {
    const state = initialState(spec, 0);
    const d = evaluate(spec, state, evidenceFor(state, 4 * MIN), 4 * MIN);
    expect(d.decision).toBe('continue');
    expect(d.summary).toBe(
      'Continue scorer-v8 at shadow: all 7 gate results pass; shadow time: 4m of 10m.',
    );
    const clock = d.reasons.find((r) => r.gate === 'bake-time');
    expect(clock?.reason).toBe('shadow time: 4m of 10m');
    expect(clock?.outcome).toBe('inconclusive');
  });

  it('explains a promotion in one sentence', () => {
    const state = initialState(spec, 0);
    const d = evaluate(spec, state, evidenceFor(state, 10 * MIN), 10 * MIN);
    expect(d.decision).toBe('promote');
    expect(d.summary).toBe(
      'Promote scorer-v8 from shadow to canary 5 %: all 7 gate results pass with 95 % always-valid confidence (drift on a point estimate); shadow time: 10m of 10m.',
    );
    expect(d).toMatchObject({
      phase: 'shadow',
      step: 0,
      weight: 0,
      nextPhase: 'canary',
      nextStep: 1,
      nextWeight: 5,
      evaluatedAt: 10 * MIN,
    });
    expect(d.method).toBe(
      'confidence-sequence (beta-binomial mixture; Robbins 1970, Howard et al. 2021), alpha 0.05, Bonferroni across segments; ' +
        'rollback after 2 consecutive failing evaluations or one with anytime p ≤ alpha/20; point estimate with minimum evidence (not always-valid) for drift',
    );
    const next = applyDecision(spec, state, d);
    expect(next).toMatchObject({
      phase: 'canary',
      step: 1,
      weight: 5,
      stepStartedAt: 10 * MIN,
      consecutiveFailures: 0,
      lastDecision: 'promote',
    });
  });

  it('lists what is still inconclusive', () => {
    const state = initialState(spec, 0);
    const d = evaluate(
      spec,
      state,
      evidenceFor(state, 12 * MIN, {}, (s) => ({ ...regions(s), latam: { n: 120 } })),
      12 * MIN,
    );
    expect(d.decision).toBe('continue');
    expect(d.summary).toBe(
      'Continue scorer-v8 at shadow: 1 of 8 gate results inconclusive (agreement (region=latam) inconclusive, 120 of 200 compared pairs, needs 80 more compared pairs).',
    );
  });

  it('never promotes on evidence that starts before the stage', () => {
    const state = { ...initialState(spec, 0), stepStartedAt: 5 * MIN };
    const e = evidenceFor(state, 20 * MIN);
    e.overall.window = { from: 0, to: 20 * MIN };
    const d = evaluate(spec, state, e, 20 * MIN);
    expect(d.decision).toBe('continue');
    expect(d.reasons.at(-1)?.gate).toBe('evidence-window');
    expect(d.summary).toContain('the evidence window starts before this stage');
  });

  it('rolls back after afterFailures consecutive failing evaluations; a pass resets the count', () => {
    // agreement 0.975 at 12 000 pairs: fails, but not decisively (anytime p ≈ 0.015 > α/20).
    const failing = { agreement: 0.975 };
    const noSegments = () => ({});
    let state: RolloutState = { ...initialState(spec, 0), stepStartedAt: -5 * MIN };
    let d = evaluate(spec, state, evidenceFor(state, MIN, failing, noSegments), MIN);
    expect(d.decision).toBe('continue');
    expect(
      d.reasons.filter((r) => r.outcome === 'fail').map((r) => [r.gate, r.segment, r.decisive]),
    ).toEqual([['agreement', null, false]]);
    expect(d.summary).toMatch(
      /^Continue scorer-v8 at shadow: agreement failed, agreement upper bound 0\.9\d+ < 0\.98 at n=11 988 \(estimate 0\.9750\): worse than the gate with 95 % always-valid confidence; 1 of 2 failing evaluations before rollback\.$/,
    );
    state = applyDecision(spec, state, d);
    expect(state.consecutiveFailures).toBe(1);

    const passed = applyDecision(
      spec,
      state,
      evaluate(spec, state, evidenceFor(state, 2 * MIN), 2 * MIN),
    );
    expect(passed.consecutiveFailures).toBe(0);

    d = evaluate(spec, state, evidenceFor(state, 2 * MIN, failing, noSegments), 2 * MIN);
    expect(d.decision).toBe('rollback');
    expect(d).toMatchObject({ nextPhase: 'rolled-back', nextWeight: 0, nextStep: 0 });
    expect(d.summary).toMatch(
      /^Roll back scorer-v8 from shadow, before any live traffic: agreement failed, .*; 2nd failing evaluation in a row \(rollback\.afterFailures 2\)\.$/,
    );
    state = applyDecision(spec, state, d);
    expect(state).toMatchObject({ phase: 'rolled-back', weight: 0, lastDecision: 'rollback' });
    expect(thrown(() => evaluate(spec, state, evidenceFor(state, 3 * MIN), 3 * MIN))).toContain(
      'is rolled-back; nothing to evaluate',
    );
  });

  it('rolls back at once on a decisive failure, from a live step to weight 0', () => {
    const state: RolloutState = {
      ...initialState(spec, 0),
      phase: 'canary',
      step: 3,
      weight: 25,
      stepStartedAt: 0,
    };
    const d = evaluate(spec, state, evidenceFor(state, 5 * MIN, { errorRate: 0.03 }), 5 * MIN);
    expect(d.decision).toBe('rollback');
    expect(d).toMatchObject({
      phase: 'canary',
      weight: 25,
      nextPhase: 'rolled-back',
      nextWeight: 0,
    });
    expect(d.summary).toMatch(
      /^Roll back scorer-v8 from canary 25 %, the candidate goes to 0 %: errors failed, candidate error rate lower bound .*; decisive at the first failing evaluation \(anytime p ≤ α\/20\), so no second look\.$/,
    );
  });

  it('is deterministic and its decision is plain JSON', () => {
    const state = initialState(spec, 0);
    const e = evidenceFor(state, 7 * MIN, { agreement: 0.983 });
    const a = evaluate(spec, state, e, 7 * MIN);
    expect(evaluate(spec, state, e, 7 * MIN)).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });
});

describe('evaluate: blue-green', () => {
  const bg = parseRolloutSpec({
    ...canaryRaw,
    rollout: 'scorer-v8-bg',
    strategy: {
      blueGreen: {
        shadow: { minDuration: '10m' },
        preview: { weight: 5, minDuration: '5m' },
        watch: { duration: '30m' },
      },
    },
  });

  it('shadow → preview → switched → watch → done', () => {
    let state = initialState(bg, 0);
    expect(state.strategy).toBe('blue-green');
    let now = 0;
    const path: string[] = [];
    while (state.phase !== 'done') {
      now += MIN;
      const d = evaluate(bg, state, evidenceFor(state, now), now);
      if (d.decision === 'promote') path.push(`${d.nextPhase} ${d.nextWeight}`);
      state = applyDecision(bg, state, d);
      expect(now).toBeLessThan(200 * MIN);
    }
    expect(path).toEqual(['preview 5', 'switched 100', 'watch 100', 'done 100']);
  });

  it('after the switch with no pair at all, says where pairs come from now', () => {
    const state: RolloutState = { ...initialState(bg, 0), phase: 'switched', step: 2, weight: 100, stepStartedAt: 0 };
    const d = evaluate(bg, state, evidenceFor(state, 6 * MIN, { n: 0 }), 6 * MIN);
    expect(d.decision).toBe('continue');
    expect(d.summary).toContain('no pair since the switch');
    expect(d.summary).toContain('baseline.replay');
    const some = evaluate(bg, state, evidenceFor(state, 6 * MIN), 6 * MIN);
    expect(some.summary).not.toContain('no pair since the switch');
  });

  it('a failure while watching switches back to blue in one step', () => {
    const state: RolloutState = {
      ...initialState(bg, 0),
      phase: 'watch',
      step: 3,
      weight: 100,
      stepStartedAt: 0,
    };
    const d = evaluate(bg, state, evidenceFor(state, 6 * MIN, { errorRate: 0.03 }), 6 * MIN);
    expect(d.decision).toBe('rollback');
    expect(d).toMatchObject({ nextPhase: 'rolled-back', nextWeight: 0 });
    expect(d.summary).toMatch(
      /^Roll back scorer-v8-bg from watch \(100 % on green\), switch back to blue \(the baseline\): /,
    );
  });
});

describe('guards', () => {
  it('refuses a state started under another spec', () => {
    const state = initialState(spec, 0);
    const changed = parseRolloutSpec({ ...canaryRaw, alpha: 0.1 });
    expect(thrown(() => evaluate(changed, state, evidenceFor(state, MIN), MIN))).toMatch(
      /started under spec [0-9a-f]{16}, not [0-9a-f]{16}: the spec changed/,
    );
  });

  it('refuses a decision made on another state', () => {
    const state = initialState(spec, 0);
    const d = evaluate(spec, state, evidenceFor(state, 10 * MIN), 10 * MIN);
    const moved = applyDecision(spec, state, d);
    expect(thrown(() => applyDecision(spec, moved, d))).toContain('does not match the state');
  });
});

describe('abort', () => {
  it('takes the candidate to 0 % with the operator’s reason', () => {
    const state: RolloutState = { ...initialState(spec, 0), phase: 'canary', step: 2, weight: 10 };
    const { state: after, decision } = abort(state, 5 * MIN, 'pager: checkout p99 alarm');
    expect(decision).toMatchObject({
      decision: 'rollback',
      nextPhase: 'aborted',
      nextWeight: 0,
      reasons: [],
    });
    expect(decision.summary).toBe(
      'Abort scorer-v8 at canary 10 %, the candidate goes to 0 %: pager: checkout p99 alarm.',
    );
    expect(after).toMatchObject({
      phase: 'aborted',
      weight: 0,
      stepStartedAt: 5 * MIN,
      lastDecision: 'rollback',
    });
    expect(thrown(() => abort(after, 6 * MIN, 'again'))).toContain('already aborted');
  });
});
