import { setTimeout as sleep } from 'node:timers/promises';
import { UmbraError, isUmbraError, type RequestEvent } from '@umbra/core';
import { callSignal, Deadlines, onAbort, type DeadlineSlot, type PendingCall } from './abort.ts';
import { isPending, type CandidateClient, type CandidateResult } from './types.ts';

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
 * Ends each call after `timeoutMs` with CANDIDATE_TIMEOUT. The inner call gets a signal that
 * aborts when it times out, so an HTTP request is cancelled and its socket released; an adapter
 * that ignores the signal (a module function) is left to finish in the background, its result
 * dropped.
 *
 * Calls starting within the same slot share one deadline (see `Deadlines`): one timer and one
 * signal per slot rather than per call, so a call may end up to `timeoutMs / 16` (at most 50 ms)
 * after `timeoutMs`, never before. A call made with a caller's signal gets a signal of its own,
 * since the caller may abort it alone.
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
  const deadlines = new Deadlines(timeoutMs, { abortReason: () => timeoutError(undefined), timeoutError: () => timeoutError(undefined) });

  /** Ends `attempt` at the slot's deadline unless it settles first. */
  function bounded(slot: DeadlineSlot, attempt: PromiseLike<CandidateResult>): Promise<CandidateResult> {
    return new Promise<CandidateResult>((resolve, reject) => {
      const pending: PendingCall = { reject };
      slot.add(pending);
      attempt.then(
        (result) => {
          if (slot.settle(pending)) resolve(result);
        },
        (e: unknown) => {
          if (slot.settle(pending)) reject(isUmbraError(e, 'CANDIDATE_TIMEOUT') ? timeoutError(e) : e);
        },
      );
    });
  }

  /** The common case: no caller signal, the call joins the current deadline slot. */
  function shared(event: RequestEvent): Promise<CandidateResult> {
    const slot = deadlines.slot();
    let attempt: Promise<CandidateResult>;
    try {
      attempt = inner.invoke(event, slot.signal);
    } catch (e) {
      attempt = Promise.reject(e);
    }
    return bounded(slot, attempt);
  }

  /**
   * The fast path: a candidate that answers synchronously cannot be timed out (it holds the
   * thread), so its result passes straight through; a pending one is bounded as in `shared`.
   */
  const innerCall = inner.call?.bind(inner);
  const call = innerCall
    ? (event: RequestEvent, signal?: AbortSignal): CandidateResult | Promise<CandidateResult> => {
        if (signal !== undefined) return signal.aborted ? Promise.reject(abortedError(signal.reason)) : following(event, signal);
        const slot = deadlines.slot();
        let r: CandidateResult | PromiseLike<CandidateResult>;
        try {
          r = innerCall(event, slot.signal);
        } catch (e) {
          throw isUmbraError(e, 'CANDIDATE_TIMEOUT') ? timeoutError(e) : e;
        }
        return isPending(r) ? bounded(slot, r) : r;
      }
    : undefined;

  /** With a caller's signal: a signal and timer of this call's own, following the caller's. */
  async function following(event: RequestEvent, signal: AbortSignal): Promise<CandidateResult> {
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
    const unfollow = onAbort(signal, () => {
      call.abort(signal.reason);
      end(abortedError(signal.reason));
    });
    let attempt: Promise<CandidateResult> | undefined;
    try {
      attempt = inner.invoke(event, call.signal);
      return await Promise.race([attempt, ended]);
    } catch (e) {
      if (timedOut || isUmbraError(e, 'CANDIDATE_TIMEOUT')) throw timeoutError(e);
      if (signal.aborted) throw isUmbraError(e, 'CANDIDATE_ABORTED') ? e : abortedError(e);
      throw e;
    } finally {
      clearTimeout(timer);
      unfollow();
      attempt?.catch(() => {});
      ended.catch(() => {});
    }
  }

  return {
    name: inner.name,
    close: () => inner.close(),
    invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      if (signal === undefined) return shared(event);
      if (signal.aborted) return Promise.reject(abortedError(signal.reason));
      return following(event, signal);
    },
    ...(call ? { call } : {}),
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

  /** After the first try failed with `first`: retry while the error allows it. */
  async function retrying(event: RequestEvent, signal: AbortSignal | undefined, first: unknown): Promise<CandidateResult> {
    let e = first;
    for (let tries = 1; ; tries++) {
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
      try {
        return await inner.invoke(event, signal);
      } catch (next) {
        e = next;
      }
    }
  }

  const innerCall = inner.call?.bind(inner);
  const call = innerCall
    ? (event: RequestEvent, signal?: AbortSignal): CandidateResult | Promise<CandidateResult> => {
        let r: CandidateResult | PromiseLike<CandidateResult>;
        try {
          r = innerCall(event, signal);
        } catch (e) {
          return retrying(event, signal, e);
        }
        return isPending(r) ? Promise.resolve(r).catch((e: unknown) => retrying(event, signal, e)) : r;
      }
    : undefined;

  return {
    name: inner.name,
    close: () => inner.close(),
    // The first try adds no async frame of its own: most calls succeed.
    invoke: (event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> =>
      inner.invoke(event, signal).catch((e: unknown) => retrying(event, signal, e)),
    ...(call ? { call } : {}),
  };
}

/** A client that bounds its calls in flight; further invokes wait in FIFO order. */
export interface LimitedCandidateClient extends CandidateClient {
  /** Calls holding a slot. */
  readonly inFlight: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

/** A call waiting for a slot; it starts the inner call itself when one frees. */
interface Waiter {
  event: RequestEvent;
  signal: AbortSignal | undefined;
  resolve: (r: CandidateResult) => void;
  reject: (e: unknown) => void;
  /** Left the queue (its caller aborted); skipped when its turn comes. */
  gone: boolean;
  unfollow: (() => void) | undefined;
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
  // FIFO: an array read from `head`, compacted now and then (Array#shift on a deep queue cost
  // ~18 µs per call at 20 000 queued). An aborted waiter is marked gone and skipped.
  let queue: Waiter[] = [];
  let head = 0;
  let queued = 0;

  const release = (): void => {
    while (head < queue.length) {
      const next = queue[head]!;
      queue[head++] = undefined as unknown as Waiter;
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      if (next.gone) continue;
      queued--;
      next.unfollow?.();
      // The slot passes straight to the next waiter, so `active` stays the same.
      start(next.event, next.signal).then(next.resolve, next.reject);
      return;
    }
    active--;
  };

  /** Runs the inner call in a slot that is already counted; frees it when the call settles. */
  const start = (event: RequestEvent, signal: AbortSignal | undefined): Promise<CandidateResult> => {
    let call: Promise<CandidateResult>;
    try {
      call = inner.invoke(event, signal);
    } catch (e) {
      call = Promise.reject(e);
    }
    // Registered before the caller's reactions, so the slot is free when the caller resumes.
    call.then(release, release);
    return call;
  };

  const enqueue = (event: RequestEvent, signal: AbortSignal | undefined): Promise<CandidateResult> =>
    new Promise<CandidateResult>((resolve, reject) => {
      const waiter: Waiter = { event, signal, resolve, reject, gone: false, unfollow: undefined };
      if (signal) {
        waiter.unfollow = onAbort(signal, () => {
          if (waiter.gone) return;
          waiter.gone = true;
          queued--;
          reject(abortedError(signal.reason));
        });
      }
      queue.push(waiter);
      queued++;
    });

  /** Takes a free slot for a call that may answer synchronously; queued calls take the promise path. */
  const innerCall = inner.call?.bind(inner);
  const call = innerCall
    ? (event: RequestEvent, signal?: AbortSignal): CandidateResult | Promise<CandidateResult> => {
        if (closed) return Promise.reject(abortedError(undefined, 'closed'));
        if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
        if (active >= limit) return enqueue(event, signal);
        active++;
        let r: CandidateResult | PromiseLike<CandidateResult>;
        try {
          r = innerCall(event, signal);
        } catch (e) {
          release();
          throw e;
        }
        if (!isPending(r)) {
          release();
          return r;
        }
        const p = Promise.resolve(r);
        p.then(release, release);
        return p;
      }
    : undefined;

  return {
    name: inner.name,
    ...(call ? { call } : {}),
    get inFlight() {
      return active;
    },
    get queued() {
      return queued;
    },
    invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      if (closed) return Promise.reject(abortedError(undefined, 'closed'));
      if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
      // Taken synchronously when free, so counts are exact right after invoke() returns.
      if (active < limit) {
        active++;
        return start(event, signal);
      }
      return enqueue(event, signal);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const waiting = queue.slice(head);
      queue = [];
      head = 0;
      queued = 0;
      for (const w of waiting) {
        if (w.gone) continue;
        w.gone = true;
        w.unfollow?.();
        w.reject(abortedError(undefined, 'closed'));
      }
      await inner.close();
    },
  };
}
