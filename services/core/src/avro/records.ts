import type { ShadowPair } from '../domain/events.ts';
import { schemaCatalog } from './catalog.ts';
import type { SchemaRegistry } from './registry.ts';
import {
  createRecordCodec,
  type EncodedMessage,
  type EncodeOptions,
  type FieldProblem,
  type MessageHeaders,
  type RecordCodec,
} from './wire.ts';

/** One metric of a report run (schemas/ComparisonReport.avsc ReportMetric; a comparison_reports row). */
export interface ReportMetricMessage {
  /** agreement | latency | drift | canary */
  report: string;
  metric: string;
  /** '' for overall. */
  segmentKey: string;
  segmentValue: string;
  value: number | null;
  n: number;
  lower: number | null;
  upper: number | null;
  pValue: number | null;
  pAdjusted: number | null;
  method: string;
  /** JSON object with the metric's extra fields. */
  details: string;
}

/** A report run as published on umbra.reports (schemas/ComparisonReport.avsc). Times in epoch ms. */
export interface ComparisonReportMessage {
  runId: string;
  experiment: string;
  candidate: string;
  windowFrom: number;
  windowTo: number;
  createdAt: number;
  metrics: ReportMetricMessage[];
}

/** The evidence one gate was decided on (schemas/PromotionDecision.avsc GateResult). */
export interface GateResultMessage {
  gate: string;
  metric: string;
  /** key=value, '' for overall. */
  segment: string;
  value: number | null;
  lower: number | null;
  upper: number | null;
  pValue: number | null;
  n: number;
  threshold: number;
  op: string;
  outcome: 'pass' | 'fail' | 'inconclusive';
  method: string;
  query: string;
  windowFrom: number;
  windowTo: number;
}

/** A decision as published on umbra.decisions (schemas/PromotionDecision.avsc; promotion_decisions). */
export interface PromotionDecisionMessage {
  decisionId: string;
  rollout: string;
  experiment: string;
  candidate: string;
  baseline: string;
  /** canary | blue-green */
  strategy: string;
  /** shadow | canary | preview | switched | watch | done | rolled-back */
  phase: string;
  step: number;
  /** Candidate traffic share before the decision, 0..100. */
  weight: number;
  decision: 'promote' | 'continue' | 'rollback';
  nextStep: number;
  nextWeight: number;
  reasons: GateResultMessage[];
  specHash: string;
  decidedBy: string;
  decidedAt: number;
}

type Avro = Record<string, unknown>;

/** `latencyMs` → `latency_ms`: the Avro field names are the snake_case of the TypeScript ones. */
type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S;
/** The Avro record of a TypeScript record, field for field. */
type AvroOf<T> = T extends readonly (infer I)[]
  ? AvroOf<I>[]
  : T extends object
    ? { [K in keyof T as Snake<K & string>]: AvroOf<T[K]> }
    : T;

function checkTime(field: string, ms: number): FieldProblem | undefined {
  return Number.isSafeInteger(ms) && ms > 0
    ? undefined
    : { field, reason: `must be a positive integer of epoch milliseconds, got ${ms}` };
}

function checkNonEmpty(field: string, text: string): FieldProblem | undefined {
  return text.length > 0 ? undefined : { field, reason: 'must not be empty' };
}

function checkCount(field: string, n: number): FieldProblem | undefined {
  return n >= 0 ? undefined : { field, reason: `must be >= 0, got ${n}` };
}

function checkWindow(prefix: string, from: number, to: number): FieldProblem | undefined {
  return (
    checkTime(`${prefix}window_from`, from) ??
    checkTime(`${prefix}window_to`, to) ??
    (from <= to
      ? undefined
      : { field: `${prefix}window_to`, reason: 'must not be before window_from' })
  );
}

// ---- ShadowResult ----

export function shadowPairToAvro(p: ShadowPair): AvroOf<ShadowPair> {
  return {
    experiment: p.experiment,
    candidate: p.candidate,
    role: p.role,
    event_id: p.eventId,
    event_time: p.eventTime,
    arm: p.arm,
    baseline_model: p.baselineModel,
    baseline_version: p.baselineVersion,
    attributes: p.attributes,
    task: p.task,
    baseline_output: p.baselineOutput,
    candidate_output: p.candidateOutput,
    baseline_latency_ms: p.baselineLatencyMs,
    candidate_latency_ms: p.candidateLatencyMs,
    baseline_status: p.baselineStatus,
    candidate_status: p.candidateStatus,
    candidate_error: p.candidateError,
    agree: p.agree,
    baseline_label: p.baselineLabel,
    candidate_label: p.candidateLabel,
    baseline_value: p.baselineValue,
    candidate_value: p.candidateValue,
    abs_error: p.absError,
    rel_error: p.relError,
    within_tolerance: p.withinTolerance,
    baseline_ranking: p.baselineRanking,
    candidate_ranking: p.candidateRanking,
    topk_overlap: p.topkOverlap,
    jaccard: p.jaccard,
    rbo: p.rbo,
    diff_paths: p.diffPaths,
    replayed_at: p.replayedAt,
    served: p.served,
    baseline_error: p.baselineError,
  };
}

export function shadowPairFromAvro(a: Avro): ShadowPair {
  const r = a as AvroOf<ShadowPair>;
  return {
    experiment: r.experiment,
    candidate: r.candidate,
    role: r.role,
    eventId: r.event_id,
    eventTime: r.event_time,
    arm: r.arm,
    baselineModel: r.baseline_model,
    baselineVersion: r.baseline_version,
    attributes: { ...r.attributes },
    task: r.task,
    baselineOutput: r.baseline_output,
    candidateOutput: r.candidate_output,
    baselineLatencyMs: r.baseline_latency_ms,
    candidateLatencyMs: r.candidate_latency_ms,
    baselineStatus: r.baseline_status,
    candidateStatus: r.candidate_status,
    candidateError: r.candidate_error,
    agree: r.agree,
    baselineLabel: r.baseline_label,
    candidateLabel: r.candidate_label,
    baselineValue: r.baseline_value,
    candidateValue: r.candidate_value,
    absError: r.abs_error,
    relError: r.rel_error,
    withinTolerance: r.within_tolerance,
    baselineRanking: [...r.baseline_ranking],
    candidateRanking: [...r.candidate_ranking],
    topkOverlap: r.topk_overlap,
    jaccard: r.jaccard,
    rbo: r.rbo,
    diffPaths: [...r.diff_paths],
    replayedAt: r.replayed_at,
    served: r.served,
    baselineError: r.baseline_error,
  };
}

export function checkShadowPair(p: ShadowPair): FieldProblem | undefined {
  return (
    checkNonEmpty('experiment', p.experiment) ??
    checkNonEmpty('candidate', p.candidate) ??
    checkNonEmpty('event_id', p.eventId) ??
    checkTime('event_time', p.eventTime) ??
    checkTime('replayed_at', p.replayedAt)
  );
}

// ---- ComparisonReport ----

export function comparisonReportToAvro(
  r: ComparisonReportMessage,
): AvroOf<ComparisonReportMessage> {
  return {
    run_id: r.runId,
    experiment: r.experiment,
    candidate: r.candidate,
    window_from: r.windowFrom,
    window_to: r.windowTo,
    created_at: r.createdAt,
    metrics: r.metrics.map((m) => ({
      report: m.report,
      metric: m.metric,
      segment_key: m.segmentKey,
      segment_value: m.segmentValue,
      value: m.value,
      n: m.n,
      lower: m.lower,
      upper: m.upper,
      p_value: m.pValue,
      p_adjusted: m.pAdjusted,
      method: m.method,
      details: m.details,
    })),
  };
}

export function comparisonReportFromAvro(a: Avro): ComparisonReportMessage {
  const r = a as AvroOf<ComparisonReportMessage>;
  return {
    runId: r.run_id,
    experiment: r.experiment,
    candidate: r.candidate,
    windowFrom: r.window_from,
    windowTo: r.window_to,
    createdAt: r.created_at,
    metrics: r.metrics.map((m) => ({
      report: m.report,
      metric: m.metric,
      segmentKey: m.segment_key,
      segmentValue: m.segment_value,
      value: m.value,
      n: m.n,
      lower: m.lower,
      upper: m.upper,
      pValue: m.p_value,
      pAdjusted: m.p_adjusted,
      method: m.method,
      details: m.details,
    })),
  };
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

export function checkComparisonReport(r: ComparisonReportMessage): FieldProblem | undefined {
  const top =
    checkNonEmpty('run_id', r.runId) ??
    checkNonEmpty('experiment', r.experiment) ??
    checkNonEmpty('candidate', r.candidate) ??
    checkWindow('', r.windowFrom, r.windowTo) ??
    checkTime('created_at', r.createdAt);
  if (top) return top;
  for (const [i, m] of r.metrics.entries()) {
    const at = `metrics[${i}].`;
    const problem =
      checkNonEmpty(`${at}metric`, m.metric) ??
      checkCount(`${at}n`, m.n) ??
      (isJsonObject(m.details)
        ? undefined
        : { field: `${at}details`, reason: 'must be a JSON object' });
    if (problem) return problem;
  }
  return undefined;
}

// ---- PromotionDecision ----

export function promotionDecisionToAvro(
  d: PromotionDecisionMessage,
): AvroOf<PromotionDecisionMessage> {
  return {
    decision_id: d.decisionId,
    rollout: d.rollout,
    experiment: d.experiment,
    candidate: d.candidate,
    baseline: d.baseline,
    strategy: d.strategy,
    phase: d.phase,
    step: d.step,
    weight: d.weight,
    decision: d.decision,
    next_step: d.nextStep,
    next_weight: d.nextWeight,
    reasons: d.reasons.map((g) => ({
      gate: g.gate,
      metric: g.metric,
      segment: g.segment,
      value: g.value,
      lower: g.lower,
      upper: g.upper,
      p_value: g.pValue,
      n: g.n,
      threshold: g.threshold,
      op: g.op,
      outcome: g.outcome,
      method: g.method,
      query: g.query,
      window_from: g.windowFrom,
      window_to: g.windowTo,
    })),
    spec_hash: d.specHash,
    decided_by: d.decidedBy,
    decided_at: d.decidedAt,
  };
}

export function promotionDecisionFromAvro(a: Avro): PromotionDecisionMessage {
  const d = a as AvroOf<PromotionDecisionMessage>;
  return {
    decisionId: d.decision_id,
    rollout: d.rollout,
    experiment: d.experiment,
    candidate: d.candidate,
    baseline: d.baseline,
    strategy: d.strategy,
    phase: d.phase,
    step: d.step,
    weight: d.weight,
    decision: d.decision,
    nextStep: d.next_step,
    nextWeight: d.next_weight,
    reasons: d.reasons.map((g) => ({
      gate: g.gate,
      metric: g.metric,
      segment: g.segment,
      value: g.value,
      lower: g.lower,
      upper: g.upper,
      pValue: g.p_value,
      n: g.n,
      threshold: g.threshold,
      op: g.op,
      outcome: g.outcome,
      method: g.method,
      query: g.query,
      windowFrom: g.window_from,
      windowTo: g.window_to,
    })),
    specHash: d.spec_hash,
    decidedBy: d.decided_by,
    decidedAt: d.decided_at,
  };
}

function checkWeight(field: string, w: number): FieldProblem | undefined {
  return Number.isFinite(w) && w >= 0 && w <= 100
    ? undefined
    : { field, reason: `must be in 0..100, got ${w}` };
}

export function checkPromotionDecision(d: PromotionDecisionMessage): FieldProblem | undefined {
  const top =
    checkNonEmpty('decision_id', d.decisionId) ??
    checkNonEmpty('rollout', d.rollout) ??
    checkCount('step', d.step) ??
    checkWeight('weight', d.weight) ??
    checkCount('next_step', d.nextStep) ??
    checkWeight('next_weight', d.nextWeight) ??
    checkTime('decided_at', d.decidedAt);
  if (top) return top;
  for (const [i, g] of d.reasons.entries()) {
    const at = `reasons[${i}].`;
    const problem =
      checkNonEmpty(`${at}gate`, g.gate) ??
      checkCount(`${at}n`, g.n) ??
      checkWindow(at, g.windowFrom, g.windowTo);
    if (problem) return problem;
  }
  return undefined;
}

// ---- codecs ----

let shadowPairs: RecordCodec<ShadowPair> | undefined;
let reports: RecordCodec<ComparisonReportMessage> | undefined;
let decisions: RecordCodec<PromotionDecisionMessage> | undefined;

/** ShadowResult ↔ ShadowPair. */
export function shadowPairCodec(): RecordCodec<ShadowPair> {
  shadowPairs ??= createRecordCodec(
    {
      subject: 'ShadowResult',
      toAvro: shadowPairToAvro,
      fromAvro: shadowPairFromAvro,
      check: checkShadowPair,
    },
    schemaCatalog(),
  );
  return shadowPairs;
}

export function comparisonReportCodec(): RecordCodec<ComparisonReportMessage> {
  reports ??= createRecordCodec(
    {
      subject: 'ComparisonReport',
      toAvro: comparisonReportToAvro,
      fromAvro: comparisonReportFromAvro,
      check: checkComparisonReport,
    },
    schemaCatalog(),
  );
  return reports;
}

export function promotionDecisionCodec(): RecordCodec<PromotionDecisionMessage> {
  decisions ??= createRecordCodec(
    {
      subject: 'PromotionDecision',
      toAvro: promotionDecisionToAvro,
      fromAvro: promotionDecisionFromAvro,
      check: checkPromotionDecision,
    },
    schemaCatalog(),
  );
  return decisions;
}

/** Default: raw Avro with the `umbra-schema: ShadowResult.v2` header (the latest version). */
export function encodeShadowPair(pair: ShadowPair, opts?: EncodeOptions): EncodedMessage {
  return shadowPairCodec().encode(pair, opts);
}

export function decodeShadowPair(
  value: Buffer | null,
  headers: MessageHeaders,
  registry?: SchemaRegistry,
): Promise<ShadowPair> {
  return shadowPairCodec().decode(value, headers, registry);
}

export function encodeComparisonReport(
  report: ComparisonReportMessage,
  opts?: EncodeOptions,
): EncodedMessage {
  return comparisonReportCodec().encode(report, opts);
}

export function decodeComparisonReport(
  value: Buffer | null,
  headers: MessageHeaders,
  registry?: SchemaRegistry,
): Promise<ComparisonReportMessage> {
  return comparisonReportCodec().decode(value, headers, registry);
}

export function encodePromotionDecision(
  decision: PromotionDecisionMessage,
  opts?: EncodeOptions,
): EncodedMessage {
  return promotionDecisionCodec().encode(decision, opts);
}

export function decodePromotionDecision(
  value: Buffer | null,
  headers: MessageHeaders,
  registry?: SchemaRegistry,
): Promise<PromotionDecisionMessage> {
  return promotionDecisionCodec().decode(value, headers, registry);
}
