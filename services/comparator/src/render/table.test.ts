import { describe, expect, it } from 'vitest';
import { FIXTURE_NOW, fixtureReports } from './fixtures.ts';
import { layoutTable, renderTable } from './table.ts';

describe('renderTable', () => {
  const text = renderTable(fixtureReports(), { now: FIXTURE_NOW });
  const lines = text.split('\n');
  const cells = (label: string) => lines.find((l) => l.trimStart().startsWith(label))!.trim().split(/\s{2,}/);

  it('heads with the experiment, the window and the confidence level', () => {
    expect(lines[0]).toBe('experiment credit-risk — window 2025-11-27T09:00:00Z → 2025-11-27T10:00:00Z (60 min); intervals are 95 %');
  });

  it('gives each candidate a verdict line with its evidence, and the reasons', () => {
    expect(text).toContain('■ credit-risk-v2-close\n  OK: agreement 99.31 % [99.18, 99.41] n=19 960; p99 latency ×1.03 vs A/A; errors 0.00 % [0, 0.02]');
    expect(text).toContain('■ credit-risk-v2-regressed\n  WORSE: agreement 94.40 % [94.07, 94.71] n=19 950; p99 latency ×1.48 vs A/A; errors 0.24 % [0.18, 0.32]');
    expect(text).toContain('    ✗ segment region=apac: agreement 86.53 % [85.65, 87.37] n=6 000 is below the 98.00 % floor');
    expect(text).toContain('INCONCLUSIVE: agreement 99.17 % [95.43, 99.85] n=120');
    expect(text).toContain('    ? only 120 compared pairs; at least 200 are needed for a verdict');
    expect(text).toContain('■ baseline (A/A noise: baseline vs itself)\n  A/A NOISE: agreement 99.80 %');
  });

  it('shows every key metric with value, interval or p, n and method', () => {
    expect(cells('agreement ')).toEqual(['agreement', '99.31 %', '[99.18, 99.41]', '19 960', 'wilson-95']);
    expect(cells('label shift into "reject"')).toEqual(['label shift into "reject"', '+0.01 %', '[-0.11, 0.13] p=0.465 (adj. p=0.930)', '19 960', 'mcnemar-cc']);
    expect(cells('latency p99')).toEqual(['latency p99 baseline → candidate', '48.0 → 49.9 ms', '×1.04, diff 1.90 ms', '19 960', 'quantile-exact-inclusive']);
    expect(cells('drift output value KS D')).toEqual(['drift output value KS D', '0.011', 'p=0.410', '19 960', 'ks-two-sample-asymp']);
    expect(cells("drift baseline's latency (vs ref. window) PSI")[1]).toBe('0.21');
  });

  it('lists the worst segments of each candidate first', () => {
    const regressed = lines.indexOf('■ credit-risk-v2-regressed');
    const start = lines.findIndex((l, i) => i > regressed && l.includes('worst segments'));
    expect(lines[start + 3]!.trim()).toMatch(/^input_class=thin-file\s+72.50 %\s+\[57.17, 83.89\]\s+40$/);
    expect(lines[start + 4]!.trim()).toMatch(/^region=apac\s+86.53 %\s+\[85.65, 87.37\]\s+6 000\s+\+8.20 % "reject"\s+p<0.001$/);
  });

  it('lists differing fields with the A/A rate and whether they are beyond noise', () => {
    expect(cells('$.label')).toEqual(['$.label', '0.69 %', '[0.59, 0.82]', '19 960', '0.04 % n=5 000', 'yes']);
  });

  it('says so when there is nothing to report', () => {
    expect(renderTable([])).toBe('no reports: no pairs in this window\n');
    expect(renderTable([], { experiment: 'quiet' })).toBe('no reports for experiment quiet: no pairs in this window\n');
  });
});

describe('layoutTable', () => {
  it('pads columns and right-aligns the numeric ones', () => {
    expect(layoutTable(['a', 'n'], [['xx', '1'], ['y', '100']], new Set([1]))).toBe('a     n\n──  ───\nxx    1\ny   100');
  });
});
