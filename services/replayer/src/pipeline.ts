import { createComparator, parseOutput, type ParsedOutput, type ResolvedOutputSpec } from '@umbra/core/domain';
import { isUmbraError, type RequestEvent, type ShadowPair, type CandidateStatus, type PairRole } from '@umbra/core';
import { isPending, sampled, type CandidateClient, type CandidateResult } from './candidates/index.ts';

/** The empty list most pairs hold (no ranking, no differing path); frozen since it is shared. */
const NO_PATHS = Object.freeze([]) as unknown as string[];

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
  /**
   * Replays one event against every candidate that samples it; never fails for a candidate
   * failure. The pairs come back at once when every candidate answered synchronously
   * (in-process functions), else as a promise.
   */
  replay(event: RequestEvent, onOutcome?: (o: CandidateOutcome) => void): ShadowPair[] | Promise<ShadowPair[]>;
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

  // Pairs wait in the sink until stored, so what they hold survives young-generation GCs and is
  // copied by each: the arrays most pairs have in common are shared (frozen) instead.
  const diffPathSets = new Map<string, string[]>();
  const shared = (paths: string[]): string[] => {
    if (paths.length === 0) return NO_PATHS;
    // Length-prefixed: unambiguous whatever the paths contain.
    let key = '';
    for (const path of paths) key += `${path.length}:${path}`;
    let hit = diffPathSets.get(key);
    if (hit === undefined) {
      if (diffPathSets.size >= 256) diffPathSets.clear();
      hit = Object.freeze(paths) as string[];
      diffPathSets.set(key, hit);
    }
    return hit;
  };

  /** Builds the pair; the comparison's fields are copied one by one (a spread is slower on the hot path). */
  function pairOf(
    target: ReplayTarget,
    event: RequestEvent,
    baselineParsed: ParsedOutput,
    candidateOutput: string | null,
    candidateLatencyMs: number,
    candidateStatus: CandidateStatus,
    candidateError: string | null,
  ): ShadowPair {
    const c = comparator.compareParsed(baselineParsed, parseOutput(candidateOutput));
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
      agree: c.agree,
      baselineLabel: c.baselineLabel,
      candidateLabel: c.candidateLabel,
      baselineValue: c.baselineValue,
      candidateValue: c.candidateValue,
      absError: c.absError,
      relError: c.relError,
      withinTolerance: c.withinTolerance,
      baselineRanking: c.baselineRanking.length === 0 ? NO_PATHS : c.baselineRanking,
      candidateRanking: c.candidateRanking.length === 0 ? NO_PATHS : c.candidateRanking,
      topkOverlap: c.topkOverlap,
      jaccard: c.jaccard,
      rbo: c.rbo,
      diffPaths: shared(c.diffPaths),
      replayedAt: now(),
    };
  }

  function failedPair(
    target: ReplayTarget,
    event: RequestEvent,
    baselineParsed: ParsedOutput,
    started: number,
    err: unknown,
    onOutcome: ((o: CandidateOutcome) => void) | undefined,
  ): ShadowPair {
    const latencyMs = performance.now() - started;
    const status: CandidateStatus = isUmbraError(err, 'CANDIDATE_TIMEOUT') ? 'timeout' : 'error';
    const errorCode = isUmbraError(err) ? err.code : 'CANDIDATE_FAILED';
    onOutcome?.({ candidate: target.client.name, status, latencyMs, errorCode });
    return pairOf(target, event, baselineParsed, null, latencyMs, status, `${errorCode}: ${isUmbraError(err) ? err.message : String(err)}`);
  }

  function okPair(
    target: ReplayTarget,
    event: RequestEvent,
    baselineParsed: ParsedOutput,
    result: CandidateResult,
    onOutcome: ((o: CandidateOutcome) => void) | undefined,
  ): ShadowPair {
    onOutcome?.({ candidate: target.client.name, status: 'ok', latencyMs: result.latencyMs });
    return pairOf(target, event, baselineParsed, result.output, result.latencyMs, 'ok', null);
  }

  /** The pair of one candidate: at once when the candidate answered synchronously, else a promise. */
  function one(
    target: ReplayTarget,
    event: RequestEvent,
    baselineParsed: ParsedOutput,
    onOutcome: ((o: CandidateOutcome) => void) | undefined,
  ): ShadowPair | Promise<ShadowPair> {
    const started = performance.now();
    const client = target.client;
    let r: CandidateResult | PromiseLike<CandidateResult>;
    try {
      r = client.call ? client.call(event) : client.invoke(event);
    } catch (err) {
      return failedPair(target, event, baselineParsed, started, err, onOutcome);
    }
    if (!isPending(r)) return okPair(target, event, baselineParsed, r, onOutcome);
    return Promise.resolve(r).then(
      (result) => okPair(target, event, baselineParsed, result, onOutcome),
      (err: unknown) => failedPair(target, event, baselineParsed, started, err, onOutcome),
    );
  }

  // Sampling by id only matters when some candidate samples less than everything.
  const allSampled = targets.every((t) => t.sampleRate >= 1);

  return {
    isBaselineEvent: (event) =>
      event.model.name === baseline.model && (baseline.version === undefined || event.model.version === baseline.version),
    replay(event, onOutcome) {
      const chosen = allSampled ? targets : targets.filter((t) => t.sampleRate >= 1 || sampled(event.eventId, t.sampleRate, t.client.name));
      if (chosen.length === 0) return [];
      // The baseline output is parsed once for all candidates.
      const baselineParsed = parseOutput(event.output);
      const pairs: (ShadowPair | Promise<ShadowPair>)[] = new Array(chosen.length);
      let waiting = false;
      for (let i = 0; i < chosen.length; i++) {
        const p = one(chosen[i]!, event, baselineParsed, onOutcome);
        pairs[i] = p;
        if (p instanceof Promise) waiting = true;
      }
      return waiting ? Promise.all(pairs) : (pairs as ShadowPair[]);
    },
  };
}
