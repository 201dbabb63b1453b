/**
 * A model's split live traffic for tests: an experiment's usual-shadow pairs of `model` and its
 * request_events on two arms, the canary arm failing 10 % of requests and answering ~4 ms slower
 * (the stable arm fails 1 %).
 */
import type { RequestEvent } from '@umbra/core';
import { insertRows, requestEventToRow, shadowPairToRow, type ClickHouse } from '@umbra/core/clickhouse';
import { samplePair } from '../../../core/src/clickhouse/test-fixtures.ts';

function event(T0: number, i: number, model: string, arm: RequestEvent['arm'], failed: boolean, latencyMs: number): RequestEvent {
  return {
    eventId: `${model}-${arm}-${i}`,
    eventTime: T0 + i * 1000,
    model: { name: model, version: arm === 'stable' || arm === 'blue' ? 'v1' : 'v2' },
    arm,
    input: '{"x":1}',
    output: failed ? null : '{"label":"ok"}',
    latencyMs,
    status: failed ? 'error' : 'ok',
    errorMessage: failed ? 'HTTP 500' : null,
    attributes: { region: i % 2 ? 'eu' : 'us' },
    traceId: null,
  };
}

export async function seedLiveSplit(
  ch: ClickHouse,
  T0: number,
  experiment: string,
  model: string,
  arms: [RequestEvent['arm'], RequestEvent['arm']] | null,
): Promise<void> {
  const pairs = Array.from({ length: 200 }, (_, i) =>
    shadowPairToRow(samplePair({ experiment, eventId: `${experiment}-${i}`, eventTime: T0 + i * 1000, baselineModel: model, agree: true, candidateOutput: '{"label":"ok"}', candidateLabel: 'ok', diffPaths: [] })),
  );
  await insertRows(ch, 'shadow_pairs', pairs);
  if (!arms) return;
  const [stable, canary] = arms;
  const events = [
    ...Array.from({ length: 400 }, (_, i) => event(T0, i, model, stable, i % 100 === 0, 10 + (i % 7))),
    ...Array.from({ length: 200 }, (_, i) => event(T0, i, model, canary, i % 10 === 0, 14 + (i % 7))),
  ];
  await insertRows(ch, 'request_events', events.map((e) => requestEventToRow(e, T0 + 3_000_000)));
}
