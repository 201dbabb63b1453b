import { createComparator, parseOutput, type ParsedOutput, type ResolvedOutputSpec } from '@umbra/core/domain';
import { isUmbraError, type RequestEvent, type ShadowPair, type CandidateStatus, type PairRole } from '@umbra/core';
import { sampled, type CandidateClient } from './candidates/index.ts';

export interface ReplayTarget {
  client: CandidateClient;
  role: PairRole;
  sampleRate: number;
}

export interface CandidateOutcome {
  candidate: string;
  status: CandidateStatus;
  latencyMs: number;
  errorCode?: string;
}

export interface PairMaker {
  /** Whether the experiment replays this event (it was served by the baseline). */
  isBaselineEvent(event: RequestEvent): boolean;
  /** Replays one event against every candidate that samples it; never throws for a candidate failure. */
  replay(event: RequestEvent, onOutcome?: (o: CandidateOutcome) => void): Promise<ShadowPair[]>;
}

export function createPairMaker(opts: {
  experiment: string;
  baseline: { model: string; version?: string | undefined };
  output: ResolvedOutputSpec;
  targets: ReplayTarget[];
  now?: () => number;
}): PairMaker {
  const now = opts.now ?? Date.now;
  const { baseline, output, experiment, targets } = opts;
  const comparator = createComparator(output);

  async function one(
    target: ReplayTarget,
    event: RequestEvent,
    baselineParsed: ParsedOutput,
    onOutcome?: (o: CandidateOutcome) => void,
  ): Promise<ShadowPair> {
    const started = performance.now();
    let candidateOutput: string | null = null;
    let candidateLatencyMs: number;
    let candidateStatus: CandidateStatus = 'ok';
    let candidateError: string | null = null;
    let errorCode: string | undefined;
    try {
      const result = await target.client.invoke(event);
      candidateOutput = result.output;
      candidateLatencyMs = result.latencyMs;
    } catch (err) {
      candidateLatencyMs = performance.now() - started;
      candidateStatus = isUmbraError(err, 'CANDIDATE_TIMEOUT') ? 'timeout' : 'error';
      errorCode = isUmbraError(err) ? err.code : 'CANDIDATE_FAILED';
      candidateError = `${errorCode}: ${isUmbraError(err) ? err.message : String(err)}`;
    }
    onOutcome?.({ candidate: target.client.name, status: candidateStatus, latencyMs: candidateLatencyMs, ...(errorCode ? { errorCode } : {}) });
    const comparison = comparator.compareParsed(baselineParsed, parseOutput(candidateOutput));
    return {
      experiment,
      candidate: target.client.name,
      role: target.role,
      eventId: event.eventId,
      eventTime: event.eventTime,
      arm: event.arm,
      baselineModel: event.model.name,
      baselineVersion: event.model.version,
      attributes: event.attributes,
      task: output.task,
      baselineOutput: event.output,
      candidateOutput,
      baselineLatencyMs: event.latencyMs,
      candidateLatencyMs,
      baselineStatus: event.status,
      candidateStatus,
      candidateError,
      ...comparison,
      replayedAt: now(),
    };
  }

  return {
    isBaselineEvent: (event) =>
      event.model.name === baseline.model && (baseline.version === undefined || event.model.version === baseline.version),
    async replay(event, onOutcome) {
      const chosen = targets.filter((t) => t.sampleRate >= 1 || sampled(event.eventId, t.sampleRate, t.client.name));
      if (chosen.length === 0) return [];
      // The baseline output is parsed once for all candidates.
      const baselineParsed = parseOutput(event.output);
      return Promise.all(chosen.map((t) => one(t, event, baselineParsed, onOutcome)));
    },
  };
}
