import { describe, expect, it } from 'vitest';
import { fmtCount, fmtDuration, fmtInterval, fmtMs, fmtNum, fmtP, fmtPct, fmtPctInterval, fmtRatio, fmtTime, segmentLabel } from './format.ts';

describe('format', () => {
  it('groups counts in threes', () => {
    expect(fmtCount(19_960)).toBe('19 960');
    expect(fmtCount(1_234_567)).toBe('1 234 567');
    expect(fmtCount(999)).toBe('999');
    expect(fmtCount(null)).toBe('n/a');
  });

  it('prints fractions as percentages and their bounds', () => {
    expect(fmtPct(0.99312)).toBe('99.31 %');
    expect(fmtPct(-0.00001)).toBe('0.00 %');
    expect(fmtPct(Number.NaN)).toBe('n/a');
    expect(fmtPctInterval(0.99178, 0.99421)).toBe('[99.18, 99.42]');
    expect(fmtPctInterval(0, 0.0002)).toBe('[0, 0.02]');
    expect(fmtPctInterval(0.999, 1)).toBe('[99.90, 100]');
    expect(fmtPctInterval(null, 0.5)).toBe('');
  });

  it('never prints a signed zero in an interval', () => {
    expect(fmtInterval(-0.001, 0.8, (v) => v.toFixed(2))).toBe('[0.00, 0.80]');
    expect(fmtInterval(-0.2, 0.6, (v) => v.toFixed(2))).toBe('[-0.20, 0.60]');
  });

  it('formats p-values, adjusted ones only when they differ', () => {
    expect(fmtP(0.0312)).toBe('p=0.031');
    expect(fmtP(0.0002)).toBe('p<0.001');
    expect(fmtP(0.004, 0.012)).toBe('p=0.0040 (adj. p=0.012)');
    expect(fmtP(1e-9, 1e-8)).toBe('p<0.001');
    expect(fmtP(null, 0.2)).toBe('p=0.200');
    expect(fmtP(null, null)).toBe('');
  });

  it('formats milliseconds, ratios, plain numbers, times and durations', () => {
    expect(fmtMs(0.4213)).toBe('0.42 ms');
    expect(fmtMs(48)).toBe('48.0 ms');
    expect(fmtMs(420.4)).toBe('420 ms');
    expect(fmtRatio(1.0412)).toBe('×1.04');
    expect(fmtNum(0.000423)).toBe('0.000423');
    expect(fmtNum(0.18412)).toBe('0.184');
    expect(fmtNum(0)).toBe('0');
    expect(fmtTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05Z');
    expect(fmtDuration(3_600_000)).toBe('60 min');
    expect(fmtDuration(86_400_000)).toBe('24 h');
    expect(fmtDuration(90_000)).toBe('90 s');
    expect(segmentLabel('', '')).toBe('overall');
    expect(segmentLabel('region', 'eu')).toBe('region=eu');
  });
});
