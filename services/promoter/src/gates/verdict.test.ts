import { describe, expect, it } from 'vitest';
import { initialState, parseRolloutSpec, type Phase, type RolloutSpec } from '../domain/index.ts';
import type { RecordedDecision } from '../store.ts';
import {
  argoVerdict,
  FLAGGER_HOOKS,
  flaggerAnswer,
  hasReached,
  type VerdictInput,
} from './verdict.ts';

const gates = [{ name: 'agreement', metric: 'agreement', op: '>=', threshold: 0.95 }];
const canary = parseRolloutSpec({
  rollout: 'r',
  experiment: 'e',
  candidate: 'c',
  baseline: 'b',
  strategy: { canary: { shadow: { minDuration: '10m' }, steps: [5, 25, 50], bakeTime: '10m' } },
  gates,
}) as RolloutSpec;
const blueGreen = parseRolloutSpec({
  rollout: 'r',
  experiment: 'e',
  candidate: 'c',
  baseline: 'b',
  strategy: {
    blueGreen: {
      shadow: { minDuration: '10m' },
      preview: { weight: 10, minDuration: '5m' },
      watch: { duration: '30m' },
    },
  },
  gates,
}) as RolloutSpec;

function at(
  spec: RolloutSpec,
  phase: Phase,
  step: number,
  weight: number,
  last?: Partial<RecordedDecision>,
): VerdictInput {
  const state = { ...initialState(spec, 1_000), phase, step, weight };
  const lastDecision = last
    ? ({
        decision: 'continue',
        rollout: 'r',
        phase,
        step,
        weight,
        nextPhase: phase,
        nextStep: step,
        nextWeight: weight,
        reasons: [],
        summary: 'Continue r.',
        specHash: state.specHash,
        evaluatedAt: 2_000,
        method: 'm',
        decisionId: 'd1',
        decidedBy: 'test',
        ...last,
      } as RecordedDecision)
    : null;
  return { state, spec, lastDecision };
}

describe('argoVerdict', () => {
  it('with ?weight=W: promote once umbra approved more than W', () => {
    expect(argoVerdict(at(canary, 'shadow', 0, 0), { weight: 0 })).toMatchObject({
      promote: false,
      rollback: false,
      inconclusive: true,
      decision: 'continue',
    });
    expect(argoVerdict(at(canary, 'canary', 1, 5), { weight: 0 })).toMatchObject({
      promote: true,
      inconclusive: false,
      decision: 'promote',
    });
    expect(argoVerdict(at(canary, 'canary', 1, 5), { weight: 5 })).toMatchObject({
      promote: false,
      inconclusive: true,
    });
    expect(argoVerdict(at(canary, 'done', 4, 100), { weight: 100 })).toMatchObject({
      promote: true,
    });
  });

  it('with ?phase=P: promote once the plan reached P; blue-green switch and done', () => {
    expect(argoVerdict(at(blueGreen, 'preview', 1, 10), { phase: 'switched' }).promote).toBe(false);
    expect(argoVerdict(at(blueGreen, 'switched', 2, 100), { phase: 'switched' }).promote).toBe(
      true,
    );
    expect(argoVerdict(at(blueGreen, 'watch', 3, 100), { phase: 'switched' }).promote).toBe(true);
    expect(argoVerdict(at(blueGreen, 'watch', 3, 100), { phase: 'done' }).promote).toBe(false);
    expect(argoVerdict(at(blueGreen, 'done', 4, 100), { phase: 'done' }).promote).toBe(true);
    expect(hasReached(at(canary, 'canary', 1, 5), 'preview')).toBe(false); // not in a canary plan
  });

  it('rollback for rolled-back and aborted rollouts, whatever is asked', () => {
    for (const phase of ['rolled-back', 'aborted'] as const) {
      for (const q of [{}, { weight: 0 }, { phase: 'canary' as const }]) {
        expect(argoVerdict(at(canary, phase, 1, 0), q)).toMatchObject({
          rollback: true,
          promote: false,
          inconclusive: false,
          decision: 'rollback',
        });
      }
    }
  });

  it('reads agreement bounds, error rate and p99 ratio from the overall results of the last decision', () => {
    const reasons = [
      {
        gate: 'agreement',
        metric: 'agreement',
        segment: null,
        value: 0.99,
        lower: 0.97,
        upper: 0.995,
        pValue: 0.001,
        n: 1200,
      },
      {
        gate: 'agreement',
        metric: 'agreement',
        segment: { key: 'region', value: 'eu' },
        value: 0.5,
        lower: 0.4,
        upper: 0.6,
        pValue: 0.001,
        n: 100,
      },
      {
        gate: 'errors',
        metric: 'candidate_error_rate',
        segment: null,
        value: 0.001,
        lower: 0,
        upper: 0.004,
        pValue: 0.01,
        n: 1200,
      },
      {
        gate: 'p99',
        metric: 'latency_p99_ratio',
        segment: null,
        value: 1.07,
        lower: null,
        upper: null,
        pValue: 0.02,
        n: 1200,
      },
      {
        gate: 'bake-time',
        metric: 'elapsed_ms',
        segment: null,
        value: 1,
        lower: null,
        upper: null,
        pValue: null,
        n: 0,
      },
    ].map((r) => ({
      threshold: 0,
      op: '>=',
      outcome: 'pass',
      method: 'm',
      query: 'q',
      window: { from: 1, to: 2 },
      reason: `${r.gate} ok`,
      ...r,
    }));
    const v = argoVerdict(
      at(canary, 'canary', 1, 5, { reasons: reasons as RecordedDecision['reasons'] }),
      { weight: 5 },
    );
    expect(v).toMatchObject({
      agreementLower: 0.97,
      agreementUpper: 0.995,
      errorRateUpper: 0.004,
      p99Ratio: 1.07,
      n: 1200,
    });
    expect(v.reasons.map((r) => `${r.gate}/${r.segment}`)).toEqual([
      'agreement/',
      'agreement/region=eu',
      'errors/',
      'p99/',
    ]);
    expect(v.decisionId).toBe('d1');
  });

  it('without weight or phase: the last decision', () => {
    expect(argoVerdict(at(canary, 'canary', 2, 25, { decision: 'promote' })).promote).toBe(true);
    expect(argoVerdict(at(canary, 'canary', 2, 25, { decision: 'continue' })).promote).toBe(false);
    expect(argoVerdict(at(canary, 'shadow', 0, 0))).toMatchObject({
      promote: false,
      inconclusive: true,
      n: 0,
      decisionId: null,
      agreementLower: null,
    });
  });
});

describe('flaggerAnswer', () => {
  const status = (hook: (typeof FLAGGER_HOOKS)[number], input: VerdictInput, granted = false) =>
    flaggerAnswer(hook, input, granted).status;

  it('answers every hook for every phase with 200/202 (advance), 409 (hold) or 412 (failed)', () => {
    const table: Record<string, Record<(typeof FLAGGER_HOOKS)[number], number>> = {
      shadow: {
        'confirm-rollout': 409,
        'pre-rollout': 200,
        rollout: 200,
        'confirm-traffic-increase': 409,
        'confirm-promotion': 409,
        rollback: 409,
        'post-rollout': 200,
        event: 202,
      },
      canary: {
        'confirm-rollout': 200,
        'pre-rollout': 200,
        rollout: 200,
        'confirm-traffic-increase': 200,
        'confirm-promotion': 409,
        rollback: 409,
        'post-rollout': 200,
        event: 202,
      },
      done: {
        'confirm-rollout': 200,
        'pre-rollout': 200,
        rollout: 200,
        'confirm-traffic-increase': 200,
        'confirm-promotion': 200,
        rollback: 409,
        'post-rollout': 200,
        event: 202,
      },
      'rolled-back': {
        'confirm-rollout': 412,
        'pre-rollout': 412,
        rollout: 412,
        'confirm-traffic-increase': 412,
        'confirm-promotion': 412,
        rollback: 200,
        'post-rollout': 200,
        event: 202,
      },
    };
    const inputs: Record<string, VerdictInput> = {
      shadow: at(canary, 'shadow', 0, 0),
      canary: at(canary, 'canary', 1, 5),
      done: at(canary, 'done', 4, 100),
      'rolled-back': at(canary, 'rolled-back', 1, 0),
    };
    for (const [phase, row] of Object.entries(table)) {
      for (const hook of FLAGGER_HOOKS)
        expect(`${phase} ${hook} ${status(hook, inputs[phase]!)}`).toBe(
          `${phase} ${hook} ${row[hook]}`,
        );
    }
  });

  it('confirm-traffic-increase: one grant per approved step, then hold', () => {
    const input = at(canary, 'canary', 2, 25);
    expect(flaggerAnswer('confirm-traffic-increase', input)).toMatchObject({
      status: 200,
      needsGrant: true,
    });
    expect(flaggerAnswer('confirm-traffic-increase', input, true)).toMatchObject({
      status: 409,
      verdict: 'hold',
    });
  });

  it('blue-green: confirm-promotion passes once umbra switched', () => {
    expect(status('confirm-promotion', at(blueGreen, 'preview', 1, 10))).toBe(409);
    expect(status('confirm-promotion', at(blueGreen, 'switched', 2, 100))).toBe(200);
    expect(status('confirm-rollout', at(blueGreen, 'preview', 1, 10))).toBe(200);
  });
});
