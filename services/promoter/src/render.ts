/**
 * A rollout's status as text for a terminal: where it is, the last decision and, gate by gate,
 * the evidence it was decided on.
 */
import {
  formatCount,
  formatDuration,
  formatNumber,
  rolloutPlan,
  type GateResult,
  type Phase,
} from './domain/index.ts';
import type { RolloutStatus } from './promoter.ts';
import type { DecisionRecord, RecordedDecision } from './store.ts';

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function where(phase: Phase, weight: number): string {
  return phase === 'canary' || phase === 'preview'
    ? `${phase} ${weight} %`
    : phase === 'done'
      ? 'done (100 %)'
      : phase;
}

/** Columns padded to their widest cell; the last column is left unpadded. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function interval(r: GateResult): string {
  if (r.tested)
    return `share [${formatNumber(r.tested.lower)}, ${formatNumber(r.tested.upper)}] ≤ ${formatNumber(r.tested.limit)}?`;
  if (r.lower !== null && r.upper !== null)
    return `[${formatNumber(r.lower)}, ${formatNumber(r.upper)}]`;
  if (r.pValue !== null) return `p=${formatNumber(r.pValue)}`;
  return '—';
}

function value(r: GateResult): string {
  if (r.metric === 'elapsed_ms' && r.value !== null) return formatDuration(r.value);
  if (r.metric === 'window_from' && r.value !== null) return iso(r.value);
  return formatNumber(r.value);
}

function threshold(r: GateResult): string {
  if (r.metric === 'elapsed_ms') return `${r.op} ${formatDuration(r.threshold)}`;
  if (r.metric === 'window_from') return `${r.op} ${iso(r.threshold)}`;
  return `${r.op} ${r.threshold}`;
}

/** One row per gate result: gate, segment, value, interval/p, n, threshold, outcome, reason. */
export function renderReasons(reasons: GateResult[]): string {
  if (reasons.length === 0) return '(no gate results: the decision was not statistical)';
  return renderTable(
    ['gate', 'segment', 'value', 'interval/p', 'n', 'threshold', 'outcome', 'reason'],
    reasons.map((r) => [
      r.gate,
      r.segment ? `${r.segment.key}=${r.segment.value}` : 'overall',
      value(r),
      interval(r),
      r.n > 0 ? formatCount(r.n) : '—',
      threshold(r),
      r.outcome === 'pass' ? 'pass' : r.outcome === 'fail' ? 'FAIL' : 'inconclusive',
      r.reason,
    ]),
  );
}

export function renderDecision(d: RecordedDecision): string {
  return [
    `decision   ${d.decision.toUpperCase()} at ${iso(d.evaluatedAt)} by ${d.decidedBy} (id ${d.decisionId})`,
    `           ${where(d.phase, d.weight)} → ${where(d.nextPhase, d.nextWeight)}`,
    `summary    ${d.summary}`,
    `method     ${d.method}`,
    '',
    renderReasons(d.reasons),
  ].join('\n');
}

export function renderStatus(s: RolloutStatus, history: DecisionRecord[] = []): string {
  const { state, spec } = s;
  const plan = rolloutPlan(spec);
  const stages = [...plan.map((st) => where(st.phase, st.weight)), 'done'];
  const current = state.phase === 'done' ? stages.length - 1 : state.step;
  const path = stages
    .map((st, i) =>
      i === current && state.phase !== 'rolled-back' && state.phase !== 'aborted' ? `[${st}]` : st,
    )
    .join(' → ');
  const lines = [
    `rollout    ${s.rollout}: ${state.candidate} replaces ${state.baseline} (${state.strategy}, experiment ${spec.experiment})`,
    `phase      ${where(state.phase, state.weight).toUpperCase()}, step ${state.step}, candidate weight ${state.weight} %`,
    `plan       ${path}${state.phase === 'rolled-back' || state.phase === 'aborted' ? `  — ${state.phase}` : ''}`,
    `started    ${iso(state.startedAt)}; this step since ${iso(state.stepStartedAt)}; ${state.evaluations} evaluation(s), ${state.consecutiveFailures} failing in a row (rollback after ${spec.rollback.afterFailures})`,
    `next       ${s.nextEvaluationAt === null ? 'nothing: the rollout is finished' : `evaluation at ${iso(s.nextEvaluationAt)} (every ${formatDuration(spec.interval)}, by the leader)`}`,
    `spec       ${state.specHash}; state version ${s.version}, written by ${s.updatedBy}`,
    '',
  ];
  if (s.lastDecision) lines.push(renderDecision(s.lastDecision));
  else lines.push('decision   none yet: the first evaluation comes after one interval');
  if (history.length > 1) {
    lines.push('', 'history (newest first)');
    lines.push(
      renderTable(
        ['decided at', 'decision', 'from', 'to', 'by', 'id'],
        history.map((h) => [
          iso(h.decidedAt),
          h.decision,
          `${h.phase} ${h.weight} %`,
          `step ${h.nextStep}, ${h.nextWeight} %`,
          h.decidedBy,
          h.decisionId,
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
