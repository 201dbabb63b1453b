import { Counter, Gauge, Histogram, type Registry } from '@umbra/core';

export type ReplayerMetrics = ReturnType<typeof createReplayerMetrics>;

export function createReplayerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    eventsConsumed: new Counter({ name: 'umbra_replayer_events_consumed_total', help: 'Events consumed from the source', labelNames: ['source'], registers }),
    eventsReplayed: new Counter({ name: 'umbra_replayer_events_replayed_total', help: 'Baseline events replayed against candidates', labelNames: ['experiment'], registers }),
    pairsStored: new Counter({ name: 'umbra_replayer_pairs_stored_total', help: 'Pairs written to shadow_pairs', labelNames: ['experiment'], registers }),
    candidateLatency: new Histogram({
      name: 'umbra_replayer_candidate_latency_seconds',
      help: 'Candidate call latency',
      labelNames: ['candidate', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    candidateErrors: new Counter({ name: 'umbra_replayer_candidate_errors_total', help: 'Candidate calls that failed or timed out (recorded as pairs)', labelNames: ['candidate', 'status', 'code'], registers }),
    deadLetters: new Counter({ name: 'umbra_replayer_dead_letters_total', help: 'Events sent to the dead-letter topic', labelNames: ['reason'], registers }),
    consumerLag: new Gauge({ name: 'umbra_replayer_consumer_lag', help: 'High watermark minus the next offset to process', labelNames: ['topic', 'partition'], registers }),
    flushRows: new Histogram({ name: 'umbra_replayer_flush_pairs', help: 'Pairs per flush', buckets: [10, 100, 500, 1000, 5000, 10000, 20000, 50000], registers }),
    flushDuration: new Histogram({ name: 'umbra_replayer_flush_duration_seconds', help: 'Flush duration including retries', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    storeRetries: new Counter({ name: 'umbra_replayer_store_retries_total', help: 'Store writes retried after a retriable error', registers }),
    storeHealthy: new Gauge({ name: 'umbra_replayer_store_healthy', help: '1 when the last store write succeeded, 0 while retrying (consumption waits)', registers }),
    pendingPairs: new Gauge({ name: 'umbra_replayer_pending_pairs', help: 'Pairs buffered, not yet stored', registers }),
  };
}
