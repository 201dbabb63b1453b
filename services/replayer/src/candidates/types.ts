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
  /**
   * Optional fast path with the outcome of `invoke`: the result itself when the candidate
   * answered synchronously (an in-process function that returned a value), else a promise.
   * Failures may be thrown synchronously. Saves the promise chain of every wrapper for
   * candidates that answer at once.
   */
  call?(event: RequestEvent, signal?: AbortSignal): CandidateResult | Promise<CandidateResult>;
  close(): Promise<void>;
}

/** Whether a `call` result is still pending (a promise or another thenable). */
export function isPending<T>(r: T | PromiseLike<T>): r is PromiseLike<T> {
  return typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function';
}
