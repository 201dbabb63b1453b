import { describe, expect, it } from 'vitest';
import type { PromotionDecisionMessage } from '@umbra/core/avro';
import { createRouter, type RouterOptions } from './router.ts';

const opts: RouterOptions = {
  stable: 'http://127.0.0.1:9/',
  canary: 'http://127.0.0.1:9/',
  mode: 'canary',
  models: { stable: { name: 'm', version: '1' }, canary: { name: 'm', version: '2' } },
  adminToken: 't',
};

const decision = (nextWeight: number): PromotionDecisionMessage => ({
  decisionId: `d-${nextWeight}`,
  rollout: 'r',
  experiment: 'e',
  candidate: 'm:2',
  baseline: 'm:1',
  strategy: 'canary',
  phase: 'canary',
  step: 0,
  weight: 0,
  decision: 'promote',
  nextStep: 1,
  nextWeight,
  reasons: [],
  specHash: 'h',
  decidedBy: 'test',
  decidedAt: 1_700_000_000_000,
});

describe('createRouter', () => {
  it('applies a canary decision as the next weight and remembers it', async () => {
    const router = createRouter(opts);
    expect(router.applyDecision(decision(25))).toMatchObject({
      weight: 25,
      lastDecision: { decisionId: 'd-25', nextWeight: 25 },
    });
    expect(router.applyDecision(decision(0)).weight).toBe(0);
    await router.close();
  });

  it('blue-green: a preview share gives green its part with blue still active; 0 and 100 switch', async () => {
    const router = createRouter({ ...opts, mode: 'blue-green' });
    expect(router.applyDecision(decision(20))).toMatchObject({ active: 'blue', weight: 20 });
    expect(router.applyDecision(decision(100)).active).toBe('green');
    expect(router.applyDecision(decision(0)).active).toBe('blue');
    await router.close();
  });

  it('refuses bad options at creation', () => {
    expect(() => createRouter({ ...opts, stable: 'ftp://x' })).toThrow(/stable/);
    expect(() => createRouter({ ...opts, adminToken: '' })).toThrow(/adminToken/);
    expect(() => createRouter({ ...opts, weight: 120 })).toThrow(/0\.\.100/);
    expect(() => createRouter({ ...opts, tapSampleRate: 0 })).toThrow(/tapSampleRate/);
  });
});
