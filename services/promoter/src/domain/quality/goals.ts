/**
 * The harness's goals as vitest assertions, shared by the two quality test files: false
 * promotion ≤ 1 %, false rollback ≤ 5 %, every regression caught before the final step.
 */
import { expect, it } from 'vitest';
import { HARNESS_SPEC, runScenario, SCENARIOS, type Scenario } from './simulate.ts';

/** Scenarios that quality-live.test.ts runs: decided on live canary arms, or slow to fail. */
export function isLiveHalf(s: Scenario): boolean {
  return s.name.startsWith('live only') || s.name.includes('just below the gate');
}

export function assertGoals(scenario: Scenario, runs: number, seed: number): void {
  // Each scenario keeps its own seed stream whichever file runs it.
  const offset = SCENARIOS.indexOf(scenario) * 7919;
  it(`${scenario.bad ? 'catches' : 'promotes'}: ${scenario.name}`, { timeout: 120_000 }, () => {
    const r = runScenario(HARNESS_SPEC, scenario, runs, seed + offset);
    expect(r.undecided).toBe(0);
    if (scenario.bad) {
      expect(r.done / r.runs).toBeLessThanOrEqual(0.01);
      expect(r.caughtBeforeFinalStep).toBe(r.runs);
    } else {
      expect(r.rolledBack / r.runs).toBeLessThanOrEqual(0.05);
      expect(r.done).toBe(r.runs - r.rolledBack);
    }
  });
}
