import { describe, expect, it } from 'vitest';
import { UmbraError, isUmbraError, type RequestEvent } from '@umbra/core';
import { makeEvent } from './fixtures/servers.ts';
import type { CandidateClient, CandidateResult } from './types.ts';
import { backoffDelay, withConcurrencyLimit, withRetry, withTimeout } from './wrappers.ts';

/** An in-memory candidate whose answers the test scripts, one per call. */
function scripted(answers: (() => Promise<CandidateResult>)[]): CandidateClient & { calls: number; signals: (AbortSignal | undefined)[] } {
  const c = {
    name: 'scripted',
    calls: 0,
    signals: [] as (AbortSignal | undefined)[],
    invoke(_e: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      c.signals.push(signal);
      const answer = answers[Math.min(c.calls++, answers.length - 1)];
      return answer ? answer() : Promise.reject(new Error('no answer'));
    },
    close: async () => {},
  };
  return c;
}

const ok = (): Promise<CandidateResult> => Promise.resolve({ output: '1', latencyMs: 1 });
const fail = (retriable: boolean) => (): Promise<CandidateResult> =>
  Promise.reject(new UmbraError('CANDIDATE_REFUSED', 'refused', { retriable }));
const never = (): Promise<CandidateResult> => new Promise(() => {});

async function failure(p: Promise<unknown>): Promise<UmbraError> {
  try {
    await p;
  } catch (e) {
    if (isUmbraError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const event = makeEvent({});

describe('withRetry', () => {
  const opts = { attempts: 2, backoffMs: 1, maxBackoffMs: 2 };

  it('retries retriable errors up to 1 + attempts tries', async () => {
    const inner = scripted([fail(true)]);
    const err = await failure(withRetry(inner, opts).invoke(event));
    expect([err.code, err.context.attempts, inner.calls]).toEqual(['CANDIDATE_REFUSED', 3, 3]);
  });

  it('stops on the first success and never retries non-retriable errors', async () => {
    const recovering = scripted([fail(true), ok]);
    expect((await withRetry(recovering, opts).invoke(event)).output).toBe('1');
    expect(recovering.calls).toBe(2);

    const fatal = scripted([fail(false)]);
    await failure(withRetry(fatal, opts).invoke(event));
    expect(fatal.calls).toBe(1);
  });

  it('backs off exponentially with jitter, capped, and honours Retry-After up to the cap', () => {
    const o = { attempts: 5, backoffMs: 100, maxBackoffMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...o, random: () => 1 }))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, { ...o, random: () => 0 }))).toEqual([50, 100, 200]);
    const busy = new UmbraError('CANDIDATE_HTTP_ERROR', '429', { retriable: true, context: { retryAfterMs: 5000 } });
    expect(backoffDelay(1, { ...o, random: () => 0 }, busy)).toBe(1000);
  });

  it('ends the backoff with CANDIDATE_ABORTED when the caller aborts', async () => {
    const inner = scripted([fail(true)]);
    const controller = new AbortController();
    const retrying = withRetry(inner, { attempts: 3, backoffMs: 60_000, maxBackoffMs: 60_000, onRetry: () => controller.abort() });
    expect((await failure(retrying.invoke(event, controller.signal))).code).toBe('CANDIDATE_ABORTED');
    expect(inner.calls).toBe(1);
  });
});

describe('withTimeout', () => {
  it('ends a call that ignores its signal, and aborts the signal it passed', async () => {
    const inner = scripted([never]);
    const err = await failure(withTimeout(inner, { timeoutMs: 20 }).invoke(event));
    expect([err.code, err.retriable]).toEqual(['CANDIDATE_TIMEOUT', false]);
    expect(inner.signals[0]?.aborted).toBe(true);
  });

  it('marks timeouts retriable when asked, and reports a caller abort as CANDIDATE_ABORTED', async () => {
    expect((await failure(withTimeout(scripted([never]), { timeoutMs: 10, retriable: true }).invoke(event))).retriable).toBe(true);

    const controller = new AbortController();
    const call = failure(withTimeout(scripted([never]), { timeoutMs: 60_000 }).invoke(event, controller.signal));
    controller.abort();
    expect((await call).code).toBe('CANDIDATE_ABORTED');
  });

  it('passes results and other errors through', async () => {
    expect((await withTimeout(scripted([ok]), { timeoutMs: 1000 }).invoke(event)).output).toBe('1');
    expect((await failure(withTimeout(scripted([fail(true)]), { timeoutMs: 1000 }).invoke(event))).code).toBe('CANDIDATE_REFUSED');
  });
});

describe('withConcurrencyLimit', () => {
  it('admits in FIFO order and counts in-flight and queued calls', async () => {
    const releases: (() => void)[] = [];
    const order: number[] = [];
    let n = 0;
    const inner: CandidateClient = {
      name: 'gated',
      invoke: () => {
        const id = n++;
        order.push(id);
        return new Promise((resolve) => releases.push(() => resolve({ output: String(id), latencyMs: 0 })));
      },
      close: async () => {},
    };
    const limited = withConcurrencyLimit(inner, { limit: 2 });

    const calls = Array.from({ length: 5 }, () => limited.invoke(event));
    expect([limited.inFlight, limited.queued]).toEqual([2, 3]);
    while (releases.length > 0 || limited.inFlight > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
      expect(limited.inFlight).toBeLessThanOrEqual(2);
    }
    expect((await Promise.all(calls)).map((r) => r.output)).toEqual(['0', '1', '2', '3', '4']);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect([limited.inFlight, limited.queued]).toEqual([0, 0]);
  });

  it('releases the slot when a call fails', async () => {
    const limited = withConcurrencyLimit(scripted([fail(false), ok]), { limit: 1 });
    await failure(limited.invoke(event));
    expect((await limited.invoke(event)).output).toBe('1');
    expect(limited.inFlight).toBe(0);
  });
});

describe('the synchronous fast path (call)', () => {
  /** A candidate that answers at once through `call`, or throws the scripted error. */
  function immediate(fail?: () => Error): CandidateClient & { calls: number } {
    const c = {
      name: 'immediate',
      calls: 0,
      call(): CandidateResult {
        c.calls++;
        if (fail) throw fail();
        return { output: '1', latencyMs: 0 };
      },
      invoke: async (): Promise<CandidateResult> => c.call(),
      close: async () => {},
    };
    return c;
  }
  const stack = (inner: CandidateClient, limit = 2) =>
    withConcurrencyLimit(withRetry(withTimeout(inner, { timeoutMs: 1000 }), { attempts: 2, backoffMs: 1, maxBackoffMs: 2 }), { limit });

  it('returns a synchronous answer as a value through every wrapper, freeing the slot at once', () => {
    const client = stack(immediate());
    const r = client.call!(event);
    expect(r).toEqual({ output: '1', latencyMs: 0 });
    expect(client.inFlight).toBe(0);
  });

  it('retries a retriable synchronous failure, and keeps errors and their attempts as invoke does', async () => {
    const refusing = immediate(() => new UmbraError('CANDIDATE_REFUSED', 'refused', { retriable: true }));
    const err = await failure(Promise.resolve().then(() => stack(refusing).call!(event)));
    expect([err.code, err.context.attempts, refusing.calls]).toEqual(['CANDIDATE_REFUSED', 3, 3]);

    const broken = immediate(() => new UmbraError('CANDIDATE_FAILED', 'threw'));
    const limited = stack(broken);
    const thrown = await failure(Promise.resolve().then(() => limited.call!(event)));
    expect([thrown.code, thrown.context.attempts, broken.calls, limited.inFlight]).toEqual(['CANDIDATE_FAILED', 1, 1, 0]);
  });

  it('bounds a pending answer by the timeout, and queues calls over the limit', async () => {
    const hanging: CandidateClient = { name: 'hanging', call: () => never(), invoke: never, close: async () => {} };
    const client = withConcurrencyLimit(withTimeout(hanging, { timeoutMs: 20 }), { limit: 1 });
    const first = client.call!(event);
    const second = client.call!(event);
    expect([client.inFlight, client.queued]).toEqual([1, 1]);
    expect((await failure(Promise.resolve(first))).code).toBe('CANDIDATE_TIMEOUT');
    expect((await failure(Promise.resolve(second))).code).toBe('CANDIDATE_TIMEOUT');
    expect([client.inFlight, client.queued]).toEqual([0, 0]);
  });

  it('has no fast path over an adapter without one', () => {
    expect(stack(scripted([ok])).call).toBeUndefined();
  });
});

describe('withTimeout deadlines shared by calls', () => {
  it('times out every call of a slot, each with its own error, and aborts the signal they got', async () => {
    const inner = scripted([never]);
    const client = withTimeout(inner, { timeoutMs: 40 });
    const errors = await Promise.all(Array.from({ length: 5 }, () => failure(client.invoke(event))));
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('CANDIDATE_TIMEOUT'));
    expect(new Set(errors).size).toBe(5);
    expect(inner.signals.every((s) => s?.aborted)).toBe(true);
  });

  it('leaves the shared signal alone when every call of its slot answered', async () => {
    const inner = scripted([ok]);
    const client = withTimeout(inner, { timeoutMs: 20 });
    await Promise.all([client.invoke(event), client.invoke(event)]);
    await new Promise((r) => setTimeout(r, 40));
    expect(inner.signals.some((s) => s?.aborted)).toBe(false);
  });
});
