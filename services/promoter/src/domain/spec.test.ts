import { isUmbraError } from '@umbra/core';
import { describe, expect, it } from 'vitest';
import {
  evidenceNeeds,
  fnv1a64,
  formatDuration,
  parseDuration,
  parseRolloutSpec,
  rolloutPlan,
  specHash,
} from './spec.ts';
import { canaryRaw } from './testing.ts';

function message(raw: unknown): string {
  try {
    parseRolloutSpec(raw, 'spec.yaml');
  } catch (e) {
    if (isUmbraError(e, 'CONFIG_INVALID')) return e.message;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

const withGate = (gate: Record<string, unknown>) => ({ ...canaryRaw, gates: [gate] });

describe('parseRolloutSpec', () => {
  it('fills defaults, converts durations to ms, picks bounds, and freezes', () => {
    const spec = parseRolloutSpec(canaryRaw);
    expect(spec.evidence).toEqual({ minPairs: 1000, minPerSegment: 200, minRequestsPerArm: 500 });
    expect(spec.rollback).toEqual({ afterFailures: 2 });
    expect(spec.alpha).toBe(0.05);
    expect(spec.interval).toBe(60_000);
    expect(spec.strategy).toEqual({
      canary: { shadow: { minDuration: 600_000 }, steps: [5, 10, 25, 50, 100], bakeTime: 600_000 },
    });
    expect(spec.gates.map((g) => g.bound)).toEqual([
      'lower',
      'upper',
      'upper',
      'value',
      'upper',
      'upper',
    ]);
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.gates[0])).toBe(true);
  });

  it('parses a blue-green spec', () => {
    const spec = parseRolloutSpec({
      ...canaryRaw,
      strategy: {
        blueGreen: {
          shadow: { minDuration: '15m' },
          preview: { weight: 5, minDuration: '10m' },
          watch: { duration: '30m' },
        },
      },
    });
    expect(rolloutPlan(spec).map((s) => [s.phase, s.weight, s.minDuration])).toEqual([
      ['shadow', 0, 900_000],
      ['preview', 5, 600_000],
      ['switched', 100, 0],
      ['watch', 100, 1_800_000],
    ]);
  });

  it('names the field of every mistake', () => {
    expect(message({ ...canaryRaw, extra: 1 })).toContain('extra: unknown key');
    expect(message({ ...canaryRaw, rollout: undefined })).toContain('rollout:');
    expect(
      message({
        ...canaryRaw,
        strategy: { canary: { ...canaryRaw.strategy.canary, bakeTime: 'ten minutes' } },
      }),
    ).toContain("strategy.canary.bakeTime: not a duration: 'ten minutes'");
    expect(
      message({
        ...canaryRaw,
        strategy: { canary: { ...canaryRaw.strategy.canary, steps: [10, 5] } },
      }),
    ).toContain('strategy.canary.steps: steps must increase strictly');
    expect(
      message({
        ...canaryRaw,
        strategy: { canary: { ...canaryRaw.strategy.canary, steps: [5, 150] } },
      }),
    ).toContain('strategy.canary.steps[1]');
    expect(message({ ...canaryRaw, strategy: {} })).toContain(
      'strategy: exactly one of canary or blueGreen',
    );
    expect(
      message(withGate({ name: 'a', metric: 'agreement', op: '<=', threshold: 0.98 })),
    ).toContain("gates[0].op: agreement gates use op '>='");
    expect(
      message(withGate({ name: 'a', metric: 'agreement', op: '>=', threshold: 98 })),
    ).toContain('gates[0].threshold: agreement threshold must be in (0, 1]');
    expect(message(withGate({ name: 'a', metric: 'p50', op: '<=', threshold: 1 }))).toContain(
      'gates[0].metric',
    );
    expect(
      message(withGate({ name: 'a', metric: 'psi', op: '<=', threshold: 0.1, bound: 'upper' })),
    ).toContain("gates[0].bound: psi is a point-estimate gate: bound must be 'value'");
    expect(
      message(withGate({ name: 'bake-time', metric: 'psi', op: '<=', threshold: 0.1 })),
    ).toContain('gates[0].name: reserved');
    expect(message({ ...canaryRaw, gates: [canaryRaw.gates[0], canaryRaw.gates[0]] })).toContain(
      'gates[1].name: duplicate gate name (also gates[0])',
    );
    expect(message({ ...canaryRaw, gates: [canaryRaw.gates[4]] })).toContain(
      'gates: at least one gate on paired shadow evidence',
    );
    expect(message({ ...canaryRaw, alpha: 0.9 })).toContain('alpha:');
    expect(message({ ...canaryRaw, baseline: 'scorer-v8' })).toContain(
      'candidate: the candidate must differ from the baseline',
    );
    expect(message({ ...canaryRaw, evidence: { minPairs: 0 } })).toContain('evidence.minPairs');
  });

  it('starts the message with the source', () => {
    expect(message({})).toMatch(/^spec\.yaml: /);
  });
});

describe('specHash', () => {
  it('is stable across spellings, key order and explicit defaults', () => {
    const a = parseRolloutSpec(canaryRaw);
    const b = parseRolloutSpec({
      gates: canaryRaw.gates,
      baseline: 'scorer-v7',
      candidate: 'scorer-v8',
      experiment: 'scorer',
      rollout: 'scorer-v8',
      strategy: {
        canary: { bakeTime: '600s', steps: [5, 10, 25, 50, 100], shadow: { minDuration: '0h10m' } },
      },
      alpha: 0.05,
      interval: '60s',
      evidence: { minPairs: 1000 },
    });
    expect(specHash(b)).toBe(specHash(a));
    expect(specHash(a)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes when a gate changes', () => {
    const a = parseRolloutSpec(canaryRaw);
    const b = parseRolloutSpec({
      ...canaryRaw,
      gates: [{ ...canaryRaw.gates[0], threshold: 0.97 }, ...canaryRaw.gates.slice(1)],
    });
    expect(specHash(b)).not.toBe(specHash(a));
  });

  it('FNV-1a 64 matches the published test vectors and a BigInt reference', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
    const reference = (text: string): string => {
      let h = 0xcbf29ce484222325n;
      for (const byte of new TextEncoder().encode(text))
        h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h.toString(16).padStart(16, '0');
    };
    for (const text of ['é日本', 'x'.repeat(1000), JSON.stringify(canaryRaw)])
      expect(fnv1a64(text)).toBe(reference(text));
  });
});

describe('durations', () => {
  it('parses and formats', () => {
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(() => parseDuration('10')).toThrow(/not a duration/);
    expect(formatDuration(240_000)).toBe('4m');
    expect(formatDuration(5_430_000)).toBe('1h30m30s');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('evidenceNeeds', () => {
  it('lists segment keys and the exceedance counts the latency gates test', () => {
    expect(evidenceNeeds(parseRolloutSpec(canaryRaw))).toEqual({
      segmentKeys: ['region'],
      exceedance: [
        { arm: 'pairs', quantile: 0.99, ratio: 1.1 },
        { arm: 'canary', quantile: 0.99, ratio: 1.1 },
      ],
    });
  });
});
