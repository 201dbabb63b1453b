import type { RequestEvent } from '@umbra/core';
import { baselineModel, type DemoInput } from './models.ts';

/** Small, fast, seedable PRNG (mulberry32): the demo and tests replay the same traffic every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: readonly (readonly [T, number])[]): T {
  let r = rand();
  for (const [item, weight] of items) {
    if ((r -= weight) < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Standard normal by Box-Muller. */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export interface TrafficOptions {
  count: number;
  seed?: number;
  /** Epoch ms of the first event; events spread evenly over `spanMs`. */
  startMs?: number;
  spanMs?: number;
  model?: { name: string; version: string };
  /** Share of requests production failed (no output). */
  errorRate?: number;
}

export const DEMO_BASELINE = { name: 'credit-risk', version: '2026.10.1' } as const;

/**
 * Realistic production traffic for one baseline model: segments (region, client, input class),
 * log-normal served latency with a slower long-input class, a small error rate, and outputs that
 * the baseline model really computes from each input.
 */
export function* generateTraffic(opts: TrafficOptions): Generator<RequestEvent> {
  const rand = prng(opts.seed ?? 7);
  const start = opts.startMs ?? Date.now() - 3_600_000;
  const span = opts.spanMs ?? 3_600_000;
  const model = opts.model ?? DEMO_BASELINE;
  const errorRate = opts.errorRate ?? 0.002;
  for (let i = 0; i < opts.count; i++) {
    const region = pick(rand, [['eu', 0.45], ['us', 0.4], ['apac', 0.15]] as const);
    const client = pick(rand, [['web', 0.5], ['ios', 0.3], ['android', 0.2]] as const);
    const inputClass = rand() < 0.8 ? 'short' : 'long';
    const input: DemoInput = {
      income: Math.round(20_000 + 120_000 * rand() ** 1.5),
      debt_ratio: Math.round(rand() * 1000) / 1000,
      history_months: Math.floor(rand() * 240),
      late_payments: Math.floor(-Math.log(1 - rand()) * 1.2),
      region,
    };
    const failed = rand() < errorRate;
    const latencyMs = Math.exp(Math.log(inputClass === 'long' ? 32 : 18) + 0.35 * normal(rand));
    yield {
      eventId: `evt-${(opts.seed ?? 7).toString(36)}-${i.toString(36).padStart(6, '0')}`,
      eventTime: Math.floor(start + (span * i) / Math.max(1, opts.count)),
      model: { name: model.name, version: model.version },
      arm: 'stable',
      input: JSON.stringify(input),
      output: failed ? null : JSON.stringify(baselineModel(input)),
      latencyMs: Math.round(latencyMs * 100) / 100,
      status: failed ? 'error' : 'ok',
      errorMessage: failed ? 'upstream feature store timeout' : null,
      attributes: { region, client, input_class: inputClass },
      traceId: null,
    };
  }
}
