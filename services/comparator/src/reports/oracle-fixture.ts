/**
 * Test support: the independent oracle (test/fixtures/oracle/oracle.json, made by make_oracle.py
 * with numpy/scipy) and its datasets loaded into shadow_pairs / request_events.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { insertRows, toDateTime64, type ClickHouse } from '@umbra/core/clickhouse';

export const ORACLE_PATH = fileURLToPath(new URL('../../../../test/fixtures/oracle/oracle.json', import.meta.url));

type Num = number | 'NaN' | null;

export interface OraclePair {
  experiment: string;
  candidate: string;
  role: string;
  event_id: string;
  t: number;
  attributes: Record<string, string>;
  baseline_latency_ms: number;
  candidate_latency_ms: number;
  baseline_status: string;
  candidate_status: string;
  baseline_label: string | null;
  candidate_label: string | null;
  baseline_value: Num;
  candidate_value: Num;
  abs_error: Num;
  within_tolerance: 0 | 1 | null;
  agree: 0 | 1;
  topk_overlap: number | null;
  jaccard: number | null;
  rbo: number | null;
  diff_paths: string[];
  replayed_offset: number;
}

export interface OracleRequest {
  event_id: string;
  t: number;
  model_name: string;
  arm: string;
  latency_ms: number;
  status: string;
  attributes: Record<string, string>;
}

/** One expected row; fields beyond these are metric-specific (label, path, b, c, ...). */
export interface Expected {
  segment_key: string;
  segment_value: string;
  metric?: string;
  feature?: string;
  n?: number;
  value?: number | null;
  lower?: number | null;
  upper?: number | null;
  p_value?: number | null;
  [k: string]: unknown;
}

export interface Oracle {
  versions: Record<string, string>;
  windows: { main: [number, number]; reference: [number, number]; empty: [number, number] };
  segment_keys: string[];
  drift_attribute: string;
  thresholds: { rel_threshold: number; abs_threshold: number };
  tolerances: { identical_method: number; ks_p_asymp_vs_scipy: number };
  datasets: { pairs: OraclePair[]; stale_pairs: OraclePair[]; requests: OracleRequest[] };
  expected: Record<string, Expected[]>;
  stats: Record<string, unknown>;
}

export function readOracle(): Oracle {
  return JSON.parse(readFileSync(ORACLE_PATH, 'utf8')) as Oracle;
}

/** The day start the oracle's offsets count from: two days ago, inside the tables' 90-day TTL. */
export function oracleT0(now: number = Date.now()): number {
  const day = 86_400_000;
  return Math.floor(now / day) * day - 2 * day;
}

// JSON has no NaN: the fixture writes "NaN", and the engine reads the quoted string as a NaN.
function value(v: Num): number | string | null {
  return v === 'NaN' ? 'nan' : v;
}

function pairRow(p: OraclePair, t0: number) {
  return {
    experiment: p.experiment,
    candidate: p.candidate,
    role: p.role,
    event_id: p.event_id,
    event_time: toDateTime64(t0 + p.t),
    arm: 'stable',
    baseline_model: 'oracle-model',
    baseline_version: 'v1',
    attributes: p.attributes,
    task: 'classification',
    baseline_output: null,
    candidate_output: null,
    baseline_latency_ms: p.baseline_latency_ms,
    candidate_latency_ms: p.candidate_latency_ms,
    baseline_status: p.baseline_status,
    candidate_status: p.candidate_status,
    candidate_error: null,
    agree: p.agree,
    baseline_label: p.baseline_label,
    candidate_label: p.candidate_label,
    baseline_value: value(p.baseline_value),
    candidate_value: value(p.candidate_value),
    abs_error: value(p.abs_error),
    rel_error: null,
    within_tolerance: p.within_tolerance,
    baseline_ranking: [],
    candidate_ranking: [],
    topk_overlap: p.topk_overlap,
    jaccard: p.jaccard,
    rbo: p.rbo,
    diff_paths: p.diff_paths,
    // Later replays win under FINAL: stale copies carry an earlier replayed_at.
    replayed_at: toDateTime64(t0 + 3 * 86_400_000 + p.replayed_offset),
  };
}

/** Inserts the oracle's pairs (then the stale copies FINAL must drop) and requests. */
export async function loadOracle(ch: ClickHouse, oracle: Oracle, t0: number): Promise<void> {
  await insertRows(ch, 'shadow_pairs', oracle.datasets.pairs.map((p) => pairRow(p, t0)));
  await insertRows(ch, 'shadow_pairs', oracle.datasets.stale_pairs.map((p) => pairRow(p, t0)));
  await insertRows(
    ch,
    'request_events',
    oracle.datasets.requests.map((r) => ({
      event_id: r.event_id,
      event_time: toDateTime64(t0 + r.t),
      model_name: r.model_name,
      model_version: 'v1',
      arm: r.arm,
      input: '{}',
      output: null,
      latency_ms: r.latency_ms,
      status: r.status,
      error_message: null,
      attributes: r.attributes,
      trace_id: null,
      ingested_at: toDateTime64(t0 + 3 * 86_400_000),
    })),
  );
}
