import { UmbraError } from '@umbra/core';
import type { MetricRow, ReportKind } from './types.ts';

/** A report query's row as the engine returns it (JSONEachRow; counts may be numbers or strings). */
export interface RawMetricRow {
  /** The candidate the row is about, in reports that take several in one statement. */
  candidate?: string;
  report: string;
  metric: string;
  segment_key: string;
  segment_value: string;
  value: number | string | null;
  n: number | string;
  lower: number | string | null;
  upper: number | string | null;
  p_value: number | string | null;
  p_adjusted: number | string | null;
  method: string;
  details: string;
}

const KINDS: readonly ReportKind[] = ['agreement', 'latency', 'drift', 'canary'];

function num(v: number | string | null): number | null {
  if (v === null) return null;
  const x = Number(v);
  // JSON has no NaN or infinity; the engine writes them as null already, this keeps it so.
  return Number.isFinite(x) ? x : null;
}

export function toMetricRow(raw: RawMetricRow): MetricRow {
  if (!KINDS.includes(raw.report as ReportKind)) {
    throw new UmbraError('STORE_QUERY_FAILED', `report query returned an unknown report kind ${JSON.stringify(raw.report)}`);
  }
  let details: Record<string, unknown>;
  try {
    details = raw.details === '' ? {} : (JSON.parse(raw.details) as Record<string, unknown>);
  } catch (e) {
    throw new UmbraError('STORE_QUERY_FAILED', `report query returned details that are not JSON for ${raw.metric}: ${raw.details}`, { cause: e });
  }
  return {
    report: raw.report as ReportKind,
    metric: raw.metric,
    segment_key: raw.segment_key,
    segment_value: raw.segment_value,
    value: num(raw.value),
    n: Number(raw.n),
    lower: num(raw.lower),
    upper: num(raw.upper),
    p_value: num(raw.p_value),
    p_adjusted: num(raw.p_adjusted),
    method: raw.method,
    details,
  };
}
