/**
 * The machine-readable report: one JSON document per run, every metric with its value, n,
 * interval or p, method and segment, so a script never has to guess which number is which.
 */
import { buildView, LEVEL, type RenderOptions, type VerdictStatus } from './model.ts';
import type { MetricRow, Report } from './types.ts';

export interface JsonMetric {
  report: MetricRow['report'];
  metric: string;
  /** null for the overall metric. */
  segment: { key: string; value: string } | null;
  value: number | null;
  n: number;
  interval: { lower: number; upper: number; level: typeof LEVEL } | null;
  p: { raw: number | null; adjusted: number | null } | null;
  method: string;
  details: Record<string, unknown>;
}

export interface JsonCandidate {
  candidate: string;
  role: Report['role'];
  runId: string;
  verdict: { status: VerdictStatus; summary: string; findings: Array<{ status: string; text: string }> };
  metrics: JsonMetric[];
}

export interface JsonReport {
  experiment: string;
  /** Epoch ms and ISO 8601, from inclusive, to exclusive. */
  window: { from: number; to: number; fromIso: string; toIso: string };
  generatedAt: string;
  candidates: JsonCandidate[];
}

function finiteOrNull(v: number | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function toJsonMetric(m: MetricRow): JsonMetric {
  const lower = finiteOrNull(m.lower);
  const upper = finiteOrNull(m.upper);
  const raw = finiteOrNull(m.p_value);
  const adjusted = finiteOrNull(m.p_adjusted);
  return {
    report: m.report,
    metric: m.metric,
    segment: m.segment_key === '' ? null : { key: m.segment_key, value: m.segment_value },
    value: finiteOrNull(m.value),
    n: m.n,
    interval: lower !== null && upper !== null ? { lower, upper, level: LEVEL } : null,
    p: raw !== null || adjusted !== null ? { raw, adjusted } : null,
    method: m.method,
    details: m.details,
  };
}

/** The document as an object; `renderJson` is its text. */
export function toJsonReport(reports: readonly Report[], opts: RenderOptions = {}): JsonReport {
  const view = buildView(reports, opts);
  return {
    experiment: view.experiment,
    window: {
      from: view.window.from,
      to: view.window.to,
      fromIso: new Date(view.window.from).toISOString(),
      toIso: new Date(view.window.to).toISOString(),
    },
    generatedAt: new Date(view.generatedAt).toISOString(),
    candidates: view.candidates.map((c) => ({
      candidate: c.candidate,
      role: c.role,
      runId: c.report.runId,
      verdict: { status: c.verdict.status, summary: c.verdict.summary, findings: c.verdict.findings.map((f) => ({ ...f })) },
      metrics: c.report.metrics.map(toJsonMetric),
    })),
  };
}

export function renderJson(reports: readonly Report[], opts: RenderOptions = {}): string {
  return `${JSON.stringify(toJsonReport(reports, opts), null, 2)}\n`;
}
