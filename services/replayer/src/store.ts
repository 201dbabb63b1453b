import { insertRows, requestEventToRow, shadowPairToRow, type ClickHouse } from '@umbra/core/clickhouse';
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

/**
 * Writes a batch to ClickHouse: pairs, then raw events, then dead letters, each with a token
 * derived from the batch's, so a retry after a partial failure rewrites only what is missing.
 */
export function createClickHouseWriter(ch: ClickHouse): PairWriter {
  return {
    async write(batch: StoreBatch, token: string) {
      const ingestedAt = Date.now();
      if (batch.pairs.length) {
        await insertRows(ch, 'shadow_pairs', batch.pairs.map(shadowPairToRow), { dedupToken: `${token}:pairs` });
      }
      if (batch.events.length) {
        await insertRows(ch, 'request_events', batch.events.map((e) => requestEventToRow(e, ingestedAt)), { dedupToken: `${token}:events` });
      }
      if (batch.deadLetters.length) {
        await insertRows(ch, 'dead_letters', batch.deadLetters.map(deadLetterToRow), { dedupToken: `${token}:dlq` });
      }
    },
  };
}
