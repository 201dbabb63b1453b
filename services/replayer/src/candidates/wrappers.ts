import { setTimeout as sleep } from 'node:timers/promises';
import { UmbraError, isUmbraError, type RequestEvent } from '@umbra/core';
import { callSignal, onAbort } from './abort.ts';
import type { CandidateClient, CandidateResult } from './types.ts';

/*
 * Behaviour added by wrapping a CandidateClient, composed by the factory as
 *   withConcurrencyLimit(withRetry(withTimeout(adapter)))
 * so the timeout bounds each attempt, retries hold their concurrency slot (the candidate sees
 * at most `limit` calls, backoff included), and queue wait counts against no timeout.
 */

export function abortedError(cause: unknown, reason: 'signal' | 'closed' = 'signal'): UmbraError {
  return new UmbraError('CANDIDATE_ABORTED', reason === 'closed' ? 'candidate client closed' : 'replay aborted by the caller', {
    context: { reason },
    cause,
  });
}

export interface TimeoutOptions {
  timeoutMs: number;
  /** Whether the CANDIDATE_TIMEOUT error is retriable (replay default: false, the timeout is recorded). */
  retriable?: boolean;
}

/**
 * Ends each call after `timeoutMs` with CANDIDATE_TIMEOUT. The inner call gets an aborted
 * signal, so an HTTP request is cancelled and its socket released; an adapter that ignores
 * the signal (a module function) is left to finish in the background, its result dropped.
 */
export function withTimeout(inner: CandidateClient, opts: TimeoutOptions): CandidateClient {
  const { timeoutMs } = opts;
  const retriable = opts.retriable ?? false;
  const timeoutError = (cause: unknown): UmbraError =>
    new UmbraError('CANDIDATE_TIMEOUT', `candidate ${inner.name} did not answer within ${timeoutMs} ms`, {
      retriable,
      context: { candidate: inner.name, timeoutMs },
      cause,
    });

  return {
    name: inner.name,
    close: () => inner.close(),
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      if (signal?.aborted) throw abortedError(signal.reason);
      const call = callSignal();
      let timedOut = false;
      let end!: (reason: unknown) => void;
      // Settles when the call must end, for adapters that cannot be cancelled.
      const ended = new Promise<never>((_, reject) => (end = reject));
      const timer = setTimeout(() => {
        timedOut = true;
        const err = timeoutError(undefined);
        call.abort(err);
        end(err);
      }, timeoutMs);
      const unfollow = signal
        ? onAbort(signal, () => {
            call.abort(signal.reason);
            end(abortedError(signal.reason));
          })
        : undefined;
      let attempt: Promise<CandidateResult> | undefined;
      try {
        attempt = inner.invoke(event, call.signal);
        return await Promise.race([attempt, ended]);
      } catch (e) {
        if (timedOut || isUmbraError(e, 'CANDIDATE_TIMEOUT')) throw timeoutError(e);
        if (signal?.aborted) throw isUmbraError(e, 'CANDIDATE_ABORTED') ? e : abortedError(e);
        throw e;
      } finally {
        clearTimeout(timer);
        unfollow?.();
        attempt?.catch(() => {});
        ended.catch(() => {});
      }
    },
  };
}

export interface RetryInfo {
  candidate: string;
  eventId: string;
  /** The retry about to run, 1-based. */
  retry: number;
  delayMs: number;
  error: UmbraError;
}

export interface RetryOptions {
  /** Retries after the first try: total tries = 1 + attempts. */
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** For tests; defaults to Math.random. */
  random?: () => number;
  /** Called before each retry's backoff, for metrics and logs. */
  onRetry?: (info: RetryInfo) => void;
}

/**
 * The delay before retry n (1-based): exponential, capped, with jitter in [50%, 100%] of the
 * step so replicas that failed together do not retry together. A server's Retry-After
 * (context.retryAfterMs) raises it, up to maxBackoffMs.
 */
export function backoffDelay(retry: number, opts: RetryOptions, error?: UmbraError): number {
  const step = Math.min(opts.maxBackoffMs, opts.backoffMs * 2 ** (retry - 1));
  const jittered = step / 2 + (opts.random ?? Math.random)() * (step / 2);
  const after = error?.context.retryAfterMs;
  const floor = typeof after === 'number' ? Math.min(after, opts.maxBackoffMs) : 0;
  return Math.round(Math.max(jittered, floor));
}

/**
 * Retries calls that failed with a retriable UmbraError (refused/reset connections, 5xx, 429;
 * timeouts only when the timeout wrapper marks them retriable). The error that ends the call
 * carries `attempts` (tries made) in its context.
 */
export function withRetry(inner: CandidateClient, opts: RetryOptions): CandidateClient {
  const withAttempts = (e: UmbraError, tries: number): UmbraError =>
    new UmbraError(e.code, e.message, { retriable: e.retriable, context: { ...e.context, attempts: tries }, cause: e.cause ?? e });

  return {
    name: inner.name,
    close: () => inner.close(),
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      for (let tries = 1; ; tries++) {
        try {
          return await inner.invoke(event, signal);
        } catch (e) {
          if (!(e instanceof UmbraError)) throw e;
          if (!e.retriable || tries > opts.attempts) throw withAttempts(e, tries);
          // A retry was due, so the call ends because of the caller, not the candidate.
          if (signal?.aborted) throw abortedError(signal.reason);
          const delayMs = backoffDelay(tries, opts, e);
          opts.onRetry?.({ candidate: inner.name, eventId: event.eventId, retry: tries, delayMs, error: e });
          try {
            await sleep(delayMs, undefined, signal ? { signal } : undefined);
          } catch (abort) {
            throw abortedError(abort);
          }
        }
      }
    },
  };
}

/** A client that bounds its calls in flight; further invokes wait in FIFO order. */
export interface LimitedCandidateClient extends CandidateClient {
  /** Calls holding a slot. */
  readonly inFlight: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * At most `limit` calls in flight. Callers await a slot; a caller whose signal fires while
 * queued leaves the queue with CANDIDATE_ABORTED. close() rejects queued calls, lets calls in
 * flight finish, then closes the inner client.
 */
export function withConcurrencyLimit(inner: CandidateClient, opts: { limit: number }): LimitedCandidateClient {
  const { limit } = opts;
  let active = 0;
  let closed = false;
  // A Set keeps FIFO order with O(1) removal from the front and from the middle (an abort);
  // Array#shift on a deep queue cost ~18 µs per call at 20 000 queued.
  const waiters = new Set<Waiter>();

  const release = (): void => {
    const next = waiters.values().next().value;
    if (next) waiters.delete(next);
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next) next.resolve();
    else active--;
  };

  const enqueue = (signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const unfollow = signal
        ? onAbort(signal, () => {
            waiters.delete(waiter);
            reject(abortedError(signal.reason));
          })
        : undefined;
      const waiter: Waiter = {
        resolve: () => {
          unfollow?.();
          resolve();
        },
        reject: (e) => {
          unfollow?.();
          reject(e);
        },
      };
      waiters.add(waiter);
    });

  return {
    name: inner.name,
    get inFlight() {
      return active;
    },
    get queued() {
      return waiters.size;
    },
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      if (closed) throw abortedError(undefined, 'closed');
      if (signal?.aborted) throw abortedError(signal.reason);
      // Taken synchronously when free, so counts are exact right after invoke() returns.
      if (active < limit) active++;
      else await enqueue(signal);
      try {
        return await inner.invoke(event, signal);
      } finally {
        release();
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const queued = [...waiters];
      waiters.clear();
      for (const w of queued) w.reject(abortedError(undefined, 'closed'));
      await inner.close();
    },
  };
}
