import type { RequestEvent } from '@umbra/core';
import {
  encodeNative,
  insertEncoded,
  insertRows,
  requestEventEncoder,
  shadowPairEncoder,
  type ClickHouse,
  type RowEncoder,
} from '@umbra/core/clickhouse';
import type { DeadLetter, PairWriter, StoreBatch } from './sink.ts';

function deadLetterToRow(l: DeadLetter): Record<string, unknown> {
  return {
    source_topic: l.sourceTopic,
    source_partition: l.sourcePartition,
    source_offset: l.sourceOffset,
    message_key: l.key ? l.key.toString('utf8') : null,
    reason: l.reason,
    detail: l.detail,
    // The original bytes, base64: JSON cannot carry arbitrary binary.
    payload: l.payload ? l.payload.toString('base64') : '',
    received_at: l.receivedAt,
  };
}

/** A batch's rows encoded so far, ahead of its write: Native blocks, one per `stage`. */
interface Staged {
  pairs: number;
  pairBlocks: Uint8Array[];
  events: number;
  eventBlocks: Uint8Array[];
  /** The request_events version column of the batch: when its first rows were staged. */
  ingestedAt: number;
  eventEncoder: RowEncoder<RequestEvent>;
}

/**
 * Writes a batch to ClickHouse: pairs, then raw events, then dead letters, each with a token
 * derived from the batch's, so a retry after a partial failure rewrites only what is missing.
 * Pairs and events are not collapsed at insert: readers use FINAL, which collapses re-delivered
 * rows within an insert as it does across inserts, and the insert is cheaper without it.
 *
 * Rows are encoded as they are staged (`stage`, called by the sink as rows arrive), so encoding
 * on this thread overlaps the engine's insert of the previous batch instead of delaying the next.
 */
export function createClickHouseWriter(ch: ClickHouse): PairWriter {
  const staged = new WeakMap<StoreBatch, Staged>();

  /** Encodes the rows of `batch` not encoded yet. */
  function encode(batch: StoreBatch): Staged {
    let s = staged.get(batch);
    if (s === undefined) {
      const ingestedAt = Date.now();
      s = {
        pairs: 0,
        pairBlocks: [],
        events: 0,
        eventBlocks: [],
        ingestedAt,
        eventEncoder: requestEventEncoder(ingestedAt),
      };
      staged.set(batch, s);
    }
    if (s.pairs < batch.pairs.length) {
      s.pairBlocks.push(encodeNative(batch.pairs.slice(s.pairs), shadowPairEncoder));
      s.pairs = batch.pairs.length;
    }
    if (s.events < batch.events.length) {
      s.eventBlocks.push(encodeNative(batch.events.slice(s.events), s.eventEncoder));
      s.events = batch.events.length;
    }
    return s;
  }

  return {
    stage(batch: StoreBatch) {
      try {
        encode(batch);
      } catch {
        // A row that cannot be encoded fails the write, where the sink handles store errors.
        staged.delete(batch);
      }
    },
    async write(batch: StoreBatch, token: string) {
      let s: Staged;
      try {
        s = encode(batch);
      } catch (e) {
        staged.delete(batch);
        throw e;
      }
      // Pairs and events are independent inserts, each with its own token: side by side on the
      // engine's sessions. Both settle before the write does, so a retry never overlaps one.
      const insert = (
        table: string,
        columns: readonly string[],
        body: Uint8Array[],
        rows: number,
        part: string,
      ) =>
        insertEncoded(
          ch,
          table,
          { columns, format: 'Native', body, rows },
          { dedupToken: `${token}:${part}`, optimizeOnInsert: false },
        );
      const inserts: Promise<unknown>[] = [];
      if (s.pairs > 0)
        inserts.push(
          insert('shadow_pairs', shadowPairEncoder.columns, s.pairBlocks, s.pairs, 'pairs'),
        );
      if (s.events > 0)
        inserts.push(
          insert('request_events', s.eventEncoder.columns, s.eventBlocks, s.events, 'events'),
        );
      const failed = (await Promise.allSettled(inserts)).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (batch.deadLetters.length) {
        await insertRows(ch, 'dead_letters', batch.deadLetters.map(deadLetterToRow), {
          dedupToken: `${token}:dlq`,
        });
      }
    },
  };
}
