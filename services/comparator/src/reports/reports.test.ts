import { describe, expect, it } from 'vitest';
import { isUmbraError } from '@umbra/core';
import { adjustFamilies } from './multiplicity.ts';
import { checkWindow, resolveThresholds, sampleModFor, timeParam, DEFAULT_THRESHOLDS } from './params.ts';
import { toMetricRow, type RawMetricRow } from './rows.ts';
import type { MetricRow } from './types.ts';

function row(metric: string, p: number | null, segment = ''): MetricRow {
  return {
    report: 'agreement',
    metric,
    segment_key: segment ? 'region' : '',
    segment_value: segment,
    value: 0.5,
    n: 10,
    lower: null,
    upper: null,
    p_value: p,
    p_adjusted: null,
    method: 'mcnemar-cc',
    details: {},
  };
}

describe('adjustFamilies', () => {
  it('adjusts within each (report, metric) family and leaves rows without p alone', () => {
    const rows = [row('a', 0.01), row('a', 0.04, 'eu'), row('b', 0.01), row('a', null, 'us')];
    const out = adjustFamilies(rows, 'holm');
    expect(out.map((r) => r.p_adjusted)).toEqual([0.02, 0.04, 0.01, null]);
    expect(out[0]?.details).toEqual({ p_adjust: 'holm', p_adjust_family: 'agreement/a', p_adjust_family_size: 2 });
    expect(out[3]?.details).toEqual({});
    expect(rows[0]?.p_adjusted).toBeNull(); // the input is not modified
    expect(adjustFamilies(rows, 'bh').map((r) => r.p_adjusted)).toEqual([0.02, 0.04, 0.01, null]);
  });
});

describe('params', () => {
  it('sizes deterministic samples', () => {
    expect(sampleModFor(0, 100)).toBe(1);
    expect(sampleModFor(100, 100)).toBe(1);
    expect(sampleModFor(101, 100)).toBe(2);
    expect(sampleModFor(10_000_000, 1_000_000)).toBe(10);
  });

  it('passes times as Unix seconds with milliseconds, independent of time zones', () => {
    expect(timeParam(1_700_000_000_123)).toBe('1700000000.123');
    expect(timeParam(5)).toBe('0.005');
  });

  it('refuses reversed or non-finite windows and bad thresholds', () => {
    expect(() => checkWindow('w', { from: 2, to: 1 })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => checkWindow('w', { from: Number.NaN, to: 1 })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => checkWindow('w', { from: 1, to: 1 })).not.toThrow();
    expect(resolveThresholds({ relThreshold: 0.5 })).toEqual({ ...DEFAULT_THRESHOLDS, relThreshold: 0.5 });
    for (const bad of [{ relThreshold: -1 }, { maxDriftSample: 0 }, { nope: 1 } as never]) {
      try {
        resolveThresholds(bad);
        expect.unreachable();
      } catch (e) {
        expect(isUmbraError(e, 'BAD_ARGUMENT')).toBe(true);
      }
    }
  });
});

describe('toMetricRow', () => {
  const raw: RawMetricRow = {
    report: 'latency',
    metric: 'latency_p99_candidate',
    segment_key: '',
    segment_value: '',
    value: '12.5',
    n: '42',
    lower: null,
    upper: null,
    p_value: null,
    p_adjusted: null,
    method: 'quantile-exact-inclusive',
    details: '{"sample_mod":1}',
  };

  it('reads counts given as strings (a server) or numbers (chDB) and parses details', () => {
    expect(toMetricRow(raw)).toMatchObject({ value: 12.5, n: 42, details: { sample_mod: 1 } });
    expect(toMetricRow({ ...raw, details: '' }).details).toEqual({});
  });

  it('refuses an unknown report kind or details that are not JSON', () => {
    expect(() => toMetricRow({ ...raw, report: 'other' })).toThrow(expect.objectContaining({ code: 'STORE_QUERY_FAILED' }));
    expect(() => toMetricRow({ ...raw, details: '{' })).toThrow(expect.objectContaining({ code: 'STORE_QUERY_FAILED' }));
  });
});
