import { describe, expect, it } from 'vitest';
import { FIXTURE_NOW, fixtureReports } from './fixtures.ts';
import { renderJson, type JsonReport } from './json.ts';

describe('renderJson', () => {
  const text = renderJson(fixtureReports(), { now: FIXTURE_NOW });
  const doc = JSON.parse(text) as JsonReport;

  it('is one JSON document for the experiment and window', () => {
    expect(text.trim().startsWith('{')).toBe(true);
    expect(doc.experiment).toBe('credit-risk');
    expect(doc.window).toEqual({ from: 1764234000000, to: 1764237600000, fromIso: '2025-11-27T09:00:00.000Z', toIso: '2025-11-27T10:00:00.000Z' });
    expect(doc.generatedAt).toBe('2025-11-27T10:00:05.000Z');
    expect(doc.candidates.map((c) => [c.candidate, c.role, c.verdict.status])).toEqual([
      ['credit-risk-v2-close', 'candidate', 'ok'],
      ['credit-risk-v2-regressed', 'candidate', 'worse'],
      ['credit-risk-v3-sampled', 'candidate', 'inconclusive'],
      ['baseline', 'noise', 'reference'],
    ]);
  });

  it('gives every metric value, n, interval or p, method and segment', () => {
    const reports = fixtureReports();
    for (const c of doc.candidates) {
      const source = reports.find((r) => r.candidate === c.candidate)!;
      expect(c.metrics).toHaveLength(source.metrics.length);
      for (const m of c.metrics) {
        expect(Object.keys(m).sort()).toEqual(['details', 'interval', 'method', 'metric', 'n', 'p', 'report', 'segment', 'value']);
        expect(typeof m.n).toBe('number');
        expect(m.method).not.toBe('');
      }
    }
    const apac = doc.candidates[1]!.metrics.find((m) => m.metric === 'agreement_rate' && m.segment?.value === 'apac')!;
    expect(apac.segment).toEqual({ key: 'region', value: 'apac' });
    expect(apac.interval).toEqual({ lower: expect.closeTo(0.8565, 4), upper: expect.closeTo(0.8737, 4), level: 0.95 });
    expect(apac.p).toBeNull();
    const ks = doc.candidates[1]!.metrics.find((m) => m.metric === 'ks')!;
    expect(ks.segment).toBeNull();
    expect(ks.interval).toBeNull();
    expect(ks.p).toEqual({ raw: 1e-6, adjusted: null });
    const shift = doc.candidates[1]!.metrics.find((m) => m.metric === 'label_flip_mcnemar' && m.segment === null)!;
    expect(shift.interval?.level).toBe(0.95);
    expect(shift.p).toEqual({ raw: 5e-10, adjusted: 1e-9 });
    expect(shift.details).toMatchObject({ label: 'reject', b: 218, c: 900 });
  });

  it('writes non-finite numbers as null, never as invalid JSON', () => {
    const [r] = fixtureReports();
    r!.metrics[0] = { ...r!.metrics[0]!, value: Number.NaN, lower: Number.POSITIVE_INFINITY };
    const parsed = JSON.parse(renderJson([r!])) as JsonReport;
    expect(parsed.candidates[0]!.metrics[0]!.value).toBeNull();
    expect(parsed.candidates[0]!.metrics[0]!.interval).toBeNull();
  });

  it('names the experiment even when there are no reports', () => {
    const parsed = JSON.parse(renderJson([], { experiment: 'quiet', now: 0 })) as JsonReport;
    expect(parsed).toMatchObject({ experiment: 'quiet', candidates: [] });
  });
});
