import { EventEmitter } from 'node:events';
import type { Logger, RequestEvent, ShadowPair, UmbraError } from '@umbra/core';
import type { CandidateOutcome, PairMaker } from './pipeline.ts';
import type { DeadLetter, PairSink } from './sink.ts';

/** One message from a source: a decoded event, or a bad one headed for the dead-letter topic. */
export type SourceRecord =
  | { kind: 'event'; event: RequestEvent }
  | { kind: 'bad'; error: UmbraError; letter: Omit<DeadLetter, 'reason' | 'detail'> };

/** Publishes dead letters where operators look for them (the DLQ topic); awaited before offsets move. */
export interface DeadLetterPublisher {
  publish(letters: DeadLetter[]): Promise<void>;
}

export interface ReplayerEvents {
  replayed: [{ events: number; pairs: number; skipped: number; deadLetters: number; durationMs: number }];
  outcome: [CandidateOutcome];
  deadLetter: [DeadLetter];
}

export interface Replayer extends EventEmitter<ReplayerEvents> {
  /**
   * Replays the records' events, publishes their dead letters, and queues everything for storage.
   * Resolves once queued; `stored` resolves when all of it is in ClickHouse (then offsets may move).
   */
  handle(records: readonly SourceRecord[]): Promise<{ stored: Promise<void> }>;
  readonly sink: PairSink;
}

export function createReplayer(deps: {
  pairMaker: PairMaker;
  sink: PairSink;
  deadLetters?: DeadLetterPublisher | null;
  storeRequestEvents: boolean;
  logger: Logger;
}): Replayer {
  const { pairMaker, sink, logger } = deps;
  const emitter = new EventEmitter<ReplayerEvents>();
  const onOutcome = (o: CandidateOutcome) => emitter.emit('outcome', o);

  return Object.assign(emitter, {
    sink,
    async handle(records: readonly SourceRecord[]) {
      const started = performance.now();
      const events: RequestEvent[] = [];
      const letters: DeadLetter[] = [];
      for (const r of records) {
        if (r.kind === 'event') events.push(r.event);
        else letters.push({ ...r.letter, reason: r.error.code, detail: r.error.message });
      }
      const toReplay = events.filter((e) => pairMaker.replays(e));
      // Outcomes are built only for someone listening (metrics, benchmarks).
      const outcome = emitter.listenerCount('outcome') > 0 ? onOutcome : undefined;
      // In-process candidates answer synchronously: their pairs are in hand without a promise.
      const replays: (ShadowPair[] | Promise<ShadowPair[]>)[] = new Array(toReplay.length);
      let waiting = false;
      for (let i = 0; i < toReplay.length; i++) {
        const r = pairMaker.replay(toReplay[i]!, outcome);
        replays[i] = r;
        if (r instanceof Promise) waiting = true;
      }
      const pairs: ShadowPair[] = [];
      for (const eventPairs of waiting ? await Promise.all(replays) : (replays as ShadowPair[][])) for (const p of eventPairs) pairs.push(p);
      if (letters.length) {
        for (const l of letters) {
          emitter.emit('deadLetter', l);
          logger.warn({ topic: l.sourceTopic, partition: l.sourcePartition, offset: l.sourceOffset, reason: l.reason, detail: l.detail }, 'event sent to the dead-letter topic');
        }
        await deps.deadLetters?.publish(letters);
      }
      const result = await sink.add({ pairs, events: deps.storeRequestEvents ? events : [], deadLetters: letters });
      emitter.emit('replayed', {
        events: events.length,
        pairs: pairs.length,
        skipped: events.length - toReplay.length,
        deadLetters: letters.length,
        durationMs: performance.now() - started,
      });
      return result;
    },
  });
}
