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
