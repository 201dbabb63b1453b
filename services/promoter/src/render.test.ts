import { describe, expect, it } from 'vitest';
import {
  initialState,
  parseRolloutSpec,
  type GateResult,
  type RolloutSpec,
} from './domain/index.ts';
import type { RolloutStatus } from './promoter.ts';
import { renderReasons, renderStatus, renderTable } from './render.ts';
import type { RecordedDecision } from './store.ts';

const spec = parseRolloutSpec({
  rollout: 'fraud-v2',
  experiment: 'fraud-exp',
  candidate: 'fraud-v2',
  baseline: 'fraud',
  strategy: { canary: { shadow: { minDuration: '10m' }, steps: [5, 25], bakeTime: '10m' } },
  gates: [
    {
      name: 'agreement',
      metric: 'agreement',
      op: '>=',
      threshold: 0.95,
      perSegment: { keys: ['region'] },
    },
  ],
}) as RolloutSpec;

const T = Date.UTC(2030, 0, 2, 3, 0, 0);
const base = {
  threshold: 0.95,
  op: '>=' as const,
  method: 'cs',
  query: 'pairs.agreed / pairs.compared',
  window: { from: T, to: T + 600_000 },
};
const reasons: GateResult[] = [
  {
    ...base,
    gate: 'agreement',
    metric: 'agreement',
    segment: null,
    value: 0.9912,
    lower: 0.9803,
    upper: 0.9961,
    pValue: 0.0001,
    n: 1204,
    outcome: 'pass',
    reason: 'pass: agreement lower bound 0.9803 ≥ 0.95 at n=1 204',
  },
  {
    ...base,
    gate: 'agreement',
    metric: 'agreement',
    segment: { key: 'region', value: 'apac' },
    value: 0.91,
    lower: 0.88,
    upper: 0.94,
    pValue: 0.001,
    n: 310,
    outcome: 'fail',
    reason: 'region=apac: fail: agreement upper bound 0.94 < 0.95',
  },
  {
    ...base,
    gate: 'bake-time',
    metric: 'elapsed_ms',
    segment: null,
    value: 660_000,
    lower: null,
    upper: null,
    pValue: null,
    n: 0,
    threshold: 600_000,
    outcome: 'pass',
    reason: 'bake time: 11m of 10m',
  },
];

describe('render', () => {
  it('pads columns to the widest cell and leaves the last one unpadded', () => {
    expect(
      renderTable(
        ['a', 'bb'],
        [
          ['ccc', 'd'],
          ['e', 'ffff'],
        ],
      ),
    ).toBe('a    bb\n---  ----\nccc  d\ne    ffff');
  });

  it('one row per gate result with segment, value, interval, n, threshold, outcome and reason', () => {
    const lines = renderReasons(reasons).split('\n');
    expect(lines[0]).toMatch(
      /^gate\s+segment\s+value\s+interval\/p\s+n\s+threshold\s+outcome\s+reason$/,
    );
    expect(lines[2]).toMatch(
      /^agreement\s+overall\s+0\.9912\s+\[0\.9803, 0\.9961\]\s+1 204\s+>= 0\.95\s+pass\s+pass: agreement lower bound/,
    );
    expect(lines[3]).toMatch(
      /region=apac\s+0\.9100\s+\[0\.8800, 0\.9400\]\s+310\s+>= 0\.95\s+FAIL\s+region=apac: fail/,
    );
    expect(lines[4]).toMatch(
      /^bake-time\s+overall\s+11m\s+—\s+—\s+>= 10m\s+pass\s+bake time: 11m of 10m$/,
    );
  });

  it('status: phase, plan with the current stage marked, the last decision and its reasons', () => {
    const state = {
      ...initialState(spec, T),
      phase: 'canary' as const,
      step: 1,
      weight: 5,
      evaluations: 1,
      stepStartedAt: T + 660_000,
      updatedAt: T + 660_000,
    };
    const last: RecordedDecision = {
      decision: 'promote',
      rollout: 'fraud-v2',
      phase: 'shadow',
      step: 0,
      weight: 0,
      nextPhase: 'canary',
      nextStep: 1,
      nextWeight: 5,
      reasons,
      summary: 'Promote fraud-v2 from shadow to canary 5 %.',
      specHash: state.specHash,
      evaluatedAt: T + 660_000,
      method: 'confidence-sequence',
      decisionId: 'd-1',
      decidedBy: 'host/42',
    };
    const status: RolloutStatus = {
      rollout: 'fraud-v2',
      state,
      spec,
      specYaml: '',
      version: 2,
      lastDecision: last,
      updatedBy: 'host/42',
      updatedAt: T + 660_000,
      nextEvaluationAt: T + 720_000,
    };
    const text = renderStatus(status);
    expect(text).toContain('phase      CANARY 5 %, step 1, candidate weight 5 %');
    expect(text).toContain('plan       shadow → [canary 5 %] → canary 25 % → done');
    expect(text).toContain('decision   PROMOTE at 2030-01-02T03:11:00Z by host/42 (id d-1)');
    expect(text).toContain('           shadow → canary 5 %');
    expect(text).toContain('summary    Promote fraud-v2 from shadow to canary 5 %.');
    expect(text).toContain('region=apac');
    const fresh = renderStatus({ ...status, state: initialState(spec, T), lastDecision: null });
    expect(fresh).toContain('plan       [shadow] → canary 5 %');
    expect(fresh).toContain('decision   none yet');
  });
});
