import { describe, expect, it } from 'vitest';
import { callSignal, onAbort } from './abort.ts';

describe('abort hooks', () => {
  it('runs hooks of a call signal once, and the signal is a real AbortSignal', () => {
    const call = callSignal();
    const seen: string[] = [];
    call.signal.addEventListener('abort', () => seen.push('event'));
    onAbort(call.signal, () => seen.push('hook'));
    const off = onAbort(call.signal, () => seen.push('removed'));
    off();
    call.abort('why');
    call.abort('again');
    expect(seen.sort()).toEqual(['event', 'hook']);
    expect(call.signal.reason).toBe('why');
  });

  it('follows a foreign signal for many calls, and runs a hook at once on an aborted signal', () => {
    const shutdown = new AbortController();
    let runs = 0;
    const offs = Array.from({ length: 100 }, () => onAbort(shutdown.signal, () => runs++));
    offs.slice(0, 40).forEach((off) => off());
    shutdown.abort();
    expect(runs).toBe(60);
    onAbort(shutdown.signal, () => runs++);
    expect(runs).toBe(61);
  });
});
