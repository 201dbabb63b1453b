// The shipped example specs must stay valid: this test reads them from deploy/examples.
// eslint-disable-next-line no-restricted-imports -- a test reading the repo's example files, not the pure code
import { readFileSync } from 'node:fs';
// eslint-disable-next-line no-restricted-imports -- YAML is how the examples are written
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { evidenceNeeds, parseRolloutSpec, rolloutPlan } from './spec.ts';
import { HARNESS_SPEC } from './quality/simulate.ts';

const read = (name: string): unknown =>
  parse(readFileSync(new URL(`../../../../deploy/examples/${name}`, import.meta.url), 'utf8'));

describe('deploy/examples', () => {
  it('rollout-canary.yaml parses and holds the harness gates', () => {
    const spec = parseRolloutSpec(read('rollout-canary.yaml'), 'rollout-canary.yaml');
    expect(rolloutPlan(spec).map((s) => s.weight)).toEqual([0, 5, 10, 25, 50]);
    // The decision-quality numbers are about this spec's gates.
    expect(spec.gates).toEqual(HARNESS_SPEC.gates);
    expect(spec.evidence).toEqual(HARNESS_SPEC.evidence);
    expect(spec.rollback).toEqual(HARNESS_SPEC.rollback);
  });

  it('rollout-blue-green.yaml parses', () => {
    const spec = parseRolloutSpec(read('rollout-blue-green.yaml'), 'rollout-blue-green.yaml');
    expect(rolloutPlan(spec).map((s) => s.phase)).toEqual([
      'shadow',
      'preview',
      'switched',
      'watch',
    ]);
    expect(evidenceNeeds(spec).segmentKeys).toEqual(['client', 'region']);
  });
});
