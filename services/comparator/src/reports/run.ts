import { randomUUID } from 'node:crypto';
import { LIVE_SPLITS, UmbraError } from '@umbra/core';
import { loadSql, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { experimentExists } from './experiments.ts';
import { adjustFamilies } from './multiplicity.ts';
import { checkName, checkSegmentKeys, checkWindow, resolveThresholds, sampleModFor, timeParam, type Window } from './params.ts';
import { noRollups, REQUEST_ROLLUPS, rollupParams, rollupPlan, type RollupPlan } from './rollup.ts';
import { toMetricRow, type RawMetricRow } from './rows.ts';
import type { MetricRow, Multiplicity, Report, ReportKind, ReportThresholds } from './types.ts';

export type PairReportKind = Exclude<ReportKind, 'canary'>;

export interface RunReportOptions {
  experiment: string;
  /** One candidate (its name, e.g. 'baseline-aa' for the A/A noise); default every candidate of the experiment. */
  candidate?: string;
  /** Epoch ms, half-open [from, to). */
  from: number;
  to: number;
  /** Attribute keys to slice by; each value of each key is a segment. Default none (overall only). */
  segmentKeys?: readonly string[];
  /** The drift reference window; default the window of the same length just before `from`. */
  referenceWindow?: Window;
  /** A numeric event attribute to watch for drift (window vs reference), e.g. 'input_len'. */
  driftAttribute?: string;
  thresholds?: Partial<ReportThresholds>;
  /** Default all three. */
  reports?: readonly PairReportKind[];
  /** Default 'holm'. */
  multiplicity?: Multiplicity;
  /**
   * Read the roll-ups (see rollup.ts) for the whole hours of the window (and of the reference
   * window) that have one. Default true. Counts, sums and moments are the same either way;
   * quantiles then come from log-bucket histograms of every pair (0.5 % relative accuracy)
   * instead of exact quantiles of a hash sample, and drift samples are each window's
   * maxDriftSample pairs with the smallest event-id hash instead of a hash-modulus sample (raw
   * pairs when a driftAttribute is asked for). false reads raw pairs only.
   */
  useRollups?: boolean;
  runId?: string;
  now?: () => number;
}

interface CandidateRow {
  candidate: string;
  role: string;
  pairs_in_window: number | string;
  pairs_in_reference: number | string;
}

const PAIR_REPORTS: readonly PairReportKind[] = ['agreement', 'latency', 'drift'];

/** rollupParams of the reference window's plan, named ref_* as the statements take them. */
const refRollupParams = (plan: RollupPlan) => Object.fromEntries(Object.entries(rollupParams(plan)).map(([k, v]) => [`ref_${k}`, v]));

/**
 * Runs the pair reports (agreement, latency, drift) for an experiment's candidates over
 * [from, to): one Report per candidate, the A/A noise candidate ('baseline-aa', role noise)
 * included. p_adjusted is filled within each (report, metric) family.
 *
 * Throws UmbraError NOT_FOUND for an experiment (or candidate) with no pairs at all, and
 * BAD_ARGUMENT for a window that ends before it starts. An empty window is not an error: its
 * reports have the overall rows with n = 0 and null values.
 */
export async function runReport(ch: ClickHouse, opts: RunReportOptions): Promise<Report[]> {
  checkName('experiment', opts.experiment);
  if (opts.candidate !== undefined) checkName('candidate', opts.candidate);
  const window = { from: opts.from, to: opts.to };
  checkWindow('report window', window);
  const reference = opts.referenceWindow ?? { from: Math.max(0, opts.from - (opts.to - opts.from)), to: opts.from };
  checkWindow('reference window', reference);
  const segmentKeys = checkSegmentKeys(opts.segmentKeys ?? []);
  const thresholds = resolveThresholds(opts.thresholds);
  const kinds = opts.reports ?? PAIR_REPORTS;
  for (const k of kinds) {
    if (!PAIR_REPORTS.includes(k)) throw new UmbraError('BAD_ARGUMENT', `unknown pair report ${JSON.stringify(k)}; canary has runCanaryReport`);
  }
  const multiplicity = opts.multiplicity ?? 'holm';
  if (multiplicity !== 'holm' && multiplicity !== 'bh') throw new UmbraError('BAD_ARGUMENT', `multiplicity must be 'holm' or 'bh', got ${JSON.stringify(multiplicity)}`);
  if (opts.driftAttribute !== undefined) checkName('driftAttribute', opts.driftAttribute);

  if (!(await experimentExists(ch, opts.experiment))) {
    throw new UmbraError('NOT_FOUND', `experiment ${JSON.stringify(opts.experiment)} has no pairs`, { context: { experiment: opts.experiment } });
  }
  // The same rolled spans for every candidate: the ledger is per experiment.
  const [plan, refPlan] =
    opts.useRollups === false
      ? [noRollups(window), noRollups(reference)]
      : await Promise.all([rollupPlan(ch, opts.experiment, window, segmentKeys), rollupPlan(ch, opts.experiment, reference, segmentKeys)]);
  const rollParams = rollupParams(plan);
  const refRollParams = refRollupParams(refPlan);
  const listCandidates = (allTime: boolean) =>
    queryRows<CandidateRow>(ch, loadSql('reports/candidates.sql'), {
      experiment: opts.experiment,
      from: timeParam(window.from),
      to: timeParam(window.to),
      ref_from: timeParam(reference.from),
      ref_to: timeParam(reference.to),
      ...rollParams,
      ...refRollParams,
      all_time: allTime ? 1 : 0,
    });
  // The candidates with pairs in the windows; every one the experiment ever had (a full read of
  // its pairs' candidate column) only when those do not name the candidate(s) to report.
  const inWindows = await listCandidates(false);
  let candidates: CandidateRow[];
  if (opts.candidate !== undefined) {
    candidates = inWindows.filter((c) => c.candidate === opts.candidate);
    if (candidates.length === 0) {
      const known = await listCandidates(true);
      candidates = known.filter((c) => c.candidate === opts.candidate);
      if (candidates.length === 0) {
        throw new UmbraError('NOT_FOUND', `experiment ${JSON.stringify(opts.experiment)} has no candidate ${JSON.stringify(opts.candidate)}`, {
          context: { experiment: opts.experiment, candidate: opts.candidate, candidates: known.map((c) => c.candidate) },
        });
      }
    }
  } else {
    // Candidates seen in the window; on an empty window every known one, so the caller still
    // gets reports that say n = 0.
    const active = inWindows.filter((c) => Number(c.pairs_in_window) > 0);
    candidates = active.length > 0 ? active : await listCandidates(true);
  }

  // Drift with roll-ups draws bottom-k hash samples from stored states, which hold no event
  // attributes: a drift attribute needs the raw pairs.
  const driftRollups = opts.driftAttribute === undefined && (plan.to > plan.from || refPlan.to > refPlan.from);
  const driftRollParams = driftRollups
    ? { ...rollParams, ...refRollParams, hist: 1 }
    : { ...rollupParams(noRollups(window)), ...refRollupParams(noRollups(reference)) };

  const runId = opts.runId ?? randomUUID();
  const createdAt = (opts.now ?? Date.now)();
  const names = candidates.map((c) => c.candidate);
  const rowsOf = new Map<string, MetricRow[]>(names.map((n) => [n, []]));
  const common = { experiment: opts.experiment, from: timeParam(window.from), to: timeParam(window.to), segment_keys: segmentKeys };
  // One statement per report for every candidate (planning one of these statements costs more
  // than running it on roll-ups), all started together: the engine runs them side by side, one
  // core each (`ClickHouse.lease`), drift first as the longest. Rows are taken in report order.
  const paramsOf = (kind: PairReportKind): Record<string, unknown> =>
    kind === 'drift'
      ? {
          ...driftRollParams,
          drift_k: Math.floor(thresholds.maxDriftSample),
          ref_from: timeParam(reference.from),
          ref_to: timeParam(reference.to),
          drift_attribute: opts.driftAttribute ?? '',
          ks_exact_max_product: Math.floor(thresholds.ksExactMaxProduct),
          sample_mods: candidates.map((c) => sampleModFor(Number(c.pairs_in_window) + Number(c.pairs_in_reference), thresholds.maxDriftSample)),
        }
      : {
          ...rollParams,
          sample_mods: candidates.map((c) => sampleModFor(Number(c.pairs_in_window), thresholds.maxQuantileSample)),
          ...(kind === 'agreement' ? { rel_threshold: thresholds.relThreshold, abs_threshold: thresholds.absThreshold } : {}),
        };
  const started = new Map<PairReportKind, Promise<RawMetricRow[]>>();
  for (const kind of [...kinds].sort((a, b) => Number(b === 'drift') - Number(a === 'drift'))) {
    started.set(kind, queryRows<RawMetricRow>(ch, loadSql(`reports/${kind}.sql`), { ...common, candidates: names, ...paramsOf(kind) }));
  }
  const results = await Promise.all(kinds.map((kind) => started.get(kind)!));
  kinds.forEach((kind, i) => {
    for (const r of results[i]!) {
      const rows = r.candidate === undefined ? undefined : rowsOf.get(r.candidate);
      if (!rows) throw new UmbraError('STORE_QUERY_FAILED', `${kind}.sql returned a row for ${JSON.stringify(r.candidate)}, not one of ${JSON.stringify(names)}`);
      const row = toMetricRow(r);
      if (kind === 'drift') row.details = { ...row.details, reference_window: reference };
      rows.push(row);
    }
  });
  const reports: Report[] = candidates.map((c) => ({
    runId,
    experiment: opts.experiment,
    candidate: c.candidate,
    role: c.role === 'noise' ? 'noise' : 'candidate',
    window,
    createdAt,
    metrics: adjustFamilies(rowsOf.get(c.candidate) ?? [], multiplicity),
  }));
  return reports;
}

export interface RunCanaryReportOptions {
  /** The experiment the report is filed under. */
  experiment: string;
  /** The candidate the canary arm serves; default the model name. */
  candidate?: string;
  /** request_events.model_name. */
  model: string;
  /** Default 'stable'. */
  stableArm?: string;
  /** Default 'canary'. */
  canaryArm?: string;
  from: number;
  to: number;
  segmentKeys?: readonly string[];
  thresholds?: Partial<ReportThresholds>;
  multiplicity?: Multiplicity;
  /**
   * Read the request roll-ups (rollUpRequests) for the whole hours of the window that have one.
   * Default true. Counts, error rates and the z-test are the same either way; Mann-Whitney and
   * the quantiles then come from log-bucket histograms (relative accuracy 1e-3) of every ok
   * request instead of a hash sample. false reads raw events only.
   */
  useRollups?: boolean;
  runId?: string;
  now?: () => number;
}

/**
 * The canary report: unpaired stable vs canary arms of one model in request_events over
 * [from, to). An arm with no requests yields rows with null values, not an error.
 */
export async function runCanaryReport(ch: ClickHouse, opts: RunCanaryReportOptions): Promise<Report> {
  checkName('experiment', opts.experiment);
  checkName('model', opts.model);
  const stableArm = opts.stableArm ?? LIVE_SPLITS.canary.stable;
  const canaryArm = opts.canaryArm ?? LIVE_SPLITS.canary.canary;
  checkName('stableArm', stableArm);
  checkName('canaryArm', canaryArm);
  if (stableArm === canaryArm) throw new UmbraError('BAD_ARGUMENT', `stable and canary arm are both ${JSON.stringify(stableArm)}`);
  const window = { from: opts.from, to: opts.to };
  checkWindow('report window', window);
  const segmentKeys = checkSegmentKeys(opts.segmentKeys ?? []);
  const thresholds = resolveThresholds(opts.thresholds);
  const multiplicity = opts.multiplicity ?? 'holm';

  const base = { model: opts.model, stable_arm: stableArm, canary_arm: canaryArm, from: timeParam(window.from), to: timeParam(window.to) };
  const plan = opts.useRollups === false ? noRollups(window) : await rollupPlan(ch, opts.model, window, segmentKeys, REQUEST_ROLLUPS);
  // The sample only matters for the raw path: with roll-ups every ok request is in the histograms.
  let requests = 0;
  if (plan.to <= plan.from) {
    const counts = await queryRows<{ arm: string; requests: number | string }>(ch, loadSql('reports/canary_count.sql'), base);
    requests = counts.reduce((s, r) => s + Number(r.requests), 0);
  }
  const raw = await queryRows<RawMetricRow>(ch, loadSql('reports/canary.sql'), {
    ...base,
    ...rollupParams(plan),
    segment_keys: segmentKeys,
    sample_mod: sampleModFor(requests, thresholds.maxCanarySample),
  });
  const rows = raw.map((r) => {
    const row = toMetricRow(r);
    row.details = { ...row.details, model: opts.model, stable_arm: stableArm, canary_arm: canaryArm };
    return row;
  });
  return {
    runId: opts.runId ?? randomUUID(),
    experiment: opts.experiment,
    candidate: opts.candidate ?? opts.model,
    role: 'candidate',
    window,
    createdAt: (opts.now ?? Date.now)(),
    metrics: adjustFamilies(rows, multiplicity),
  };
}
