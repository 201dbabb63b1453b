import { UmbraError } from '../errors.ts';
import type { RequestEvent, ShadowPair } from '../domain/events.ts';
import type { NativeType } from './native.ts';

const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
// The 'YYYY-MM-DD ' of the last day formatted: rows of a batch mostly share a day or two.
let cachedDay = Number.NaN;
let cachedDate = '';

/**
 * Epoch milliseconds as a DateTime64(3) literal in UTC, 'YYYY-MM-DD hh:mm:ss.SSS'. A string
 * is exact on every ClickHouse version; how a bare number is read depends on the column's
 * scale and the server's input settings.
 *
 * Called for every row inserted as JSON: the date part is formatted once per day (through Date,
 * which also checks the range), the time of day by arithmetic.
 */
export function toDateTime64(epochMs: number): string {
  if (!Number.isFinite(epochMs))
    throw new UmbraError('BAD_ARGUMENT', `not a time in epoch milliseconds: ${epochMs}`);
  const ms = Math.round(epochMs);
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    const d = new Date(day * DAY_MS);
    const year = d.getUTCFullYear();
    // DateTime64's range; beyond it the ISO form changes shape and ClickHouse would clamp.
    if (year < 1900 || year > 2299)
      throw new UmbraError('BAD_ARGUMENT', `time outside DateTime64 range: ${epochMs}`);
    cachedDate = `${d.toISOString().slice(0, 10)} `;
    cachedDay = day;
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${cachedDate}${PAD2[h]}:${PAD2[m]}:${PAD2[sec]}.${PAD3[rest - sec * 1000]}`;
}

/**
 * How rows of one table are written: the columns, their types as a Native block declares them
 * (see native.ts), and each item's values in that order, DateTime64 columns as epoch
 * milliseconds. Skips the keyed row object of `*ToRow` on the hot path.
 */
export interface RowEncoder<T> {
  readonly columns: readonly string[];
  readonly types: readonly NativeType[];
  values(item: T): unknown[];
}

const DATETIME: NativeType = "DateTime64(3, 'UTC')";

function flag(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}

/** The columns of `shadow_pairs` (sql/migrations/001_shadow_pairs.sql). */
export interface ShadowPairRow {
  experiment: string;
  candidate: string;
  role: string;
  event_id: string;
  event_time: string;
  arm: string;
  baseline_model: string;
  baseline_version: string;
  attributes: Record<string, string>;
  task: string;
  baseline_output: string | null;
  candidate_output: string | null;
  baseline_latency_ms: number;
  candidate_latency_ms: number;
  baseline_status: string;
  candidate_status: string;
  candidate_error: string | null;
  agree: 0 | 1;
  baseline_label: string | null;
  candidate_label: string | null;
  baseline_value: number | null;
  candidate_value: number | null;
  abs_error: number | null;
  rel_error: number | null;
  within_tolerance: 0 | 1 | null;
  baseline_ranking: string[];
  candidate_ranking: string[];
  topk_overlap: number | null;
  jaccard: number | null;
  rbo: number | null;
  diff_paths: string[];
  replayed_at: string;
  served: string;
  baseline_error: string | null;
}

/** shadow_pairs rows as positional values, in the column order of `ShadowPairRow`. */
export const shadowPairEncoder: RowEncoder<ShadowPair> = {
  columns: [
    'experiment',
    'candidate',
    'role',
    'event_id',
    'event_time',
    'arm',
    'baseline_model',
    'baseline_version',
    'attributes',
    'task',
    'baseline_output',
    'candidate_output',
    'baseline_latency_ms',
    'candidate_latency_ms',
    'baseline_status',
    'candidate_status',
    'candidate_error',
    'agree',
    'baseline_label',
    'candidate_label',
    'baseline_value',
    'candidate_value',
    'abs_error',
    'rel_error',
    'within_tolerance',
    'baseline_ranking',
    'candidate_ranking',
    'topk_overlap',
    'jaccard',
    'rbo',
    'diff_paths',
    'replayed_at',
    'served',
    'baseline_error',
  ] satisfies (keyof ShadowPairRow)[],
  types: [
    'String', // experiment
    'String', // candidate
    'String', // role
    'String', // event_id
    DATETIME, // event_time
    'String', // arm
    'String', // baseline_model
    'String', // baseline_version
    'Map(String, String)', // attributes
    'String', // task
    'Nullable(String)', // baseline_output
    'Nullable(String)', // candidate_output
    'Float64', // baseline_latency_ms
    'Float64', // candidate_latency_ms
    'String', // baseline_status
    'String', // candidate_status
    'Nullable(String)', // candidate_error
    'UInt8', // agree
    'Nullable(String)', // baseline_label
    'Nullable(String)', // candidate_label
    'Nullable(Float64)', // baseline_value
    'Nullable(Float64)', // candidate_value
    'Nullable(Float64)', // abs_error
    'Nullable(Float64)', // rel_error
    'Nullable(UInt8)', // within_tolerance
    'Array(String)', // baseline_ranking
    'Array(String)', // candidate_ranking
    'Nullable(Float64)', // topk_overlap
    'Nullable(Float64)', // jaccard
    'Nullable(Float64)', // rbo
    'Array(String)', // diff_paths
    DATETIME, // replayed_at
    'String', // served
    'Nullable(String)', // baseline_error
  ],
  values: (pair) => [
    pair.experiment,
    pair.candidate,
    pair.role,
    pair.eventId,
    pair.eventTime,
    pair.arm,
    pair.baselineModel,
    pair.baselineVersion,
    pair.attributes,
    pair.task,
    pair.baselineOutput,
    pair.candidateOutput,
    pair.baselineLatencyMs,
    pair.candidateLatencyMs,
    pair.baselineStatus,
    pair.candidateStatus,
    pair.candidateError,
    flag(pair.agree),
    pair.baselineLabel,
    pair.candidateLabel,
    pair.baselineValue,
    pair.candidateValue,
    pair.absError,
    pair.relError,
    pair.withinTolerance === null ? null : flag(pair.withinTolerance),
    pair.baselineRanking,
    pair.candidateRanking,
    pair.topkOverlap,
    pair.jaccard,
    pair.rbo,
    pair.diffPaths,
    pair.replayedAt,
    pair.served,
    pair.baselineError,
  ],
};

/** The columns of `request_events` (sql/migrations/002_request_events.sql). */
export interface RequestEventRow {
  event_id: string;
  event_time: string;
  model_name: string;
  model_version: string;
  arm: string;
  input: string;
  output: string | null;
  latency_ms: number;
  status: string;
  error_message: string | null;
  attributes: Record<string, string>;
  trace_id: string | null;
  ingested_at: string;
}

const REQUEST_EVENT_COLUMNS = [
  'event_id',
  'event_time',
  'model_name',
  'model_version',
  'arm',
  'input',
  'output',
  'latency_ms',
  'status',
  'error_message',
  'attributes',
  'trace_id',
  'ingested_at',
] satisfies (keyof RequestEventRow)[];

const REQUEST_EVENT_TYPES: readonly NativeType[] = [
  'String', // event_id
  DATETIME, // event_time
  'String', // model_name
  'String', // model_version
  'String', // arm
  'String', // input
  'Nullable(String)', // output
  'Float64', // latency_ms
  'String', // status
  'Nullable(String)', // error_message
  'Map(String, String)', // attributes
  'Nullable(String)', // trace_id
  DATETIME, // ingested_at
];

/** request_events rows as positional values (see `requestEventToRow`), all stamped `ingestedAt`. */
export function requestEventEncoder(ingestedAt: number): RowEncoder<RequestEvent> {
  return {
    columns: REQUEST_EVENT_COLUMNS,
    types: REQUEST_EVENT_TYPES,
    values: (event) => [
      event.eventId,
      event.eventTime,
      event.model.name,
      event.model.version,
      event.arm,
      event.input,
      event.output,
      event.latencyMs,
      event.status,
      event.errorMessage,
      event.attributes,
      event.traceId,
      ingestedAt,
    ],
  };
}

/**
 * A positional row as the keyed object of its columns (tests, fixtures, readable dumps, inserts
 * as JSON), DateTime64 values as 'YYYY-MM-DD hh:mm:ss.SSS' UTC text.
 */
function keyed<R>(encoder: RowEncoder<never>, values: unknown[]): R {
  const row: Record<string, unknown> = {};
  encoder.columns.forEach((column, i) => {
    const v = values[i];
    row[column] = encoder.types[i] === DATETIME ? toDateTime64(v as number) : v;
  });
  return row as R;
}

/** One pair as its shadow_pairs row, keyed by column: the same mapping as `shadowPairEncoder`. */
export function shadowPairToRow(pair: ShadowPair): ShadowPairRow {
  return keyed(shadowPairEncoder, shadowPairEncoder.values(pair));
}

/**
 * One event as its request_events row, keyed by column (the mapping of `requestEventEncoder`).
 * `ingestedAt` (epoch ms) is the ReplacingMergeTree version: a re-ingested event replaces the
 * earlier row. `tapSampleRate` has no column yet and is not stored.
 */
export function requestEventToRow(event: RequestEvent, ingestedAt: number): RequestEventRow {
  const encoder = requestEventEncoder(ingestedAt);
  return keyed(encoder, encoder.values(event));
}
