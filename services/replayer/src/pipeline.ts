import { createComparator, parseOutput, type ParsedOutput, type ResolvedOutputSpec } from '@umbra/core/domain';
import { isUmbraError, type RequestEvent, type ShadowPair, type CandidateStatus, type PairRole, type PairServed } from '@umbra/core';
import { isPending, sampled, type CandidateClient, type CandidateResult } from './candidates/index.ts';

/** The empty list most pairs hold (no ranking, no differing path); frozen since it is shared. */
const NO_PATHS = Object.freeze([]) as unknown as string[];

export interface ReplayTarget {
  client: CandidateClient;
  role: PairRole;
  sampleRate: number;
  /**
   * The model behind a candidate as events name it. Events that model served (a canary arm,
   * blue-green after the switch) are replayed against the baseline (reverse shadow) when the
   * experiment has a baseline replay client.
   */
  model?: { name: string; version?: string | undefined } | undefined;
}

export interface CandidateOutcome {
  candidate: string;
  status: CandidateStatus;
  latencyMs: number;
  errorCode?: string;
}

export interface PairMaker {
  /**
   * Whether the experiment replays this event: the baseline served it (replayed against the
   * candidates), or a candidate with a `model` did and the baseline can be replayed (reverse).
   */
  replays(event: RequestEvent): boolean;
  /**
   * Replays one event: a baseline-served event against every candidate that samples it, a
   * candidate-served event against the baseline (one pair for that candidate, served
   * 'candidate'). Never fails for a replay failure. The pairs come back at once when every
   * call answered synchronously (in-process functions), else as a promise.
   */
  replay(event: RequestEvent, onOutcome?: (o: CandidateOutcome) => void): ShadowPair[] | Promise<ShadowPair[]>;
}

export function createPairMaker(opts: {
  experiment: string;
  baseline: { model: string; version?: string | undefined };
  output: ResolvedOutputSpec;
  targets: ReplayTarget[];
  /** Calls the baseline model (the experiment's `baseline.replay`); enables the reverse shadow. */
  baselineClient?: CandidateClient | undefined;
  now?: () => number;
}): PairMaker {
  const now = opts.now ?? Date.now;
  const { baseline, output, experiment, targets, baselineClient } = opts;
  const baselineVersion = baseline.version ?? '';
  // Candidates that name their model: the events they served are theirs, not the baseline's
  // (even under a baseline named without a version), replayed against the baseline if it can be.
  const modelTargets = targets.filter((t) => t.role === 'candidate' && t.model !== undefined);
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

  /**
   * Builds the pair from the live side (the event: production's answer) and the replayed one.
   * `served` says which is which: 'baseline' = the usual shadow (the candidate was replayed),
   * 'candidate' = reverse (the baseline was replayed). The comparison's fields are copied one by
   * one (a spread is slower on the hot path).
   */
  function pairOf(
    target: ReplayTarget,
    event: RequestEvent,
    served: PairServed,
    liveParsed: ParsedOutput,
    replayOutput: string | null,
    replayLatencyMs: number,
    replayStatus: CandidateStatus,
    replayError: string | null,
  ): ShadowPair {
    const forward = served === 'baseline';
    const replayParsed = parseOutput(replayOutput);
    const c = forward ? comparator.compareParsed(liveParsed, replayParsed) : comparator.compareParsed(replayParsed, liveParsed);
    return {
      experiment,
      candidate: target.client.name,
      role: target.role,
      eventId: event.eventId,
      eventTime: event.eventTime,
      arm: event.arm,
      baselineModel: forward ? event.model.name : baseline.model,
      baselineVersion: forward ? event.model.version : baselineVersion,
      attributes: event.attributes,
      task: output.task,
      baselineOutput: forward ? event.output : replayOutput,
      candidateOutput: forward ? replayOutput : event.output,
      baselineLatencyMs: forward ? event.latencyMs : replayLatencyMs,
      candidateLatencyMs: forward ? replayLatencyMs : event.latencyMs,
      // A replayed baseline that timed out did not answer: 'error', the reason in baselineError.
      baselineStatus: forward ? event.status : replayStatus === 'ok' ? 'ok' : 'error',
      candidateStatus: forward ? replayStatus : event.status,
      candidateError: forward ? replayError : event.errorMessage,
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
      served,
      baselineError: forward ? event.errorMessage : replayError,
    };
  }

  function failedPair(
    target: ReplayTarget,
    client: CandidateClient,
    event: RequestEvent,
    served: PairServed,
    liveParsed: ParsedOutput,
    started: number,
    err: unknown,
    onOutcome: ((o: CandidateOutcome) => void) | undefined,
  ): ShadowPair {
    const latencyMs = performance.now() - started;
    const status: CandidateStatus = isUmbraError(err, 'CANDIDATE_TIMEOUT') ? 'timeout' : 'error';
    const errorCode = isUmbraError(err) ? err.code : 'CANDIDATE_FAILED';
    onOutcome?.({ candidate: client.name, status, latencyMs, errorCode });
    return pairOf(target, event, served, liveParsed, null, latencyMs, status, `${errorCode}: ${isUmbraError(err) ? err.message : String(err)}`);
  }

  function okPair(
    target: ReplayTarget,
    client: CandidateClient,
    event: RequestEvent,
    served: PairServed,
    liveParsed: ParsedOutput,
    result: CandidateResult,
    onOutcome: ((o: CandidateOutcome) => void) | undefined,
  ): ShadowPair {
    onOutcome?.({ candidate: client.name, status: 'ok', latencyMs: result.latencyMs });
    return pairOf(target, event, served, liveParsed, result.output, result.latencyMs, 'ok', null);
  }

  /**
   * The pair of one target: `client` replays the event (the target's own client, or the
   * baseline's in a reverse pair). At once when the call answered synchronously, else a promise.
   */
  function one(
    target: ReplayTarget,
    client: CandidateClient,
    event: RequestEvent,
    served: PairServed,
    liveParsed: ParsedOutput,
    onOutcome: ((o: CandidateOutcome) => void) | undefined,
  ): ShadowPair | Promise<ShadowPair> {
    const started = performance.now();
    let r: CandidateResult | PromiseLike<CandidateResult>;
    try {
      r = client.call ? client.call(event) : client.invoke(event);
    } catch (err) {
      return failedPair(target, client, event, served, liveParsed, started, err, onOutcome);
    }
    if (!isPending(r)) return okPair(target, client, event, served, liveParsed, r, onOutcome);
    return Promise.resolve(r).then(
      (result) => okPair(target, client, event, served, liveParsed, result, onOutcome),
      (err: unknown) => failedPair(target, client, event, served, liveParsed, started, err, onOutcome),
    );
  }

  const isBaselineEvent = (event: RequestEvent): boolean =>
    event.model.name === baseline.model && (baseline.version === undefined || event.model.version === baseline.version);

  /** The candidate that served the event, if one did. */
  const servedBy = (event: RequestEvent): ReplayTarget | undefined => {
    for (const t of modelTargets) {
      const m = t.model!;
      if (event.model.name === m.name && (m.version === undefined || event.model.version === m.version)) return t;
    }
    return undefined;
  };

  const samples = (t: ReplayTarget, eventId: string): boolean => t.sampleRate >= 1 || sampled(eventId, t.sampleRate, t.client.name);

  // Sampling by id only matters when some candidate samples less than everything.
  const allSampled = targets.every((t) => t.sampleRate >= 1);

  return {
    replays(event) {
      if (servedBy(event) !== undefined) return baselineClient !== undefined;
      return isBaselineEvent(event);
    },
    replay(event, onOutcome) {
      const t = servedBy(event);
      if (t !== undefined) {
        // Reverse shadow: the candidate served; the baseline is replayed for the pair.
        if (baselineClient === undefined || !samples(t, event.eventId)) return [];
        const p = one(t, baselineClient, event, 'candidate', parseOutput(event.output), onOutcome);
        return p instanceof Promise ? p.then((pair) => [pair]) : [p];
      }
      if (!isBaselineEvent(event)) return [];
      const chosen = allSampled ? targets : targets.filter((t) => samples(t, event.eventId));
      if (chosen.length === 0) return [];
      // The baseline output is parsed once for all candidates.
      const baselineParsed = parseOutput(event.output);
      const pairs: (ShadowPair | Promise<ShadowPair>)[] = new Array(chosen.length);
      let waiting = false;
      for (let i = 0; i < chosen.length; i++) {
        const t = chosen[i]!;
        const p = one(t, t.client, event, 'baseline', baselineParsed, onOutcome);
        pairs[i] = p;
        if (p instanceof Promise) waiting = true;
      }
      return waiting ? Promise.all(pairs) : (pairs as ShadowPair[]);
    },
  };
}
