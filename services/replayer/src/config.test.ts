import { describe, expect, it } from 'vitest';
import { parseExperimentConfig } from './config.ts';

const base = {
  experiment: 'x',
  baseline: { model: 'credit-risk', version: 'v1' },
  output: { task: 'classification', label: '$.label' },
  candidates: [{ name: 'v2', adapter: 'module', path: './m.ts', model: { name: 'credit-risk', version: 'v2' } }],
};

const error = (raw: unknown): string => {
  try {
    parseExperimentConfig(raw, 'exp.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('experiment config: candidate and baseline models', () => {
  it('accepts a candidate model that differs from the baseline by version', () => {
    expect(parseExperimentConfig(base).candidates[0]?.model).toEqual({ name: 'credit-risk', version: 'v2' });
  });

  it("refuses a candidate model that is the baseline's, naming the field and the fix", () => {
    const same = { ...base, candidates: [{ ...base.candidates[0], model: { name: 'credit-risk', version: 'v1' } }] };
    expect(error(same)).toMatch(/candidates\[0\]\.model: credit-risk v1 is the baseline itself/);
    const versionless = { ...base, candidates: [{ ...base.candidates[0], model: { name: 'credit-risk' } }] };
    expect(error(versionless)).toMatch(/candidates\[0\]\.model: names the baseline.s model \(credit-risk\) without a version/);
    const unversionedBaseline = { ...base, baseline: { model: 'credit-risk' } };
    expect(parseExperimentConfig(unversionedBaseline).baseline.version).toBeUndefined();
  });
});
