/**
 * The records the pure middle works on. Avro, Kafka and ClickHouse stop at the adapters;
 * everything here is a plain typed value.
 */
export const ARMS = ['stable', 'canary', 'blue', 'green'] as const;
export type Arm = (typeof ARMS)[number];

/** The two arms a model's live traffic is split into, for comparing them. */
export interface LiveSplit {
  stable: string;
  canary: string;
}

/** A canary splits stable/canary; a blue-green preview blue/green. */
export const LIVE_SPLITS: Readonly<{ canary: Readonly<LiveSplit>; blueGreen: Readonly<LiveSplit> }> = Object.freeze({
  canary: Object.freeze({ stable: 'stable', canary: 'canary' }),
  blueGreen: Object.freeze({ stable: 'blue', canary: 'green' }),
});

export const EVENT_STATUSES = ['ok', 'error'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** One production request with the output production served (schemas/RequestEvent.v*.avsc). */
export interface RequestEvent {
  eventId: string;
  /** Epoch milliseconds. */
  eventTime: number;
  model: { name: string; version: string };
  arm: Arm;
  /** JSON-encoded model input. */
  input: string;
  /** JSON-encoded output production served; null when the request failed. */
  output: string | null;
  latencyMs: number;
  status: EventStatus;
  errorMessage: string | null;
  /** Segment attributes (region, client, input class, ...). */
  attributes: Record<string, string>;
  traceId: string | null;
  /** v2 only: the sampling rate of the tap that captured the event (1 = every request). */
  tapSampleRate?: number | null;
}

export const TASKS = ['classification', 'regression', 'ranking', 'structured'] as const;
export type Task = (typeof TASKS)[number];

/** How a candidate's call ended. */
export const CANDIDATE_STATUSES = ['ok', 'error', 'timeout'] as const;
export type CandidateStatus = (typeof CANDIDATE_STATUSES)[number];

/** candidate = a model under evaluation; noise = the baseline replayed against itself (A/A). */
export type PairRole = 'candidate' | 'noise';

/**
 * Which side of a pair production served (the event's own answer); the other side was replayed.
 * baseline: the usual shadow, the baseline served and the candidate was replayed. candidate: a
 * reverse shadow, the candidate served (a canary arm, blue-green after the switch) and the
 * baseline was replayed (the experiment's `baseline.replay`). The pair's orientation is the same
 * either way: baseline_* is the baseline's answer, candidate_* the candidate's.
 */
export const PAIR_SERVED = ['baseline', 'candidate'] as const;
export type PairServed = (typeof PAIR_SERVED)[number];

/** The comparison fields of one pair, computed at write time (see domain/compare). */
export interface Comparison {
  /** The task's notion of agreement: same label / within tolerance / same top-1 / no differing path. */
  agree: boolean;
  baselineLabel: string | null;
  candidateLabel: string | null;
  /** Score for classification, prediction for regression. */
  baselineValue: number | null;
  candidateValue: number | null;
  absError: number | null;
  relError: number | null;
  withinTolerance: boolean | null;
  baselineRanking: string[];
  candidateRanking: string[];
  topkOverlap: number | null;
  jaccard: number | null;
  rbo: number | null;
  /** JSON paths whose values differ (structured task; also filled for other tasks when outputs differ). */
  diffPaths: string[];
}

/** One event x one candidate (schemas/ShadowResult.v*.avsc, ClickHouse shadow_pairs). */
export interface ShadowPair extends Comparison {
  experiment: string;
  candidate: string;
  role: PairRole;
  eventId: string;
  eventTime: number;
  arm: Arm;
  baselineModel: string;
  baselineVersion: string;
  attributes: Record<string, string>;
  task: Task;
  baselineOutput: string | null;
  candidateOutput: string | null;
  baselineLatencyMs: number;
  candidateLatencyMs: number;
  baselineStatus: EventStatus;
  candidateStatus: CandidateStatus;
  candidateError: string | null;
  /** Which side production served; the other was replayed. */
  served: PairServed;
  /** Why the baseline's answer is missing: the live error, or the replay's in a reverse pair. */
  baselineError: string | null;
  /** Epoch milliseconds; the ReplacingMergeTree version (latest replay wins). */
  replayedAt: number;
}
