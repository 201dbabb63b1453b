/**
 * Evidence from ClickHouse: the paired shadow evidence (sql/promoter/evidence.sql) and, while the
 * candidate takes part of the live traffic, the unpaired arms (sql/promoter/canary.sql), mapped to
 * the domain's Evidence records. Counts are cumulative since the current step started.
 */
import { LIVE_SPLITS, UmbraError, type LiveSplit } from '@umbra/core';
import { loadSql, queryRows, toDateTime64, type ClickHouse } from '@umbra/core/clickhouse';
import { evidenceNeeds, type RolloutSpec } from './domain/spec.ts';
import type {
  Evidence,
  EvidenceSet,
  LatencyExceedance,
  RolloutState,
  Segment,
} from './domain/types.ts';

/** Which request_events arms are compared while a candidate takes part of the live traffic. */
export type ArmNames = LiveSplit;

export interface EvidenceOptions {
  /** Default stable/canary for canary rollouts, blue/green for blue-green previews. */
  arms?: { canary?: ArmNames; blueGreen?: ArmNames };
}

export const DEFAULT_ARMS = LIVE_SPLITS;

/** The quantiles the SQL files carry reference latencies for. */
const EXCEEDANCE_QUANTILES = [0.5, 0.95, 0.99];

// JSONEachRow shapes of the two queries. Counts are numbers (chDB; the server client is set to
// the same), read through Number() all the same.
interface PairsRow {
  segment_key: string;
  segment_value: string;
  n: number;
  compared: number;
  agreed: number;
  candidate_errors: number;
  candidate_timeouts: number;
  baseline_latency: Array<number | null>;
  candidate_latency: Array<number | null>;
  slower: number;
  latency_untied: number;
  exceedance: Array<[number, number, number, number]>;
  drift_n: number;
  psi: number | null;
  js_distance: number | null;
  ks_p: number | null;
}

interface ArmRow {
  segment_key: string;
  segment_value: string;
  stable_n: number;
  stable_errors: number;
  stable_p99: number | null;
  canary_n: number;
  canary_errors: number;
  canary_p99: number | null;
  exceedance: Array<[number, number, number, number]>;
}

/**
 * The model whose live arms a canary compares: the baseline's name without a version suffix
 * ('fraud@v1' and 'fraud:v1' read request_events rows of model 'fraud').
 */
export function servedModelName(baseline: string): string {
  return baseline.split(/[@:]/, 1)[0] ?? baseline;
}

/** True while part, not all, of the live traffic is on the candidate: the arms can be compared. */
export function hasLiveSplit(state: Pick<RolloutState, 'weight'>): boolean {
  return state.weight > 0 && state.weight < 100;
}

/**
 * The evidence for the rollout's current step: the window runs from the step's start to `now`,
 * overall and per value of every segment key a gate slices by.
 */
export async function loadEvidence(
  ch: ClickHouse,
  spec: RolloutSpec,
  state: RolloutState,
  now: number,
  opts: EvidenceOptions = {},
): Promise<EvidenceSet> {
  const window = { from: Math.min(state.stepStartedAt, now), to: now };
  const needs = evidenceNeeds(spec);
  const pairsAsk = needs.exceedance.filter((x) => x.arm === 'pairs');
  const canaryAsk = needs.exceedance.filter((x) => x.arm === 'canary');
  for (const x of needs.exceedance) {
    if (!EXCEEDANCE_QUANTILES.includes(x.quantile)) {
      throw new UmbraError(
        'BAD_ARGUMENT',
        `latency exceedance at quantile ${x.quantile} is not computed; use one of ${EXCEEDANCE_QUANTILES.join(', ')}`,
      );
    }
  }
  const range = { from: toDateTime64(window.from), to: toDateTime64(window.to) };

  const pairRows = await queryRows<PairsRow>(ch, loadSql('promoter/evidence.sql'), {
    experiment: spec.experiment,
    candidate: spec.candidate,
    ...range,
    segment_keys: needs.segmentKeys,
    exceed_quantiles: pairsAsk.map((x) => x.quantile),
    exceed_ratios: pairsAsk.map((x) => x.ratio),
  });

  let armRows: ArmRow[] | null = null;
  if (hasLiveSplit(state)) {
    const arms =
      'canary' in spec.strategy
        ? (opts.arms?.canary ?? DEFAULT_ARMS.canary)
        : (opts.arms?.blueGreen ?? DEFAULT_ARMS.blueGreen);
    armRows = await queryRows<ArmRow>(ch, loadSql('promoter/canary.sql'), {
      model: servedModelName(spec.baseline),
      stable_arm: arms.stable,
      canary_arm: arms.canary,
      ...range,
      segment_keys: needs.segmentKeys,
      exceed_quantiles: canaryAsk.map((x) => x.quantile),
      exceed_ratios: canaryAsk.map((x) => x.ratio),
    });
  }

  const key = (k: string, v: string): string => `${k}\u0000${v}`;
  const arms = new Map((armRows ?? []).map((r) => [key(r.segment_key, r.segment_value), r]));

  const toEvidence = (segment: Segment | null, p: PairsRow | undefined): Evidence => {
    const k = key(segment?.key ?? '', segment?.value ?? '');
    const e = pairsEvidence(window, segment, p, pairsAsk);
    if (armRows !== null) e.canary = canaryEvidence(arms.get(k), canaryAsk);
    return e;
  };

  const byKey = new Map(pairRows.map((r) => [key(r.segment_key, r.segment_value), r]));
  const overall = toEvidence(null, byKey.get(key('', '')));
  // Segments seen on either side: a segment with live requests but no pairs yet still counts.
  const segmentKeys = new Set<string>();
  const segments: Segment[] = [];
  for (const r of [...pairRows, ...(armRows ?? [])]) {
    if (r.segment_key === '') continue;
    const k = key(r.segment_key, r.segment_value);
    if (segmentKeys.has(k)) continue;
    segmentKeys.add(k);
    segments.push({ key: r.segment_key, value: r.segment_value });
  }
  segments.sort((a, b) => (a.key === b.key ? cmp(a.value, b.value) : cmp(a.key, b.key)));
  return {
    overall,
    segments: segments.map((s) => toEvidence(s, byKey.get(key(s.key, s.value)))),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function num(x: unknown): number {
  const n = Number(x);
  return Number.isFinite(n) ? n : 0;
}

function finiteOrNull(x: unknown): number | null {
  if (x === null || x === undefined) return null;
  const n = Number(x);
  return Number.isFinite(n) ? n : null;
}

type Asked = ReadonlyArray<{ quantile: number; ratio: number }>;

/**
 * Every asked (quantile, ratio), at 0 of 0 where the query found no latencies, so a gate reads
 * "needs more evidence" instead of falling back to a point estimate.
 */
function exceedanceOf(rows: PairsRow['exceedance'] | undefined, asked: Asked): LatencyExceedance[] {
  const found = (rows ?? []).map(([quantile, ratio, k, n]) => ({
    quantile: num(quantile),
    ratio: num(ratio),
    k: num(k),
    n: num(n),
  }));
  return asked.map(
    (a) =>
      found.find((x) => x.quantile === a.quantile && x.ratio === a.ratio) ?? {
        quantile: a.quantile,
        ratio: a.ratio,
        k: 0,
        n: 0,
      },
  );
}

function pairsEvidence(
  window: Evidence['window'],
  segment: Segment | null,
  r: PairsRow | undefined,
  asked: Asked,
): Evidence {
  const bl = r?.baseline_latency ?? [];
  const cl = r?.candidate_latency ?? [];
  const compared = num(r?.compared);
  const driftN = num(r?.drift_n);
  return {
    window: { ...window },
    segment: segment ? { ...segment } : null,
    pairs: { n: num(r?.n), compared, agreed: num(r?.agreed) },
    candidateCalls: {
      n: num(r?.n),
      errors: num(r?.candidate_errors),
      timeouts: num(r?.candidate_timeouts),
    },
    latency: {
      baselineP50: compared > 0 ? finiteOrNull(bl[0]) : null,
      baselineP95: compared > 0 ? finiteOrNull(bl[1]) : null,
      baselineP99: compared > 0 ? finiteOrNull(bl[2]) : null,
      candidateP50: compared > 0 ? finiteOrNull(cl[0]) : null,
      candidateP95: compared > 0 ? finiteOrNull(cl[1]) : null,
      candidateP99: compared > 0 ? finiteOrNull(cl[2]) : null,
      n: compared,
      // Ties say nothing about which side is slower: the sign count is over untied pairs.
      slowerThanBaseline: { k: num(r?.slower), n: num(r?.latency_untied) },
      exceedance: exceedanceOf(r?.exceedance, asked),
    },
    drift: {
      psi: driftN > 0 ? finiteOrNull(r?.psi) : null,
      jensenShannon: driftN > 0 ? finiteOrNull(r?.js_distance) : null,
      ksP: driftN > 0 ? finiteOrNull(r?.ks_p) : null,
      n: driftN,
    },
  };
}

function canaryEvidence(r: ArmRow | undefined, asked: Asked): NonNullable<Evidence['canary']> {
  const stableN = num(r?.stable_n);
  const canaryN = num(r?.canary_n);
  return {
    stable: {
      n: stableN,
      errors: num(r?.stable_errors),
      latencyP99: stableN > 0 ? finiteOrNull(r?.stable_p99) : null,
    },
    canary: {
      n: canaryN,
      errors: num(r?.canary_errors),
      latencyP99: canaryN > 0 ? finiteOrNull(r?.canary_p99) : null,
    },
    exceedance: exceedanceOf(r?.exceedance, asked),
  };
}
