import { setImmediate } from 'node:timers/promises';
import { UmbraError, isUmbraError, type RequestEvent } from '@umbra/core';
import type { Replayer, SourceRecord } from './replayer.ts';

/**
 * Acknowledges positions in order as soon as everything up to them is stored, and keeps at most
 * `limit` handled-but-not-yet-stored chunks in flight (bounded memory): a position is only
 * acknowledged once all before it are stored.
 */
export class InOrderAcks {
  private readonly queue: { position: string; stored: Promise<void>; settled: boolean }[] = [];
  private acking: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly limit: number,
    private readonly ack: (position: string) => Promise<void>,
    private readonly whileWaiting?: () => Promise<void>,
    private readonly waitTickMs = 3_000,
    /**
     * Called once half the window waits on the store: the store should write those now, not on
     * its timer, so it works while the replayer fills the other half.
     */
    private readonly onBacklog?: () => void,
  ) {}

  async push(position: string, stored: Promise<void>): Promise<void> {
    this.throwIfFailed();
    const entry = { position, stored, settled: false };
    const settle = () => {
      entry.settled = true;
      this.releaseSettled();
    };
    stored.then(settle, settle);
    this.queue.push(entry);
    if (this.queue.length >= Math.ceil(this.limit / 2)) this.onBacklog?.();
    while (this.queue.length > this.limit) await this.releaseHead();
  }

  async drain(): Promise<void> {
    while (this.queue.length) await this.releaseHead();
    await this.acking;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /**
   * Acks the stored chunks at the head of the queue, in order. Chunks found stored together are
   * acked once, at the last position (a Kafka commit covers the offsets before it): one commit
   * round trip per store write rather than per chunk. On a failed store, what was stored before
   * it is still acked, then the failure is kept for the next push or drain.
   */
  private releaseSettled(): Promise<void> {
    this.acking = this.acking.then(async () => {
      while (this.queue[0]?.settled && !this.failure) {
        let last: string | undefined;
        let failed: { error: unknown } | null = null;
        while (this.queue[0]?.settled) {
          const head = this.queue.shift()!;
          try {
            await head.stored;
          } catch (error) {
            failed = { error };
            break;
          }
          last = head.position;
        }
        try {
          if (last !== undefined) await this.ack(last);
        } catch (error) {
          failed ??= { error };
        }
        if (failed) this.failure = failed;
      }
    });
    return this.acking;
  }

  private async releaseHead(): Promise<void> {
    const head = this.queue[0];
    if (head) await this.waitFor(head.stored);
    await this.releaseSettled();
    this.throwIfFailed();
  }

  /** Waits for a store, calling `whileWaiting` (a Kafka heartbeat) every tick so the group keeps us. */
  private async waitFor(stored: Promise<void>): Promise<void> {
    if (!this.whileWaiting) return stored;
    let done = false;
    const finished = stored.finally(() => {
      done = true;
    });
    finished.catch(() => undefined);
    while (!done) {
      let tick: NodeJS.Timeout | undefined;
      await Promise.race([finished.catch(() => undefined), new Promise<void>((r) => (tick = setTimeout(r, this.waitTickMs)))]);
      clearTimeout(tick);
      if (!done) await this.whileWaiting();
    }
    return stored;
  }
}

export interface FileRunProgress {
  events: number;
}

/** Replays an iterable of events (a capture file or the generator) through the replayer. */
export async function runIterable(
  replayer: Replayer,
  events: AsyncIterable<RequestEvent> | Iterable<RequestEvent>,
  opts: { chunkSize?: number; maxOutstanding?: number; onProgress?: (p: FileRunProgress) => void; signal?: AbortSignal } = {},
): Promise<{ events: number }> {
  const chunkSize = opts.chunkSize ?? 1_000;
  let count = 0;
  const acks = new InOrderAcks(opts.maxOutstanding ?? 8, async () => undefined, undefined, undefined, () => void replayer.sink.flush());
  let chunk: SourceRecord[] = [];
  const send = async () => {
    const records = chunk;
    chunk = [];
    const { stored } = await replayer.handle(records);
    count += records.length;
    opts.onProgress?.({ events: count });
    await acks.push(String(count), stored);
    // Let timers and I/O run between chunks: the chunk's work resumes only through microtasks.
    await setImmediate();
  };
  for await (const event of events) {
    if (opts.signal?.aborted) break;
    chunk.push({ kind: 'event', event });
    if (chunk.length >= chunkSize) await send();
  }
  if (chunk.length) await send();
  await replayer.sink.flush();
  await acks.drain();
  return { events: count };
}

export function badRecord(
  error: unknown,
  where: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null },
): SourceRecord {
  const err = isUmbraError(error) ? error : new UmbraError('DECODE_FAILED', String(error), { cause: error });
  return {
    kind: 'bad',
    error: err,
    letter: {
      sourceTopic: where.topic,
      sourcePartition: where.partition,
      sourceOffset: where.offset,
      key: where.key,
      payload: where.value,
      receivedAt: Date.now(),
    },
  };
}
