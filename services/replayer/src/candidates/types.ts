import type { RequestEvent } from '@umbra/core';

/** What a candidate answered for one event. */
export interface CandidateResult {
  /** The candidate's output, JSON-encoded. */
  output: string;
  /**
   * Milliseconds of the attempt that succeeded, measured with `performance.now()` around the
   * call to the candidate (HTTP: request sent until the body is read). Queue wait for a
   * concurrency slot and earlier failed attempts are not included.
   */
  latencyMs: number;
}

/**
 * A candidate model that can be replayed. `invoke` resolves with the output or throws an
 * `UmbraError` whose code says how the call ended: CANDIDATE_TIMEOUT, CANDIDATE_HTTP_ERROR,
 * CANDIDATE_REFUSED, CANDIDATE_BAD_OUTPUT, CANDIDATE_BAD_INPUT, CANDIDATE_FAILED, or
 * CANDIDATE_ABORTED when the caller's signal fired or the client was closed.
 */
export interface CandidateClient {
  readonly name: string;
  invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult>;
  close(): Promise<void>;
}
