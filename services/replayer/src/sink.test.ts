import { describe, expect, it } from 'vitest';
import { UmbraError, type ShadowPair } from '@umbra/core';
import { batchToken, createPairSink, type StoreBatch } from './sink.ts';
import { InOrderAcks } from './runners.ts';

const pair = (id: string): ShadowPair => ({ eventId: id, experiment: 'x', candidate: 'c', replayedAt: 1 }) as ShadowPair;
const batch = (...ids: string[]): StoreBatch => ({ pairs: ids.map(pair), events: [], deadLetters: [] });

function recordingWriter(failFirst = 0, error = new UmbraError('STORE_UNAVAILABLE', 'down', { retriable: true })) {
  const writes: { ids: string[]; token: string }[] = [];
  let failures = failFirst;
  return {
    writes,
    attempts: () => writes.length + failFirst - failures,
    async write(b: StoreBatch, token: string) {
      if (failures > 0) {
        failures--;
        throw error;
      }
      writes.push({ ids: b.pairs.map((p) => p.eventId), token });
    },
  };
}

const opts = { batchPairs: 3, flushIntervalMs: 20, maxPendingPairs: 100, retryMaxDelayMs: 5, retryBaseDelayMs: 1 };

describe('createPairSink', () => {
  it('stages each batch as rows arrive, on the object its write then gets', async () => {
    const staged: { batch: StoreBatch; ids: string[] }[] = [];
    const written: StoreBatch[] = [];
    const sink = createPairSink(
      {
        stage: (b) => staged.push({ batch: b, ids: b.pairs.map((p) => p.eventId) }),
        write: async (b) => void written.push(b),
      },
      { ...opts, batchPairs: 4 },
    );
    await sink.add(batch('1', '2'));
    const { stored } = await sink.add(batch('3', '4'));
    await stored;
    expect(staged.map((s) => s.ids)).toEqual([['1', '2'], ['1', '2', '3', '4']]);
    expect(written).toHaveLength(1);
    expect(staged.every((s) => s.batch === written[0])).toBe(true);
  });

  it('flushes when a batch is full, and on the timer for the rest', async () => {
    const writer = recordingWriter();
    const sink = createPairSink(writer, opts);
    const a = await sink.add(batch('1', '2', '3'));
    const b = await sink.add(batch('4'));
    await a.stored;
    await b.stored;
    expect(writer.writes.map((w) => w.ids)).toEqual([['1', '2', '3'], ['4']]);
  });

  it('retries a retriable failure with the same token until it lands, then resolves', async () => {
    const writer = recordingWriter(3);
    const sink = createPairSink(writer, opts);
    const retries: number[] = [];
    sink.on('retry', (r) => retries.push(r.attempt));
    const { stored } = await sink.add(batch('1', '2', '3'));
    await stored;
    expect(retries).toEqual([1, 2, 3]);
    expect(writer.writes).toHaveLength(1);
    expect(writer.writes[0]!.token).toBe(batchToken(batch('1', '2', '3')));
  });

  it('rejects the waiters of a batch that fails for good (nothing is acknowledged)', async () => {
    const writer = recordingWriter(1, new UmbraError('MIGRATION_FAILED', 'no table'));
    const sink = createPairSink(writer, opts);
    const { stored } = await sink.add(batch('1', '2', '3'));
    await expect(stored).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
  });

  it('makes add() wait while the pending pairs exceed the bound (backpressure)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const writes: number[] = [];
    const sink = createPairSink(
      {
        async write(b) {
          await gate;
          writes.push(b.pairs.length);
        },
      },
      { ...opts, maxPendingPairs: 4 },
    );
    await sink.add(batch('1', '2', '3')); // full batch: write starts, blocked on the gate
    let admitted = false;
    const third = sink.add(batch('4', '5')).then((r) => {
      admitted = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(admitted).toBe(false);
    expect(sink.pendingPairs).toBe(3);
    release();
    await (await third).stored;
    expect(admitted).toBe(true);
    expect(writes).toEqual([3, 2]);
  });

  it('flush() writes what is pending without waiting for the timer', async () => {
    const writer = recordingWriter();
    const sink = createPairSink(writer, { ...opts, flushIntervalMs: 60_000 });
    await sink.add(batch('1'));
    await sink.flush();
    expect(writer.writes).toHaveLength(1);
  });
});

describe('InOrderAcks', () => {
  it('acknowledges in order even when later chunks are stored first, once for chunks stored together', async () => {
    const acked: string[] = [];
    const acks = new InOrderAcks(10, async (p) => {
      acked.push(p);
    });
    let first!: () => void;
    let third!: () => void;
    await acks.push('1', new Promise<void>((r) => (first = r)));
    await acks.push('2', Promise.resolve());
    await acks.push('3', new Promise<void>((r) => (third = r)));
    const drained = acks.drain();
    await new Promise((r) => setTimeout(r, 10));
    expect(acked).toEqual([]);
    first();
    await new Promise((r) => setTimeout(r, 10));
    // 1 and 2 are stored: one ack at 2 covers both; 3 is not stored yet.
    expect(acked).toEqual(['2']);
    third();
    await drained;
    expect(acked).toEqual(['2', '3']);
  });

  it('acks what was stored before a failed store, and never the failed position', async () => {
    const acked: string[] = [];
    const acks = new InOrderAcks(10, async (p) => void acked.push(p));
    let fail!: (e: Error) => void;
    await acks.push('1', Promise.resolve());
    await acks.push('2', new Promise<void>((_, reject) => (fail = reject)));
    await acks.push('3', Promise.resolve());
    fail(new Error('store gone'));
    await expect(acks.drain()).rejects.toThrow('store gone');
    expect(acked).toEqual(['1']);
  });

  it('calls whileWaiting (heartbeat) while a store is slow, and never acks a failed store', async () => {
    let beats = 0;
    const acked: string[] = [];
    const acks = new InOrderAcks(0, async (p) => void acked.push(p), async () => void beats++, 5);
    const failing = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('store gone')), 40));
    await expect(acks.push('7', failing)).rejects.toThrow('store gone');
    expect(beats).toBeGreaterThan(1);
    expect(acked).toEqual([]);
  });
});

describe('InOrderAcks (eager)', () => {
  it('acknowledges a stored head at once, without waiting for the batch to end', async () => {
    const acked: string[] = [];
    const acks = new InOrderAcks(10, async (p) => void acked.push(p));
    await acks.push('1', Promise.resolve());
    await new Promise((r) => setTimeout(r, 5));
    expect(acked).toEqual(['1']);
    await acks.drain();
  });
});
