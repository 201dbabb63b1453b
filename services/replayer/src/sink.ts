import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isUmbraError, type RequestEvent, type ShadowPair } from '@umbra/core';

export interface DeadLetter {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  key: Buffer | null;
  payload: Buffer | null;
  reason: string;
  detail: string;
  receivedAt: number;
}

/** What one flush writes: the pairs, the raw events and the dead letters of the same records. */
export interface StoreBatch {
  pairs: ShadowPair[];
  events: RequestEvent[];
  deadLetters: DeadLetter[];
}

/** The storage edge (ClickHouse in production and tests). `token` is stable for the same batch. */
export interface PairWriter {
  write(batch: StoreBatch, token: string): Promise<void>;
  /**
   * Optional: called after rows were appended to `batch`, the batch a later `write` gets (the
   * same object). A writer may prepare those rows now, e.g. encode them while the store is busy
   * with the previous batch. Must not throw; `write` stays responsible for every row.
   */
  stage?(batch: StoreBatch): void;
}

export interface SinkEvents {
  flush: [{ pairs: number; events: number; deadLetters: number; durationMs: number; attempts: number }];
  retry: [{ attempt: number; delayMs: number; error: unknown }];
  stored: [];
}

export interface PairSink extends EventEmitter<SinkEvents> {
  /** Queues a batch; resolves when it is stored. Waits first while too much is pending (backpressure). */
  add(batch: StoreBatch): Promise<{ stored: Promise<void> }>;
  /** Writes what is pending now and waits for it. */
  flush(): Promise<void>;
  readonly pendingPairs: number;
  /** False while a write is failing and being retried. */
  readonly healthy: boolean;
  close(): Promise<void>;
}

interface Deferred {
  resolve(): void;
  reject(e: unknown): void;
}

export interface SinkOptions {
  batchPairs: number;
  flushIntervalMs: number;
  maxPendingPairs: number;
  retryMaxDelayMs: number;
  retryBaseDelayMs?: number;
}

/** A deterministic token for a batch: a retried write of the same rows is deduplicated by ClickHouse. */
export function batchToken(batch: StoreBatch): string {
  // One string, one update: a native call per row cost more than the hashing.
  let text = '';
  for (const p of batch.pairs) text += `p\0${p.experiment}\0${p.candidate}\0${p.eventId}\0${p.replayedAt}\n`;
  for (const e of batch.events) text += `e\0${e.eventId}\n`;
  for (const d of batch.deadLetters) text += `d\0${d.sourceTopic}\0${d.sourcePartition}\0${d.sourceOffset}\n`;
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Buffers pairs and flushes them by size or time, one write at a time, retrying retriable store
 * errors with backoff for as long as it takes. While a write is failing nothing is dropped:
 * pending rows grow to `maxPendingPairs`, then `add` waits, so the consumer stops pulling.
 */
export function createPairSink(writer: PairWriter, opts: SinkOptions): PairSink {
  const emitter = new EventEmitter<SinkEvents>();
  let current: StoreBatch = { pairs: [], events: [], deadLetters: [] };
  let currentWaiters: Deferred[] = [];
  let pendingPairs = 0;
  let inflight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let healthy = true;
  let closed = false;
  const capacityWaiters: (() => void)[] = [];

  const size = (b: StoreBatch) => b.pairs.length + b.events.length + b.deadLetters.length;

  async function writeWithRetry(batch: StoreBatch): Promise<void> {
    const token = batchToken(batch);
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await writer.write(batch, token);
        healthy = true;
        emitter.emit('flush', {
          pairs: batch.pairs.length,
          events: batch.events.length,
          deadLetters: batch.deadLetters.length,
          durationMs: performance.now() - started,
          attempts: attempt,
        });
        return;
      } catch (error) {
        if (!isUmbraError(error) || !error.retriable || closed) throw error;
        healthy = false;
        const base = opts.retryBaseDelayMs ?? 100;
        const delayMs = Math.min(opts.retryMaxDelayMs, base * 2 ** Math.min(attempt - 1, 16)) * (0.5 + Math.random() / 2);
        emitter.emit('retry', { attempt, delayMs, error });
        await sleep(delayMs);
      }
    }
  }

  function kick(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (inflight || size(current) === 0) return;
    const batch = current;
    const waiters = currentWaiters;
    current = { pairs: [], events: [], deadLetters: [] };
    currentWaiters = [];
    inflight = writeWithRetry(batch).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
    void inflight.finally(() => {
      inflight = null;
      pendingPairs -= batch.pairs.length;
      while (capacityWaiters.length && pendingPairs < opts.maxPendingPairs) capacityWaiters.shift()!();
      emitter.emit('stored');
      // Rows that arrived during the write: a full batch goes now, a partial one on the timer.
      if (current.pairs.length >= opts.batchPairs) kick();
      else if (size(current) > 0) arm();
    });
  }

  function arm(): void {
    if (!timer && !inflight) timer = setTimeout(kick, opts.flushIntervalMs);
  }

  const sink = Object.assign(emitter, {
    async add(batch: StoreBatch) {
      if (closed) throw new Error('sink is closed');
      while (pendingPairs > 0 && pendingPairs + batch.pairs.length > opts.maxPendingPairs) {
        await new Promise<void>((r) => capacityWaiters.push(r));
      }
      pendingPairs += batch.pairs.length;
      current.pairs.push(...batch.pairs);
      current.events.push(...batch.events);
      current.deadLetters.push(...batch.deadLetters);
      writer.stage?.(current);
      const stored = new Promise<void>((resolve, reject) => currentWaiters.push({ resolve, reject }));
      // A caller may not await `stored` until later; keep an early rejection from being "unhandled".
      stored.catch(() => undefined);
      if (current.pairs.length >= opts.batchPairs) kick();
      else arm();
      return { stored };
    },
    async flush() {
      while (inflight || size(current) > 0) {
        const waitFor: Promise<void> | null = inflight;
        if (waitFor) await waitFor.catch(() => undefined);
        else {
          const last = new Promise<void>((resolve, reject) => currentWaiters.push({ resolve, reject }));
          kick();
          await last;
        }
      }
    },
    async close() {
      await sink.flush();
      closed = true;
      if (timer) clearTimeout(timer);
    },
  });
  // Live views (Object.assign would copy a getter's value once).
  Object.defineProperties(sink, {
    pendingPairs: { get: () => pendingPairs, enumerable: true },
    healthy: { get: () => healthy, enumerable: true },
  });
  return sink as PairSink;
}
