import { describe, expect, it } from 'vitest';
import type { ShadowPair } from '../domain/events.ts';
import { schemaCatalog, SCHEMA_HEADER } from './catalog.ts';
import {
  decodeComparisonReport,
  decodePromotionDecision,
  decodeShadowPair,
  encodeComparisonReport,
  encodePromotionDecision,
  encodeShadowPair,
  type ComparisonReportMessage,
  type PromotionDecisionMessage,
} from './records.ts';
import { createStaticSchemaRegistry } from './registry.ts';
import { encodeRequestEvent } from './request-event.ts';
import { umbraFailure } from './test-helpers.ts';

// Every field distinct and non-default, so a field mapped to the wrong name cannot round-trip.
const PAIR: ShadowPair = {
  experiment: 'exp-1',
  candidate: 'fraud-v3',
  role: 'noise',
  eventId: 'e-1',
  eventTime: 1_736_154_000_000,
  arm: 'blue',
  baselineModel: 'fraud',
  baselineVersion: 'v2',
  attributes: { region: 'eu', client: 'ios' },
  task: 'ranking',
  baselineOutput: '{"ids":[1,2,3]}',
  candidateOutput: null,
  baselineLatencyMs: 4.5,
  candidateLatencyMs: 200,
  baselineStatus: 'ok',
  candidateStatus: 'timeout',
  candidateError: 'deadline 200ms',
  served: 'baseline',
  baselineError: null,
  agree: false,
  baselineLabel: 'a',
  candidateLabel: 'b',
  baselineValue: 0.25,
  candidateValue: 0.75,
  absError: 0.5,
  relError: 2,
  withinTolerance: false,
  baselineRanking: ['1', '2', '3'],
  candidateRanking: ['3', '1'],
  topkOverlap: 0.66,
  jaccard: 0.5,
  rbo: 0.42,
  diffPaths: ['$.ids[0]', '$.ids[2]'],
  replayedAt: 1_736_154_001_234,
};

const REPORT: ComparisonReportMessage = {
  runId: 'run-7',
  experiment: 'exp-1',
  candidate: 'fraud-v3',
  windowFrom: 1_736_150_000_000,
  windowTo: 1_736_160_000_000,
  createdAt: 1_736_160_000_500,
  metrics: [
    {
      report: 'agreement',
      metric: 'agreement_rate',
      segmentKey: '',
      segmentValue: '',
      value: 0.97,
      n: 12_345,
      lower: 0.965,
      upper: 0.975,
      pValue: null,
      pAdjusted: null,
      method: 'wilson',
      details: '{}',
    },
    {
      report: 'drift',
      metric: 'score_ks',
      segmentKey: 'region',
      segmentValue: 'eu',
      value: null,
      n: 0,
      lower: null,
      upper: null,
      pValue: 0.03,
      pAdjusted: 0.09,
      method: 'ks',
      details: '{"bins":20}',
    },
  ],
};

const DECISION: PromotionDecisionMessage = {
  decisionId: 'd-1',
  rollout: 'fraud-canary',
  experiment: 'exp-1',
  candidate: 'fraud-v3',
  baseline: 'fraud-v2',
  strategy: 'blue-green',
  phase: 'rolled-back',
  step: 2,
  weight: 25,
  decision: 'rollback',
  nextStep: 0,
  nextWeight: 0,
  reasons: [
    {
      gate: 'agreement',
      metric: 'agreement_rate',
      segment: 'region=eu',
      value: 0.9,
      lower: 0.88,
      upper: 0.92,
      pValue: null,
      n: 5000,
      threshold: 0.95,
      op: '>=',
      outcome: 'fail',
      method: 'wilson',
      query: 'agreement',
      windowFrom: 1_736_150_000_000,
      windowTo: 1_736_160_000_000,
    },
  ],
  specHash: 'sha256:abc',
  decidedBy: 'promoter-0',
  decidedAt: 1_736_160_001_000,
};

describe('ShadowResult', () => {
  it('round-trips a pair with the header ShadowResult.v2', async () => {
    const msg = encodeShadowPair(PAIR);
    expect(msg.headers).toEqual({ [SCHEMA_HEADER]: 'ShadowResult.v2' });
    expect(await decodeShadowPair(msg.value, msg.headers)).toEqual(PAIR);
    const reverse = { ...PAIR, served: 'candidate' as const, baselineError: 'CANDIDATE_TIMEOUT: 200ms' };
    const m2 = encodeShadowPair(reverse);
    expect(await decodeShadowPair(m2.value, m2.headers)).toEqual(reverse);
  });

  it('reads a v1 pair as the usual shadow: served baseline, no baseline error', async () => {
    const msg = encodeShadowPair(PAIR, { format: 'raw', version: 1 });
    expect(msg.headers).toEqual({ [SCHEMA_HEADER]: 'ShadowResult.v1' });
    expect(await decodeShadowPair(msg.value, msg.headers)).toEqual({
      ...PAIR,
      served: 'baseline',
      baselineError: null,
    });
  });

  it('round-trips in the Confluent format too', async () => {
    const registry = createStaticSchemaRegistry();
    const id = await registry.register(
      'umbra.pairs-value',
      schemaCatalog().latest('ShadowResult').text,
    );
    const msg = encodeShadowPair(PAIR, { format: 'confluent', schemaId: id });
    expect(await decodeShadowPair(msg.value, msg.headers, registry)).toEqual(PAIR);
  });

  it('names the bad field', async () => {
    const err = await umbraFailure(() =>
      encodeShadowPair({ ...PAIR, candidateStatus: 'lost' as ShadowPair['candidateStatus'] }),
    );
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.context.field).toBe('candidate_status');
    expect(
      (await umbraFailure(() => encodeShadowPair({ ...PAIR, replayedAt: 0 }))).context.field,
    ).toBe('replayed_at');
  });

  it('refuses a message of another record', async () => {
    const event = encodeRequestEvent({
      eventId: 'e',
      eventTime: 1,
      model: { name: 'm', version: '1' },
      arm: 'stable',
      input: '1',
      output: '1',
      latencyMs: 0,
      status: 'ok',
      errorMessage: null,
      attributes: {},
      traceId: null,
    });
    expect((await umbraFailure(() => decodeShadowPair(event.value, event.headers))).code).toBe(
      'SCHEMA_UNKNOWN',
    );
  });
});

describe('ComparisonReport', () => {
  it('round-trips a report run', async () => {
    const msg = encodeComparisonReport(REPORT);
    expect(msg.headers).toEqual({ [SCHEMA_HEADER]: 'ComparisonReport.v1' });
    expect(await decodeComparisonReport(msg.value, msg.headers)).toEqual(REPORT);
  });

  it('names the bad field, with the metric index', async () => {
    const metrics = [REPORT.metrics[0]!, { ...REPORT.metrics[1]!, details: '[1]' }];
    const err = await umbraFailure(() => encodeComparisonReport({ ...REPORT, metrics }));
    expect(err.context.field).toBe('metrics[1].details');
    const window = await umbraFailure(() =>
      encodeComparisonReport({ ...REPORT, windowTo: REPORT.windowFrom - 1 }),
    );
    expect(window.context.field).toBe('window_to');
    const n = await umbraFailure(() =>
      encodeComparisonReport({ ...REPORT, metrics: [{ ...REPORT.metrics[0]!, n: 1.5 }] }),
    );
    expect(n.context.field).toBe('metrics[0].n');
  });
});

describe('PromotionDecision', () => {
  it('round-trips a decision with its gate evidence', async () => {
    const msg = encodePromotionDecision(DECISION);
    expect(msg.headers).toEqual({ [SCHEMA_HEADER]: 'PromotionDecision.v1' });
    expect(await decodePromotionDecision(msg.value, msg.headers)).toEqual(DECISION);
  });

  it('names the bad field', async () => {
    expect(
      (await umbraFailure(() => encodePromotionDecision({ ...DECISION, weight: 120 }))).context
        .field,
    ).toBe('weight');
    const reasons = [{ ...DECISION.reasons[0]!, outcome: 'maybe' as 'pass' }];
    expect(
      (await umbraFailure(() => encodePromotionDecision({ ...DECISION, reasons }))).context.field,
    ).toBe('reasons[0].outcome');
    expect(
      (
        await umbraFailure(() =>
          encodePromotionDecision({ ...DECISION, decision: 'hold' as 'promote' }),
        )
      ).context.field,
    ).toBe('decision');
  });

  it('a corrupt decision is DECODE_FAILED', async () => {
    const msg = encodePromotionDecision(DECISION);
    const err = await umbraFailure(() =>
      decodePromotionDecision(msg.value.subarray(0, msg.value.length - 2), msg.headers),
    );
    expect(err.code).toBe('DECODE_FAILED');
  });
});
