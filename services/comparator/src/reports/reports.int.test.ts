/**
 * The report SQL against the independent oracle (test/fixtures/oracle/make_oracle.py: numpy and
 * scipy on the same datasets), on the real engine (chDB). Tolerances come from the fixture:
 * 1e-9 where both sides compute the same definition; the KS asymptotic p-value, where
 * ClickHouse uses a different approximation than scipy, gets its own documented tolerance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUmbraError } from '@umbra/core';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { holm } from '@umbra/core/domain';
import { experimentExists, listExperiments, runCanaryReport, runReport, storeReport, type MetricRow, type Report } from './index.ts';
import { metricSpec } from './catalogue.ts';
import { loadOracle, oracleT0, readOracle, type Expected } from './oracle-fixture.ts';

const oracle = readOracle();
const TOL = oracle.tolerances.identical_method;
const t0 = oracleT0();
const main = { from: t0 + oracle.windows.main[0], to: t0 + oracle.windows.main[1] };
const reference = { from: t0 + oracle.windows.reference[0], to: t0 + oracle.windows.reference[1] };
const keys = oracle.segment_keys;

let ch: ClickHouse;

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  await loadOracle(ch, oracle, t0);
});

afterAll(async () => {
  await ch?.close();
});

/** |actual − expected| <= tol·max(1, |expected|); null only matches null. */
function close(actual: number | null | undefined, expected: number | null | undefined, tol: number, what: string): void {
  const e = expected ?? null;
  const a = actual ?? null;
  if (e === null || a === null) {
    expect(a, `${what}: expected ${e}, got ${a}`).toBe(e);
    return;
  }
  const err = Math.abs(a - e);
  expect(err <= tol * Math.max(1, Math.abs(e)), `${what}: expected ${e}, got ${a} (|diff| ${err})`).toBe(true);
}

function seg(r: { segment_key: string; segment_value: string }): string {
  return r.segment_key === '' ? 'overall' : `${r.segment_key}=${r.segment_value}`;
}

/** What tells rows of one metric and segment apart. */
function rowKey(metric: string, segment: string, details: Record<string, unknown>): string {
  const extra =
    metric === 'label_flip_mcnemar'
      ? String(details.label)
      : metric === 'confusion'
        ? `${String(details.baseline)}>${String(details.candidate)}`
        : metric === 'field_diff_rate'
          ? String(details.path)
          : '';
  return `${metric}|${segment}|${extra}`;
}

function index(rows: MetricRow[]): Map<string, MetricRow> {
  const out = new Map<string, MetricRow>();
  for (const r of rows) {
    const k = rowKey(r.metric, seg(r), r.details);
    expect(out.has(k), `duplicate row ${k}`).toBe(false);
    out.set(k, r);
  }
  return out;
}

/** Every expected row is there and matches; every row the SQL returned was expected. */
function compareRows(actual: MetricRow[], expected: Expected[]): void {
  const byKey = index(actual);
  const seen = new Set<string>();
  for (const e of expected) {
    const metric = e.metric as string;
    const k = rowKey(metric, seg(e), { label: e.label, baseline: e.baseline, candidate: e.candidate, path: e.path });
    const a = byKey.get(k);
    expect(a, `missing row ${k}`).toBeDefined();
    if (!a) continue;
    seen.add(k);
    expect(a.n, `${k} n`).toBe(e.n);
    close(a.value, e.value, TOL, `${k} value`);
    if ('lower' in e) close(a.lower, e.lower, TOL, `${k} lower`);
    if ('upper' in e) close(a.upper, e.upper, TOL, `${k} upper`);
    if ('p_value' in e) close(a.p_value, e.p_value, TOL, `${k} p`);
    if (metric === 'label_flip_mcnemar') {
      expect(a.details.b).toBe(e.b);
      expect(a.details.c).toBe(e.c);
    }
    if (metric === 'slope') close(a.details.intercept as number | null, (e.intercept as number | undefined) ?? null, TOL, `${k} intercept`);
    if (metric === 'field_diff_rate') {
      expect(a.details.count, `${k} count`).toBe(e.count);
      expect(a.details.noise_count, `${k} noise_count`).toBe(e.noise_count);
      expect(a.details.noise_n, `${k} noise_n`).toBe(e.noise_n);
      expect(a.details.counts, `${k} counts`).toBe(e.counts);
    }
  }
  const unexpected = [...byKey.keys()].filter((k) => !seen.has(k));
  expect(unexpected, 'rows the oracle does not have').toEqual([]);
}

async function pairReport(experiment: string, candidate: string, window = main, segmentKeys = keys): Promise<Report> {
  const [report] = await runReport(ch, {
    experiment,
    candidate,
    from: window.from,
    to: window.to,
    segmentKeys,
    referenceWindow: reference,
    driftAttribute: oracle.drift_attribute,
  });
  expect(report).toBeDefined();
  return report as Report;
}

function of(report: Report, kind: MetricRow['report']): MetricRow[] {
  return report.metrics.filter((m) => m.report === kind);
}

describe('agreement.sql', () => {
  it('matches the oracle for the candidate, overall and per segment', async () => {
    const report = await pairReport('oracle', 'cand-a');
    expect(report.role).toBe('candidate');
    compareRows(of(report, 'agreement'), oracle.expected.agreement ?? []);
  });

  it('matches the oracle for the A/A noise run, which differs from itself only by noise', async () => {
    const report = await pairReport('oracle', 'baseline-aa');
    expect(report.role).toBe('noise');
    compareRows(of(report, 'agreement'), oracle.expected.agreement_noise ?? []);
    for (const m of of(report, 'agreement').filter((r) => r.metric === 'field_diff_rate')) expect(m.details.counts).toBe(false);
  });

  it('counts a field as a real difference only above the A/A noise', async () => {
    const report = await pairReport('oracle', 'cand-a');
    const fields = of(report, 'agreement').filter((m) => m.metric === 'field_diff_rate' && m.segment_key === '');
    const counted = Object.fromEntries(fields.map((m) => [m.details.path, m.details.counts]));
    // Label flips only happen in the candidate; '$.meta.ts' differs as often in the A/A run.
    expect(counted['$.label']).toBe(true);
    expect(counted['$.meta.ts']).toBe(false);
  });

  it('adjusts p-values with Holm within each family and says so', async () => {
    const report = await pairReport('oracle', 'cand-a');
    const family = report.metrics.filter((m) => m.report === 'agreement' && m.metric === 'label_flip_mcnemar' && m.p_value !== null);
    expect(family.length).toBeGreaterThan(3);
    const expected = holm(family.map((m) => m.p_value));
    family.forEach((m, i) => {
      close(m.p_adjusted, expected[i] ?? null, 1e-15, `p_adjusted ${i}`);
      expect(m.details.p_adjust).toBe('holm');
      expect(m.details.p_adjust_family_size).toBe(family.length);
    });
  });
});

describe('latency.sql', () => {
  it('matches the oracle: Wilson error rates and exact quantiles of both sides and the paired difference', async () => {
    const report = await pairReport('oracle', 'cand-a');
    compareRows(of(report, 'latency'), oracle.expected.latency ?? []);
  });

  it('gives exact quantiles when every latency is the same', async () => {
    const report = await pairReport('oracle-const', 'cand-a', main, ['region']);
    compareRows(of(report, 'latency'), oracle.expected.const_latency ?? []);
  });
});

describe('drift.sql', () => {
  const metricsOf = (e: Expected) =>
    e.kind === 'numeric'
      ? [
          ['psi', e.psi, null],
          ['js_distance', e.js, null],
          ['ks', e.ks_d, e.ks_p],
          ['wasserstein_normed', e.w_normed, null],
        ]
      : [
          ['psi', e.psi, null],
          ['js_distance', e.js, null],
        ];

  function compareDrift(rows: MetricRow[], expected: Expected[]): void {
    const byKey = new Map(rows.map((r) => [`${r.metric}|${seg(r)}|${String(r.details.feature)}`, r]));
    let compared = 0;
    for (const e of expected) {
      if (e.n_cur === 0 && e.segment_key !== '') continue; // a segment without data has no rows
      for (const [metric, value, p] of metricsOf(e) as [string, number | null, number | null][]) {
        const k = `${metric}|${seg(e)}|${String(e.feature)}`;
        const a = byKey.get(k);
        expect(a, `missing ${k}`).toBeDefined();
        if (!a) continue;
        compared++;
        expect(a.n, `${k} n`).toBe(e.n_cur);
        expect(a.details.n_ref, `${k} n_ref`).toBe(e.n_ref);
        close(a.value, value, TOL, `${k} value`);
        if (metric === 'ks') {
          if (a.method === 'ks-two-sample-exact') close(a.p_value, p, TOL, `${k} exact p`);
          else close(a.p_value, p, oracle.tolerances.ks_p_asymp_vs_scipy, `${k} asymptotic p`);
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
    expect(rows.length, 'rows the oracle does not have').toBe(compared);
  }

  it('matches the oracle: PSI, Jensen-Shannon, KS and normalised Wasserstein per feature and segment', async () => {
    const report = await pairReport('oracle', 'cand-a');
    compareDrift(of(report, 'drift'), oracle.expected.drift ?? []);
  });

  it('gives the asymptotic KS p-value of the limiting Kolmogorov distribution (scipy kstwobign), near scipy ks_2samp asymp', async () => {
    const [report] = await runReport(ch, {
      experiment: 'oracle',
      candidate: 'cand-a',
      from: main.from,
      to: main.to,
      segmentKeys: keys,
      referenceWindow: reference,
      driftAttribute: oracle.drift_attribute,
      reports: ['drift'],
      thresholds: { ksExactMaxProduct: 0 },
    });
    const rows = (report?.metrics ?? []).filter((m) => m.metric === 'ks' && m.p_value !== null);
    expect(rows.length).toBeGreaterThan(10);
    for (const m of rows) {
      const e = (oracle.expected.drift ?? []).find((x) => seg(x) === seg(m) && x.feature === m.details.feature);
      const what = `ks ${seg(m)} ${String(m.details.feature)}`;
      expect(m.method, what).toBe('ks-two-sample-asymp');
      close(m.value, (e?.ks_d as number | undefined) ?? null, TOL, `${what} D`);
      close(m.p_value, (e?.ks_p_kstwobign as number | undefined) ?? null, TOL, `${what} p vs kstwobign`);
      // The two asymptotic approximations converge with n; three values are too few to compare.
      if (m.n >= 50) {
        expect(Math.abs((m.p_value ?? NaN) - ((e?.ks_p_asymp_scipy as number | undefined) ?? NaN)), `${what} p vs ks_2samp asymp`).toBeLessThanOrEqual(
          oracle.tolerances.ks_p_asymp_vs_scipy,
        );
      }
    }
  });

  it('gets KS right at the 1e-8 scale, where kolmogorovSmirnovTest on raw values sees only ties', async () => {
    const report = await pairReport('oracle-tiny', 'cand-a', main, []);
    const rows = of(report, 'drift').filter((m) => m.details.feature === 'output_value');
    compareDrift(rows, oracle.expected.tiny_output_drift ?? []);
    const ks = rows.find((m) => m.metric === 'ks');
    expect(ks?.value).toBeGreaterThan(0.2);
    // The trap itself, so the test notices if the engine ever changes.
    const [raw] = await queryRows<{ d: number }>(
      ch,
      `SELECT kolmogorovSmirnovTest('two-sided', 'exact')(v, g).1 AS d
       FROM (SELECT baseline_value AS v, 0 AS g FROM shadow_pairs WHERE experiment = 'oracle-tiny'
             UNION ALL SELECT candidate_value, 1 FROM shadow_pairs WHERE experiment = 'oracle-tiny')`,
    );
    expect(raw?.d).toBeLessThan(ks?.value ?? 0);
  });

  it('reports zero drift when every value is the same (reference std floored at 0.001)', async () => {
    const report = await pairReport('oracle-const', 'cand-a', main, []);
    const rows = of(report, 'drift').filter((m) => m.details.feature === 'output_value');
    compareDrift(rows, oracle.expected.const_output_drift ?? []);
    expect(rows.find((m) => m.metric === 'wasserstein_normed')?.value).toBe(0);
    expect(rows.find((m) => m.metric === 'ks')?.p_value).toBe(1);
  });
});

describe('canary.sql', () => {
  async function canary(model: string): Promise<Report> {
    return runCanaryReport(ch, { experiment: 'oracle', model, from: main.from, to: main.to, segmentKeys: ['region'] });
  }

  function compareCanary(rows: MetricRow[], expected: Expected[]): void {
    const byKey = new Map(rows.map((r) => [`${r.metric}|${seg(r)}`, r]));
    for (const e of expected) {
      const k = `${String(e.metric)}|${seg(e)}`;
      const a = byKey.get(k);
      expect(a, `missing ${k}`).toBeDefined();
      if (!a) continue;
      expect(a.n, `${k} n`).toBe(e.n);
      if (e.metric === 'latency_mann_whitney') {
        close(a.value, (e.u_canary as number | undefined) ?? null, TOL, `${k} U`);
        close(a.p_value, e.p_value, TOL, `${k} p`);
        continue;
      }
      close(a.value, e.value, TOL, `${k} value`);
      if ('lower' in e) close(a.lower, e.lower, TOL, `${k} lower`);
      if ('upper' in e) close(a.upper, e.upper, TOL, `${k} upper`);
      if ('p_value' in e) close(a.p_value, e.p_value, TOL, `${k} p`);
      if (e.metric === 'error_rate_diff' && typeof e.z === 'number') close(a.details.z as number, e.z, TOL, `${k} z`);
    }
    expect(rows.length).toBe(expected.length);
  }

  it('matches the oracle: Mann-Whitney U and p, pooled two-proportion z, quantiles per arm', async () => {
    compareCanary((await canary('oracle-model')).metrics, oracle.expected.canary ?? []);
  });

  it('gives null statistics, not an error, when one arm is empty', async () => {
    const report = await canary('oracle-onearm');
    compareCanary(report.metrics, oracle.expected.canary_one_arm ?? []);
    const mw = report.metrics.find((m) => m.metric === 'latency_mann_whitney' && m.segment_key === '');
    expect(mw?.p_value).toBeNull();
  });
});

describe('edge cases and the API', () => {
  it('an empty window gives overall rows with n = 0 and null values', async () => {
    const empty = { from: t0 + oracle.windows.empty[0], to: t0 + oracle.windows.empty[1] };
    const reports = await runReport(ch, { experiment: 'oracle', from: empty.from, to: empty.to, segmentKeys: keys, driftAttribute: 'input_len' });
    expect(reports.map((r) => r.candidate).sort()).toEqual(['baseline-aa', 'cand-a']);
    // a named candidate with no pair in either window is still known (from all its pairs)
    const [named] = await runReport(ch, { experiment: 'oracle', candidate: 'cand-a', from: empty.from, to: empty.to, reports: ['agreement'] });
    expect(named?.metrics.find((m) => m.metric === 'agreement_rate')?.n).toBe(0);
    for (const report of reports) {
      expect(report.metrics.length).toBeGreaterThan(10);
      for (const m of report.metrics) {
        expect(m.segment_key).toBe('');
        expect(m.n).toBe(0);
        expect(m.value).toBeNull();
        expect(m.p_value).toBeNull();
      }
      for (const metric of ['agreement_rate', 'error_rate', 'latency_p99_candidate', 'psi', 'ks']) {
        expect(report.metrics.some((m) => m.metric === metric)).toBe(true);
      }
    }
    const canary = await runCanaryReport(ch, { experiment: 'oracle', model: 'oracle-model', from: empty.from, to: empty.to });
    for (const m of canary.metrics) {
      expect(m.n).toBe(0);
      expect(m.value).toBeNull();
    }
  });

  it('emits only catalogued metrics, with their stated methods', async () => {
    const reports = [
      ...(await runReport(ch, { experiment: 'oracle', from: main.from, to: main.to, segmentKeys: keys, driftAttribute: 'input_len' })),
      await runCanaryReport(ch, { experiment: 'oracle', model: 'oracle-model', from: main.from, to: main.to, segmentKeys: ['region'] }),
    ];
    const seen = new Set<string>();
    for (const m of reports.flatMap((r) => r.metrics)) {
      const spec = metricSpec(m.report, m.metric);
      expect(spec, `${m.report}/${m.metric} is not in METRIC_CATALOGUE`).toBeDefined();
      expect(spec?.methods, `${m.report}/${m.metric} method`).toContain(m.method);
      seen.add(`${m.report}/${m.metric}`);
    }
    expect(seen.size).toBeGreaterThan(40);
  });

  it('a segment of three events still gets its rows', async () => {
    const report = await pairReport('oracle', 'cand-a');
    const tiny = report.metrics.filter((m) => m.segment_key === 'region' && m.segment_value === 'tiny');
    expect(tiny.find((m) => m.metric === 'agreement_rate')?.n).toBeLessThanOrEqual(3);
    expect(tiny.find((m) => m.metric === 'error_rate')?.n).toBe(3);
  });

  it('reports every candidate of the experiment by default, the A/A run as noise', async () => {
    const reports = await runReport(ch, { experiment: 'oracle', from: main.from, to: main.to });
    expect(reports.map((r) => [r.candidate, r.role])).toEqual([
      ['cand-a', 'candidate'],
      ['baseline-aa', 'noise'],
    ]);
    for (const r of reports) {
      expect(r.window).toEqual(main);
      expect(new Set(r.metrics.map((m) => m.segment_key))).toEqual(new Set(['']));
    }
  });

  it('gives each candidate the same rows in the all-candidates statements as alone, sample and A/A noise included', async () => {
    const opts = {
      experiment: 'oracle',
      from: main.from,
      to: main.to,
      segmentKeys: keys,
      referenceWindow: reference,
      // small enough that each candidate draws its own hash sample (its own sample_mod)
      thresholds: { maxQuantileSample: 100, maxDriftSample: 100 },
      runId: 'r',
      now: () => 0,
    };
    const together = await runReport(ch, opts);
    expect(together.map((r) => r.candidate)).toEqual(['cand-a', 'baseline-aa']);
    const mods = new Set<unknown>();
    for (const r of together) {
      const [alone] = await runReport(ch, { ...opts, candidate: r.candidate });
      expect(r.metrics.length).toBeGreaterThan(100);
      expect(r).toEqual(alone);
      mods.add(r.metrics.find((m) => m.metric === 'latency_p99_candidate' && m.segment_key === '')?.details.sample_mod);
    }
    expect([...mods].every((m) => typeof m === 'number' && m > 1)).toBe(true);
  });

  it('samples deterministically for in-memory statistics and says so in n and details', async () => {
    const [report] = await runReport(ch, {
      experiment: 'oracle',
      candidate: 'cand-a',
      from: main.from,
      to: main.to,
      referenceWindow: reference,
      thresholds: { maxQuantileSample: 100, maxDriftSample: 100 },
    });
    const p99 = report?.metrics.find((m) => m.metric === 'latency_p99_candidate');
    expect(p99?.details.sample_mod).toBeGreaterThan(1);
    const mod = p99?.details.sample_mod as number;
    const [expected] = await queryRows<{ n: number }>(
      ch,
      `SELECT count() AS n FROM shadow_pairs FINAL
       WHERE experiment = 'oracle' AND candidate = 'cand-a' AND baseline_status = 'ok' AND candidate_status = 'ok'
         AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)} AND cityHash64(event_id) % {mod:UInt64} = 0`,
      { from: (main.from / 1000).toFixed(3), to: (main.to / 1000).toFixed(3), mod },
    );
    expect(p99?.n).toBe(Number(expected?.n));
    expect(p99?.details.n_total).toBeGreaterThan(p99?.n ?? 0);
    const psi = report?.metrics.find((m) => m.metric === 'psi' && m.details.feature === 'baseline_value');
    expect(psi?.details.sample_mod).toBeGreaterThan(1);
  });

  it('refuses an unknown experiment or candidate with NOT_FOUND and a reversed window with BAD_ARGUMENT', async () => {
    await expect(runReport(ch, { experiment: 'nope', from: main.from, to: main.to })).rejects.toSatisfy((e) => isUmbraError(e, 'NOT_FOUND'));
    await expect(runReport(ch, { experiment: 'oracle', candidate: 'nope', from: main.from, to: main.to })).rejects.toSatisfy((e) =>
      isUmbraError(e, 'NOT_FOUND'),
    );
    await expect(runReport(ch, { experiment: 'oracle', from: main.to, to: main.from })).rejects.toSatisfy((e) => isUmbraError(e, 'BAD_ARGUMENT'));
    await expect(runReport(ch, { experiment: 'oracle', from: main.from, to: main.to, thresholds: { relThreshold: -1 } })).rejects.toSatisfy((e) =>
      isUmbraError(e, 'BAD_ARGUMENT'),
    );
  });

  it('lists experiments and tells whether one exists', async () => {
    const all = await listExperiments(ch);
    expect(all.map((e) => e.experiment)).toEqual(['oracle', 'oracle-const', 'oracle-tiny']);
    expect(all[0]?.candidates).toEqual(['baseline-aa', 'cand-a']);
    expect(await experimentExists(ch, 'oracle')).toBe(true);
    expect(await experimentExists(ch, 'nope')).toBe(false);
  });

  it('stores a report as one comparison_reports row per metric, once even when retried', async () => {
    const report = await pairReport('oracle', 'cand-a');
    await storeReport(ch, report);
    await storeReport(ch, report);
    const rows = await queryRows<{ n: number; metrics: number; with_p: number }>(
      ch,
      `SELECT count() AS n, uniqExact(report, metric, segment_key, segment_value, details) AS metrics, countIf(p_adjusted IS NOT NULL) AS with_p
       FROM comparison_reports WHERE run_id = {run:String}`,
      { run: report.runId },
    );
    expect(Number(rows[0]?.n)).toBe(report.metrics.length);
    expect(Number(rows[0]?.metrics)).toBe(report.metrics.length);
    expect(Number(rows[0]?.with_p)).toBe(report.metrics.filter((m) => m.p_adjusted !== null).length);
  });
});
