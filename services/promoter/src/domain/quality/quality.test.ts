import { describe, expect, it } from 'vitest';
import { assertGoals, isLiveHalf } from './goals.ts';
import {
  binomial,
  createRng,
  exceedanceShare,
  HARNESS_SPEC,
  psi,
  runScenario,
  SCENARIOS,
  shiftedShares,
  simulateRollout,
} from './simulate.ts';

const RUNS = 200;
const SEED = 4242;

describe('decision quality (200 simulated rollouts per scenario)', () => {
  // Regressions only live traffic shows and the near-gate one run in quality-live.test.ts (a
  // second file, so the two halves use both test workers). The 0.99 "within the gate" good
  // scenario is the slowest (~90 evaluations per rollout); run.ts covers it at 1 000 rollouts.
  const scenarios = SCENARIOS.filter(
    (s) => !s.name.includes('within the 0.98 gate') && !isLiveHalf(s),
  );
  for (const scenario of scenarios) assertGoals(scenario, RUNS, SEED);

  it('blames the regressed gate, not another one', () => {
    const by = (name: string) => SCENARIOS.find((s) => s.name.startsWith(name));
    const gates = (name: string) => {
      const scenario = by(name);
      if (!scenario) throw new Error(name);
      return runScenario(HARNESS_SPEC, scenario, 20, SEED).failedGates;
    };
    expect(Object.keys(gates('p99 latency'))).toEqual(['p99-latency']);
    expect(Object.keys(gates('error rate'))).toEqual(['replay-errors']);
    expect(Object.keys(gates('output shift'))).toEqual(['output-drift']);
    expect(Object.keys(gates('apac only'))).toEqual(['agreement[apac]']);
  });

  it('is reproducible from its seed', () => {
    const scenario = SCENARIOS[2];
    if (!scenario) throw new Error('no scenario');
    expect(simulateRollout(HARNESS_SPEC, scenario, 99)).toEqual(
      simulateRollout(HARNESS_SPEC, scenario, 99),
    );
  });
});

describe('harness building blocks', () => {
  it('binomial draws have the right mean and variance', () => {
    const rng = createRng(1);
    for (const [n, p] of [
      [2000, 0.005],
      [300, 0.1],
      [2000, 0.5],
      [200, 0.97],
    ] as const) {
      const xs = Array.from({ length: 4000 }, () => binomial(rng, n, p));
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(mean - n * p)).toBeLessThan((4 * sd) / Math.sqrt(xs.length));
      expect(variance / (sd * sd)).toBeGreaterThan(0.9);
      expect(variance / (sd * sd)).toBeLessThan(1.1);
    }
  });

  it('tilts output shares to the requested PSI', () => {
    const uniform = Array.from({ length: 10 }, () => 0.1);
    expect(psi(uniform, shiftedShares(0.15))).toBeCloseTo(0.15, 6);
    expect(psi(uniform, shiftedShares(0))).toBe(0);
  });

  it('exceedance share: 1 % above the baseline p99 itself, less above 1.1 ×, more when slower', () => {
    expect(exceedanceShare(1, 1, 0.5)).toBeCloseTo(0.01, 6);
    expect(exceedanceShare(1.1, 1, 0.5)).toBeLessThan(0.01);
    expect(exceedanceShare(1.1, 1.2, 0.5)).toBeGreaterThan(0.01);
  });
});
