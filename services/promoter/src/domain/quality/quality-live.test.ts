import { describe } from 'vitest';
import { assertGoals, isLiveHalf } from './goals.ts';
import { SCENARIOS } from './simulate.ts';

describe('decision quality, live-arm and near-gate regressions (200 rollouts per scenario)', () => {
  for (const scenario of SCENARIOS.filter(isLiveHalf)) assertGoals(scenario, 200, 4242);
});
