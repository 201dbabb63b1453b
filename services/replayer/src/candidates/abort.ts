/*
 * Abort plumbing without an EventTarget listener on every call's signal. In Node 20 the
 * first listener on a fresh AbortSignal (ours, or undici's when handed one) costs tens of
 * microseconds of CPU per call, more than the rest of an invoke (see http.bench.ts). So:
 * signals made by `callSignal()` run their hooks directly when aborted, and any other signal
 * (a caller's long-lived shutdown signal) gets one real listener however many calls follow it.
 */

const hooks = new WeakMap<AbortSignal, Set<() => void>>();

function runHooks(fns: Set<() => void>): void {
  const pending = [...fns];
  fns.clear();
  for (const f of pending) f();
}

/** A per-call signal: a real AbortSignal (adapters may listen to it) whose `onAbort` hooks are cheap. */
export function callSignal(): { signal: AbortSignal; abort(reason: unknown): void } {
  const controller = new AbortController();
  const fns = new Set<() => void>();
  hooks.set(controller.signal, fns);
  return {
    signal: controller.signal,
    abort(reason) {
      if (controller.signal.aborted) return;
      controller.abort(reason);
      runHooks(fns);
    },
  };
}

/** Runs `fn` once when `signal` aborts (now, if it already has); returns the unsubscribe function. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  let fns = hooks.get(signal);
  if (!fns) {
    const created = new Set<() => void>();
    fns = created;
    hooks.set(signal, created);
    signal.addEventListener('abort', () => runHooks(created), { once: true });
  }
  const set = fns;
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

/** A call waiting on a shared deadline; rejected with a timeout if still pending when it passes. */
export interface PendingCall {
  reject(error: unknown): void;
}

/** How a slot's deadline ends its calls: the signal's abort reason, and each pending call's error. */
export interface DeadlineHandlers {
  abortReason(): unknown;
  timeoutError(): unknown;
}

/** One shared deadline: a timer and a signal for every call that started in the same slot. */
export class DeadlineSlot {
  readonly #call = callSignal();
  readonly #calls = new Set<PendingCall>();
  readonly #timer: NodeJS.Timeout;
  /** performance.now() until which new calls may join. */
  readonly joinUntil: number;

  constructor(openedAt: number, slotMs: number, timeoutMs: number, handlers: DeadlineHandlers) {
    this.joinUntil = openedAt + slotMs;
    this.#timer = setTimeout(() => {
      if (this.#calls.size === 0) return;
      const expired = [...this.#calls];
      this.#calls.clear();
      this.#call.abort(handlers.abortReason());
      for (const c of expired) c.reject(handlers.timeoutError());
    }, timeoutMs + slotMs);
    // Only a slot with calls pending keeps the process alive.
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.#call.signal;
  }

  add(c: PendingCall): void {
    if (this.#calls.size === 0) this.#timer.ref();
    this.#calls.add(c);
  }

  /** True when `c` was still pending (it now is not); false when its deadline already passed. */
  settle(c: PendingCall): boolean {
    if (!this.#calls.delete(c)) return false;
    if (this.#calls.size === 0) this.#timer.unref();
    return true;
  }
}

/**
 * Deadlines for calls of a fixed timeout, shared by the calls that start within the same slot
 * (1/16 of the timeout, at most 50 ms): one timer and one AbortSignal per slot instead of per
 * call, which was most of what a zero-latency call cost. A call therefore ends between
 * `timeoutMs` and `timeoutMs + slotMs` after it started, never sooner. A slot's signal aborts
 * when its deadline passes with calls pending: every call still pending in it has timed out.
 */
export class Deadlines {
  readonly slotMs: number;
  #current: DeadlineSlot | null = null;

  constructor(
    readonly timeoutMs: number,
    private readonly handlers: DeadlineHandlers,
  ) {
    this.slotMs = Math.min(50, Math.floor(timeoutMs / 16));
  }

  /** The slot a call starting now joins. */
  slot(): DeadlineSlot {
    const now = performance.now();
    const cur = this.#current;
    if (cur !== null && now < cur.joinUntil) return cur;
    const opened = new DeadlineSlot(now, this.slotMs, this.timeoutMs, this.handlers);
    this.#current = opened;
    return opened;
  }
}
