import { describe, expect, it } from 'vitest';
import { FIXTURE_NOW, fixtureReports } from './fixtures.ts';
import { buildView, shiftText, unitOf, worstFirst, type SegmentView } from './model.ts';
import type { MetricRow, Report } from './types.ts';

function metric(p: Partial<MetricRow> & Pick<MetricRow, 'report' | 'metric'>): MetricRow {
  return { segment_key: '', segment_value: '', value: null, n: 0, lower: null, upper: null, p_value: null, p_adjusted: null, method: 'm', details: {}, ...p };
}

function one(metrics: MetricRow[], role: Report['role'] = 'candidate'): Report {
  return { runId: 'r', experiment: 'e', candidate: 'c', role, window: { from: 0, to: 3_600_000 }, createdAt: 1, metrics };
}

const agreement = (value: number, lower: number, upper: number, n = 5_000) => metric({ report: 'agreement', metric: 'agreement_rate', value, lower, upper, n, method: 'wilson-95' });
const good = agreement(0.995, 0.993, 0.997);

describe('buildView', () => {
  const view = buildView(fixtureReports(), { now: FIXTURE_NOW });

  it('orders candidates before the A/A noise run and reads the window', () => {
    expect(view.candidates.map((c) => c.candidate)).toEqual(['credit-risk-v2-close', 'credit-risk-v2-regressed', 'credit-risk-v3-sampled', 'baseline']);
    expect(view.experiment).toBe('credit-risk');
    expect(view.window.to - view.window.from).toBe(3_600_000);
  });

  it('gives each candidate the verdict its evidence supports', () => {
    const status = Object.fromEntries(view.candidates.map((c) => [c.candidate, c.verdict.status]));
    expect(status).toEqual({
      'credit-risk-v2-close': 'ok',
      'credit-risk-v2-regressed': 'worse',
      'credit-risk-v3-sampled': 'inconclusive',
      baseline: 'reference',
    });
  });

  it('writes the summary line with interval and n', () => {
    expect(view.candidates[0]!.verdict.summary).toBe('agreement 99.31 % [99.18, 99.41] n=19 960; p99 latency ×1.03 vs A/A; errors 0.00 % [0, 0.02]');
  });

  it('puts the worse findings first and names the regressed segment and the label that gains traffic', () => {
    const texts = view.candidates[1]!.verdict.findings.map((f) => `${f.status}: ${f.text}`);
    expect(texts[0]).toMatch(/^worse: /);
    expect(texts).toContain('worse: segment region=apac: agreement 86.53 % [85.65, 87.37] n=6 000 is below the 98.00 % floor');
    expect(texts).toContain('worse: the candidate moves 3.42 % of traffic into "reject" [3.09, 3.74] (McNemar p<0.001, n=19 950)');
    // A segment with fewer pairs than the minimum never decides the verdict.
    expect(texts.join('\n')).not.toContain('thin-file');
    // Drift of production traffic against a reference window is the same for every candidate: never judged.
    expect(texts.join('\n')).not.toContain('latency (window');
    expect(texts).toContain(
      'worse: output value (candidate vs baseline) shifted: PSI 0.184 > 0.1, Jensen–Shannon 0.16 > 0.1, Wasserstein (normed) 0.22 > 0.1; KS p<0.001; n=19 950',
    );
  });

  it('sorts segments worst first, with their most significant label shift', () => {
    const regressed = view.candidates[1]!;
    expect(regressed.segments.map((s) => `${s.key}=${s.value}`).slice(0, 3)).toEqual(['input_class=thin-file', 'region=apac', 'client=mobile']);
    expect(regressed.segments[1]!.shift?.p_adjusted).toBe(3e-12);
  });

  it('reads confusion cells, fields with their A/A rate, and drift histograms', () => {
    const close = view.candidates[0]!;
    expect(close.confusion).toEqual({ labels: ['approve', 'reject'], counts: [[15_010, 70], [68, 4_812]], n: 19_960 });
    expect(close.fields.map((f) => [f.path, f.noiseRate, f.real])).toEqual([
      ['$.score', 0.398, false],
      ['$.label', 0.0004, true],
    ]);
    const output = close.drift.find((d) => d.feature === 'output_value')!;
    expect(output.against).toBe('baseline');
    expect(output.histogram?.labels).toEqual(['≤0.08', '≤0.15', '≤0.22', '≤0.3', '≤0.38', '≤0.47', '≤0.56', '≤0.66', '≤0.79', '>0.79']);
    expect(output.histogram?.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(close.drift.map((d) => d.against)).toEqual(['baseline', 'reference window']);
  });
});

describe('verdict rules', () => {
  it('is inconclusive when the agreement interval straddles the floor', () => {
    const v = buildView([one([agreement(0.981, 0.978, 0.984)])], { minAgreement: 0.98 }).candidates[0]!;
    expect(v.verdict.status).toBe('inconclusive');
    expect(v.verdict.findings[0]!.text).toContain('overlaps the 98.00 % floor');
  });

  it('judges the p99 ratio against the limit, as a point estimate when the report gives no interval', () => {
    const ratio = (value: number, lower: number | null = null, upper: number | null = null) =>
      metric({ report: 'latency', metric: 'latency_p99_ratio', value, lower, upper, n: 5_000 });
    const worse = buildView([one([good, ratio(1.5)])]).candidates[0]!;
    expect(worse.verdict.status).toBe('worse');
    expect(worse.verdict.findings[0]!.text).toBe("p99 latency ×1.50 (point estimate) of the baseline's (limit ×1.20, n=5 000)");
    expect(buildView([one([good, ratio(1.15, 1.05, 1.25)])]).candidates[0]!.verdict.status).toBe('inconclusive');
    expect(buildView([one([good, ratio(1.1, 1.05, 1.15)])]).candidates[0]!.verdict.status).toBe('ok');
  });

  it('allows candidate errors up to the baseline error rate plus the allowance', () => {
    const errors = metric({ report: 'latency', metric: 'error_rate', value: 0.03, lower: 0.025, upper: 0.035, n: 5_000 });
    const baseline = metric({ report: 'latency', metric: 'baseline_error_rate', value: 0.001, lower: 0.0005, upper: 0.002, n: 5_000 });
    const v = buildView([one([good, errors, baseline])]).candidates[0]!;
    expect(v.verdict.status).toBe('worse');
    expect(v.verdict.findings[0]!.text).toBe('error rate 3.00 % [2.50, 3.50] n=5 000 (allowed 0.60 %)');
  });

  it('calls a significant but small label shift ok, a large one worse', () => {
    const shift = (value: number, lower: number, upper: number) =>
      metric({ report: 'agreement', metric: 'label_flip_mcnemar', value, lower, upper, n: 100_000, p_value: 1e-6, p_adjusted: 1e-5, details: { label: 'decline', b: 10, c: 300 } });
    expect(buildView([one([good, shift(0.002, 0.001, 0.003)])]).candidates[0]!.verdict.status).toBe('ok');
    expect(buildView([one([good, shift(0.02, 0.015, 0.025)])]).candidates[0]!.verdict.status).toBe('worse');
    expect(buildView([one([good, shift(0.006, 0.002, 0.01)])]).candidates[0]!.verdict.status).toBe('inconclusive');
  });

  it('is never ok without evidence', () => {
    expect(buildView([one([])]).candidates[0]!.verdict.status).toBe('inconclusive');
  });

  it('reads the earlier metric spellings too', () => {
    const v = buildView([
      one([
        metric({ report: 'agreement', metric: 'agreement', value: 0.9, lower: 0.89, upper: 0.91, n: 5_000 }),
        metric({ report: 'latency', metric: 'latency_ratio_p99', value: 2, n: 5_000 }),
        metric({ report: 'latency', metric: 'candidate_error_rate', value: 0, lower: 0, upper: 0.001, n: 5_000 }),
        metric({ report: 'agreement', metric: 'label_shift', value: 0.05, lower: 0.04, upper: 0.06, n: 5_000, p_value: 1e-9, details: { label: 'x' } }),
      ]),
    ]).candidates[0]!;
    expect([v.agreement?.value, v.latency[2]?.ratio?.value, v.errorRate?.value, v.labelShifts[0]?.value]).toEqual([0.9, 2, 0, 0.05]);
  });

  it('keeps the A/A run as the reference', () => {
    const v = buildView([one([agreement(0.999, 0.998, 1)], 'noise')]).candidates[0]!;
    expect(v.verdict.status).toBe('reference');
  });
});

describe('shiftText', () => {
  it('reads a negative shift as traffic out of the label, with the interval turned around', () => {
    const m = metric({ report: 'agreement', metric: 'label_shift', value: -0.0342, lower: -0.0374, upper: -0.0309, n: 19_950, p_value: 1e-9, details: { label: 'approve' } });
    expect(shiftText(m)).toBe('3.42 % of traffic out of "approve" [3.09, 3.74] (McNemar p<0.001, n=19 950)');
  });
});

describe('worstFirst', () => {
  const seg = (value: string, lower: number | null, shift: number | null): SegmentView => ({
    key: 'k',
    value,
    agreement: lower === null ? undefined : metric({ report: 'agreement', metric: 'agreement', lower, value: lower }),
    shift: shift === null ? undefined : metric({ report: 'agreement', metric: 'label_shift', value: shift }),
  });

  it('puts the lowest lower bound first, then the largest label shift, segments without agreement last', () => {
    const sorted = [seg('a', 0.99, 0.01), seg('b', null, 0.5), seg('c', 0.9, 0.01), seg('d', 0.9, -0.2)].sort(worstFirst);
    expect(sorted.map((s) => s.value)).toEqual(['d', 'c', 'a', 'b']);
  });
});

describe('unitOf', () => {
  it('prints shares as %, latencies in ms, ratios as ×', () => {
    const units = ['agreement_rate', 'error_rate', 'error_rate_diff', 'canary_error_rate', 'within_tolerance', 'latency_p99_candidate', 'latency_p50_stable', 'latency_p95_diff', 'latency_p99_ratio', 'psi', 'mae', 'latency_mann_whitney'].map(
      (m) => [m, unitOf(m)],
    );
    expect(Object.fromEntries(units)).toEqual({
      agreement_rate: 'pct',
      error_rate: 'pct',
      error_rate_diff: 'pct',
      canary_error_rate: 'pct',
      within_tolerance: 'pct',
      latency_p99_candidate: 'ms',
      latency_p50_stable: 'ms',
      latency_p95_diff: 'ms',
      latency_p99_ratio: 'ratio',
      psi: 'num',
      mae: 'num',
      latency_mann_whitney: 'num',
    });
  });
});
