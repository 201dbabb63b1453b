import { UmbraError } from '@umbra/core';
import { insertRows, loadSql, queryRows, toDateTime64, type ClickHouse } from '@umbra/core/clickhouse';
import type { Report } from './types.ts';

/**
 * Writes a report's metric rows to comparison_reports, one row per metric. A retried call with
 * the same report is a no-op: rows already stored for the run, experiment and candidate are not
 * written again (comparison_reports is a plain MergeTree without a deduplication window, so the
 * insert's deduplication token alone would not catch a retry).
 */
export async function storeReport(ch: ClickHouse, report: Report): Promise<{ rows: number }> {
  if (report.metrics.length === 0) return { rows: 0 };
  if (!report.runId) throw new UmbraError('BAD_ARGUMENT', 'a report needs a runId to be stored');
  const stored = await queryRows<{ rows: number | string }>(ch, loadSql('reports/stored_rows.sql'), {
    run_id: report.runId,
    experiment: report.experiment,
    candidate: report.candidate,
  });
  if (Number(stored[0]?.rows ?? 0) > 0) return { rows: 0 };
  const windowFrom = toDateTime64(report.window.from);
  const windowTo = toDateTime64(report.window.to);
  const createdAt = toDateTime64(report.createdAt);
  const rows = report.metrics.map((m) => ({
    run_id: report.runId,
    experiment: report.experiment,
    candidate: report.candidate,
    report: m.report,
    metric: m.metric,
    segment_key: m.segment_key,
    segment_value: m.segment_value,
    window_from: windowFrom,
    window_to: windowTo,
    value: finiteOrNull(m.value),
    n: m.n,
    lower: finiteOrNull(m.lower),
    upper: finiteOrNull(m.upper),
    p_value: finiteOrNull(m.p_value),
    p_adjusted: finiteOrNull(m.p_adjusted),
    method: m.method,
    details: JSON.stringify(m.details),
    created_at: createdAt,
  }));
  return insertRows(ch, 'comparison_reports', rows, {
    dedupToken: `comparison_reports:${report.runId}:${report.experiment}:${report.candidate}:${rows.length}`,
  });
}

function finiteOrNull(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}
