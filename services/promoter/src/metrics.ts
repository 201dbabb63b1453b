import { Counter, Gauge, Histogram, type Registry } from '@umbra/core';

export type PromoterMetrics = ReturnType<typeof createPromoterMetrics>;

export function createPromoterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    decisions: new Counter({
      name: 'umbra_promoter_decisions_total',
      help: 'Decisions made (stored, then published)',
      labelNames: ['rollout', 'decision'],
      registers,
    }),
    evaluationFailures: new Counter({
      name: 'umbra_promoter_evaluation_failures_total',
      help: 'Evaluations that failed before a decision was stored, by error code',
      labelNames: ['rollout', 'code'],
      registers,
    }),
    evaluationDuration: new Histogram({
      name: 'umbra_promoter_evaluation_duration_seconds',
      help: 'Evidence query, decision and writes of one evaluation',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    publishFailures: new Counter({
      name: 'umbra_promoter_publish_failures_total',
      help: 'Decision messages not yet published (retried on the next tick)',
      registers,
    }),
    leader: new Gauge({
      name: 'umbra_promoter_leader',
      help: '1 while this promoter leads (evaluates rollouts), 0 on standby',
      registers,
    }),
    weight: new Gauge({
      name: 'umbra_promoter_rollout_weight',
      help: 'Candidate traffic share of each rollout after its last decision, 0..100',
      labelNames: ['rollout'],
      registers,
    }),
  };
}

const GATE_REQUESTS = 'umbra_promoter_gate_requests_total';

/** The gate API's request counter; one per registry, shared when the promoter and the gate API run together. */
export function gateRequestsCounter(registry: Registry): Counter<'route' | 'status'> {
  const existing = registry.getSingleMetric(GATE_REQUESTS);
  if (existing) return existing as Counter<'route' | 'status'>;
  return new Counter({
    name: GATE_REQUESTS,
    help: 'Gate API requests by route and HTTP status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
}
