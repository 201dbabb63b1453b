import { describe, expect, it } from 'vitest';
import { evaluateGates } from './gates.ts';
import { parseRolloutSpec, rolloutPlan, type Stage } from './spec.ts';
import { canaryRaw, evidence, type EvidenceShape } from './testing.ts';
import type { EvidenceSet, GateResult } from './types.ts';

const spec = parseRolloutSpec(canaryRaw);
const plan = rolloutPlan(spec);
const shadow = plan[0] as Stage;
const canary5 = plan[1] as Stage;
// Weight 100 as blue-green's switched and watch stages have it (a canary plan ends below 100).
const canary100: Stage = { ...canary5, weight: 100 };
const window = { from: 0, to: 600_000 };
const live = { n: 5000, errorRate: 0.001, stableN: 95_000, stableErrorRate: 0.001 };

function set(overall: EvidenceShape, regions: Record<string, EvidenceShape> = {}): EvidenceSet {
  return {
    overall: evidence(overall, window),
    segments: Object.entries(regions).map(([value, shape]) =>
      evidence(shape, window, { key: 'region', value }),
    ),
  };
}

function find(results: GateResult[], gate: string, region?: string): GateResult {
  const r = results.find(
    (x) =>
      x.gate === gate && (region === undefined ? x.segment === null : x.segment?.value === region),
  );
  if (!r) throw new Error(`no result for ${gate} ${region ?? ''}`);
  return r;
}

describe('evaluateGates', () => {
  it('a good candidate with enough evidence passes every gate, with reasons and methods', () => {
    const results = evaluateGates(
      spec,
      set({ n: 20_000, canary: live }, { us: { n: 12_000 }, eu: { n: 8000 } }),
      canary5,
    );
    expect(results.map((r) => [r.gate, r.segment?.value ?? null, r.outcome])).toEqual([
      ['agreement', null, 'pass'],
      ['agreement', 'us', 'pass'],
      ['agreement', 'eu', 'pass'],
      ['errors', null, 'pass'],
      ['p99', null, 'pass'],
      ['drift', null, 'pass'],
      ['canary-errors', null, 'pass'],
      ['canary-p99', null, 'pass'],
    ]);
    const agreement = find(results, 'agreement');
    expect(agreement.lower).toBeGreaterThanOrEqual(0.98);
    expect(agreement.upper).toBeGreaterThan(agreement.value ?? 1);
    expect(agreement.reason).toMatch(
      /^pass: agreement lower bound 0\.99\d\d ≥ 0\.98 at n=19 980 \(estimate 0\.9950, 95 % always-valid\)$/,
    );
    expect(agreement.method).toBe(
      'confidence-sequence (beta-binomial mixture; Robbins 1970, Howard et al. 2021), alpha 0.05',
    );
    expect(agreement.query).toBe('pairs.agreed / pairs.compared');
    expect(agreement.window).toEqual(window);
    expect(find(results, 'drift').method).toBe(
      'point estimate with minimum evidence (not always-valid)',
    );
  });

  it('inconclusive below minimum evidence, saying how much is missing', () => {
    const r = find(evaluateGates(spec, set({ n: 604 }), shadow), 'errors');
    expect(r.outcome).toBe('inconclusive');
    expect(r.needed).toBe(396);
    expect(r.reason).toBe('inconclusive: 604 of 1 000 replay calls, needs 396 more replay calls');
  });

  it('inconclusive when the bound straddles the threshold', () => {
    // 0.985 at n = 1 204: the lower bound is below 0.98, the upper above.
    const r = find(
      evaluateGates(spec, set({ n: 1204, agreement: 0.985, errorRate: 0 }), shadow),
      'agreement',
    );
    expect(r.outcome).toBe('inconclusive');
    expect(r.reason).toMatch(
      /^inconclusive: agreement lower bound 0\.9\d+ < 0\.98 at n=1 204 \(estimate 0\.9850\), needs more evidence$/,
    );
  });

  it('fails when the whole sequence is on the wrong side; decisive when the evidence is overwhelming', () => {
    const near = find(
      evaluateGates(spec, set({ n: 12_000, agreement: 0.975 }), shadow),
      'agreement',
    );
    expect(near.outcome).toBe('fail');
    expect(near.upper).toBeLessThan(0.98);
    expect(near.decisive).toBe(false);
    expect(near.pValue).toBeGreaterThan(0.05 / 20);
    expect(near.reason).toMatch(
      /^fail: agreement upper bound 0\.97\d\d < 0\.98 at n=11 988 \(estimate 0\.9750\): worse than the gate with 95 % always-valid confidence$/,
    );
    const far = find(evaluateGates(spec, set({ n: 20_000, agreement: 0.95 }), shadow), 'agreement');
    expect(far.outcome).toBe('fail');
    expect(far.decisive).toBe(true);
    expect(far.pValue).toBeLessThanOrEqual(0.05 / 20);
    expect(far.reason).toContain('decisive');
  });

  it('per-segment gates: Bonferroni over the segments, raw and adjusted side by side', () => {
    const results = evaluateGates(
      spec,
      set(
        { n: 20_000 },
        { us: { n: 9000 }, eu: { n: 7000 }, apac: { n: 2000, agreement: 0.9 }, latam: { n: 150 } },
      ),
      shadow,
    );
    const apac = find(results, 'agreement', 'apac');
    expect(apac.outcome).toBe('fail');
    expect(apac.alpha).toBe(0.0125);
    expect(apac.method).toContain('Bonferroni over 4 segments (alpha 0.0125 each)');
    expect(apac.reason).toMatch(
      /^region=apac: fail: agreement upper bound .* 98\.75 % always-valid confidence, Bonferroni over 4 segments; decisive/,
    );
    const m = apac.multiplicity;
    expect(m?.method).toBe('bonferroni');
    expect(m?.m).toBe(4);
    // The adjusted sequence (α/4) is wider than the raw one (α).
    expect(apac.upper).toBeGreaterThan(m?.rawUpper ?? 1);
    expect(apac.lower).toBeLessThan(m?.rawLower ?? 0);
    expect(m?.adjustedPValue).toBeCloseTo(Math.min(1, 4 * (m?.rawPValue ?? 1)), 15);
    expect(apac.pValue).toBe(m?.adjustedPValue);
    const latam = find(results, 'agreement', 'latam');
    expect(latam.outcome).toBe('inconclusive');
    expect(latam.reason).toBe(
      'region=latam: inconclusive: 150 of 200 compared pairs, needs 50 more compared pairs',
    );
    expect(find(results, 'agreement', 'us').outcome).toBe('pass');
    // The overall agreement is still fine: only the segment shows the regression.
    expect(find(results, 'agreement').outcome).toBe('pass');
  });

  it('a per-segment key without segments in the evidence keeps the gate from passing', () => {
    const results = evaluateGates(spec, set({ n: 20_000 }), shadow);
    const r = find(results, 'agreement', '*');
    expect(r.outcome).toBe('inconclusive');
    expect(r.reason).toBe('region=*: inconclusive: no region segments in the evidence');
  });

  it('latency ratio gates test the exceedance share and report it in `tested`', () => {
    const good = find(evaluateGates(spec, set({ n: 20_000, exceed: 0.004 }), shadow), 'p99');
    expect(good.outcome).toBe('pass');
    expect(good.value).toBeCloseTo(163 / 160, 12);
    expect(good.lower).toBeNull();
    expect(good.tested?.limit).toBe(0.01);
    expect(good.tested?.upper).toBeLessThanOrEqual(0.01);
    expect(good.tested?.statistic).toBe('share of candidate latencies above 1.1 × baseline p99');
    expect(good.reason).toMatch(
      /^pass: 0\.4 % of candidate latencies above 1\.1 × baseline p99 \(upper bound 0\.\d+ % ≤ 1 %\) at n=19 980, so p99 latency ratio ≤ 1\.1/,
    );
    const slow = find(evaluateGates(spec, set({ n: 20_000, exceed: 0.016 }), shadow), 'p99');
    expect(slow.outcome).toBe('fail');
    expect(slow.reason).toMatch(
      /^fail: 1\.6 % of candidate latencies above 1\.1 × baseline p99 \(lower bound 1\.\d+ % > 1 %\)/,
    );
  });

  it('latency ratio gates fall back to a point estimate without exceedance counts, and say so', () => {
    const s = set({ n: 20_000 });
    delete s.overall.latency.exceedance;
    const r = find(evaluateGates(spec, s, shadow), 'p99');
    expect(r.outcome).toBe('pass');
    expect(r.method).toContain('point estimate');
    expect(r.method).toContain('no exceedance counts at ratio 1.1');
  });

  it('point-estimate drift gates: pass, fail, missing', () => {
    expect(find(evaluateGates(spec, set({ n: 20_000, psi: 0.15 }), shadow), 'drift').outcome).toBe(
      'fail',
    );
    const missing = find(evaluateGates(spec, set({ n: 20_000, psi: null }), shadow), 'drift');
    expect(missing.outcome).toBe('inconclusive');
    expect(missing.reason).toBe('inconclusive: no PSI in the evidence');
  });

  it('canary gates apply only while the traffic is split', () => {
    const gates = (stage: Stage) =>
      evaluateGates(spec, set({ n: 20_000, canary: live }), stage).map((r) => r.gate);
    expect(gates(shadow)).not.toContain('canary-errors');
    expect(gates(canary100)).not.toContain('canary-errors');
    expect(gates(canary5)).toContain('canary-errors');
  });

  it('canary error difference: a confident rise fails, a thin arm waits', () => {
    const worse = find(
      evaluateGates(spec, set({ n: 20_000, canary: { ...live, errorRate: 0.02 } }), canary5),
      'canary-errors',
    );
    expect(worse.outcome).toBe('fail');
    expect(worse.lower).toBeGreaterThan(0.005);
    const thin = find(
      evaluateGates(spec, set({ n: 20_000, canary: { ...live, n: 300 } }), canary5),
      'canary-errors',
    );
    expect(thin.outcome).toBe('inconclusive');
    expect(thin.reason).toBe(
      'inconclusive: 300 of 500 requests on the canary arm, needs 200 more requests on the canary arm',
    );
    const none = find(evaluateGates(spec, set({ n: 20_000 }), canary5), 'canary-errors');
    expect(none.reason).toBe('inconclusive: no canary arms in the evidence');
  });

  it('is deterministic', () => {
    const s = set(
      { n: 5000, agreement: 0.985 },
      { us: { n: 3000 }, apac: { n: 500, agreement: 0.97 } },
    );
    expect(evaluateGates(spec, s, canary5)).toEqual(evaluateGates(spec, s, canary5));
  });
});
