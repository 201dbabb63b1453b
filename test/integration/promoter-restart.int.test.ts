/**
 * Persistence and publication on the real engine (chDB on disk) and the real broker: a promoter
 * stopped mid-rollout and a new one on the same data continue at the same step, from ClickHouse
 * alone; every decision is a row in promotion_decisions and a decodable Avro PromotionDecision
 * on the decisions topic, keyed by rollout.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '@umbra/core';
import {
  decodePromotionDecision,
  SCHEMA_HEADER,
  type PromotionDecisionMessage,
} from '@umbra/core/avro';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createKafka, type KafkaBus } from '@umbra/core/kafka';
import { createPromoter, type Promoter, type RecordedDecision } from '@umbra/promoter';
import {
  canarySpecYaml,
  manualClock,
  MINUTE,
  seedPairs,
} from '../../services/promoter/src/test-fixtures.ts';
import type {} from '../global-setup.ts';

const ROLLOUT = 'restart-it';
const EXPERIMENT = 'exp-restart';
const T0 = Math.floor(Date.now() / 60_000) * 60_000;
const clock = manualClock(T0);

let dir: string;
let bus: KafkaBus;
let topic: string;
const promoters: Promoter[] = [];
const handles: ClickHouse[] = [];

async function open(instanceId: string): Promise<{ ch: ClickHouse; promoter: Promoter }> {
  const ch = await createClickHouse({ dataDir: join(dir, 'db') });
  handles.push(ch);
  await migrate(ch);
  // leadership: false: one promoter at a time here; the leader election has its own test.
  const promoter = createPromoter({
    ch,
    logger: silentLogger(),
    bus,
    decisionsTopic: topic,
    leadership: false,
    clock: clock.now,
    instanceId,
    tickMs: 50,
  });
  promoters.push(promoter);
  return { ch, promoter };
}

async function seedStep(ch: ClickHouse, promoter: Promoter, batch: string): Promise<void> {
  const s = (await promoter.status(ROLLOUT))!;
  const from = s.state.stepStartedAt + 1_000;
  await seedPairs(ch, { experiment: EXPERIMENT, from, to: from + 5 * MINUTE, count: 600, batch });
  clock.set(s.state.stepStartedAt + 11 * MINUTE);
}

/** Every message on `topic` up to its end offset now, decoded (so a duplicate would show). */
async function readDecisions(): Promise<
  Array<{ key: string; headers: Record<string, string>; decision: PromotionDecisionMessage }>
> {
  const admin = bus.admin();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const count = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const consumer = bus.consumer({
    groupId: `umbra-restart-it-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    maxWaitTime: 200,
  });
  const out: Array<{
    key: string;
    headers: Record<string, string>;
    decision: PromotionDecisionMessage;
  }> = [];
  const errors: unknown[] = [];
  await consumer.run({
    async eachBatch(batch, control) {
      for (const m of batch.messages) {
        try {
          const headers = Object.fromEntries(
            Object.entries(m.headers).map(([k, v]) => [k, v?.toString('utf8') ?? '']),
          );
          out.push({
            key: m.key?.toString('utf8') ?? '',
            headers,
            decision: await decodePromotionDecision(m.value, m.headers),
          });
        } catch (e) {
          errors.push(e);
        }
        control.resolveOffset(m.offset);
      }
    },
  });
  const deadline = Date.now() + 60_000;
  while (out.length + errors.length < count && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  expect(errors).toEqual([]);
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-promoter-restart-'));
  bus = createKafka({
    brokers: inject('kafkaBrokers').split(','),
    clientId: 'umbra-promoter-restart-it',
  });
  topic = `umbra.decisions.it-${randomUUID().slice(0, 8)}`;
});

afterAll(async () => {
  for (const p of promoters) await p.close().catch(() => undefined);
  for (const h of handles) await h.close().catch(() => undefined);
  await bus
    ?.admin()
    .deleteTopics([topic])
    .catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('promoter restart mid-rollout', () => {
  const decisions: RecordedDecision[] = [];

  it('the first promoter takes the rollout from shadow to canary 5 %, then stops', async () => {
    const { ch, promoter } = await open('promoter-1');
    const started = await promoter.start(
      canarySpecYaml({ rollout: ROLLOUT, experiment: EXPERIMENT }),
      { source: 'restart.yaml' },
    );
    expect(started.state).toMatchObject({ phase: 'shadow', step: 0, weight: 0 });
    // Starting the same spec again is a no-op; a different spec under the same name is refused.
    expect(
      (await promoter.start(canarySpecYaml({ rollout: ROLLOUT, experiment: EXPERIMENT }))).version,
    ).toBe(started.version);
    await expect(
      promoter.start(canarySpecYaml({ rollout: ROLLOUT, experiment: EXPERIMENT, bake: '20m' })),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });

    await seedStep(ch, promoter, 'shadow');
    const d = await promoter.evaluate(ROLLOUT);
    expect(d).toMatchObject({
      decision: 'promote',
      phase: 'shadow',
      nextPhase: 'canary',
      nextStep: 1,
      nextWeight: 5,
      decidedBy: 'promoter-1',
    });
    decisions.push(d);
    await promoter.close();
    await ch.close();
  });

  it('a new promoter on the same data resumes at canary 5 %, step 1, from ClickHouse alone', async () => {
    const { ch, promoter } = await open('promoter-2');
    const s = await promoter.status(ROLLOUT);
    expect(s).not.toBeNull();
    expect(s!.state).toMatchObject({
      phase: 'canary',
      step: 1,
      weight: 5,
      evaluations: 1,
      consecutiveFailures: 0,
      lastDecision: 'promote',
    });
    expect(s!.lastDecision).toMatchObject({
      decisionId: decisions[0]!.decisionId,
      decidedBy: 'promoter-1',
      decision: 'promote',
    });
    expect(s!.updatedBy).toBe('promoter-1');
    expect(s!.spec.rollout).toBe(ROLLOUT); // the spec came back from the stored YAML

    // Its own loop picks the rollout up: nothing was handed over but the table.
    await seedStep(ch, promoter, 'canary-5');
    const next = new Promise<RecordedDecision>((resolve) => {
      const off = promoter.on('decision', ({ decision }) => {
        off();
        resolve(decision);
      });
    });
    await promoter.run();
    const d = await next;
    expect(d).toMatchObject({
      decision: 'promote',
      phase: 'canary',
      step: 1,
      weight: 5,
      nextStep: 2,
      nextWeight: 25,
      decidedBy: 'promoter-2',
    });
    decisions.push(d);
    expect((await promoter.status(ROLLOUT))!.state).toMatchObject({
      phase: 'canary',
      step: 2,
      weight: 25,
    });

    const aborted = await promoter.abort(ROLLOUT, 'restart test ends here');
    expect(aborted).toMatchObject({ decision: 'rollback', nextPhase: 'aborted', nextWeight: 0 });
    decisions.push(aborted);
    expect((await promoter.status(ROLLOUT))!.state.phase).toBe('aborted');
    await expect(promoter.evaluate(ROLLOUT)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('every decision is a row of promotion_decisions with its reasons, spec hash and decider', async () => {
    const ch = handles[handles.length - 1]!;
    const rows = await queryRows<{
      decision_id: string;
      decision: string;
      phase: string;
      step: number;
      next_step: number;
      next_weight: number;
      reasons: string;
      spec_hash: string;
      decided_by: string;
      strategy: string;
      experiment: string;
    }>(
      ch,
      'SELECT decision_id, decision, phase, step, next_step, next_weight, reasons, spec_hash, decided_by, strategy, experiment FROM promotion_decisions WHERE rollout = {rollout:String} ORDER BY decided_at, decision_id',
      { rollout: ROLLOUT },
    );
    expect(rows.map((r) => r.decision_id)).toEqual(decisions.map((d) => d.decisionId));
    expect(
      rows.map((r) => [
        r.decision,
        r.phase,
        Number(r.step),
        Number(r.next_step),
        Number(r.next_weight),
        r.decided_by,
      ]),
    ).toEqual([
      ['promote', 'shadow', 0, 1, 5, 'promoter-1'],
      ['promote', 'canary', 1, 2, 25, 'promoter-2'],
      ['rollback', 'canary', 2, 2, 0, 'promoter-2'],
    ]);
    const hash = (await promoters[promoters.length - 1]!.status(ROLLOUT))!.state.specHash;
    for (const r of rows) {
      expect(r).toMatchObject({ spec_hash: hash, strategy: 'canary', experiment: EXPERIMENT });
      expect(Array.isArray(JSON.parse(r.reasons))).toBe(true);
    }
    const reasons = JSON.parse(rows[0]!.reasons) as Array<{
      gate: string;
      outcome: string;
      reason: string;
    }>;
    expect(reasons.map((r) => r.gate)).toEqual(['agreement', 'errors', 'p99-latency', 'bake-time']);
    expect(reasons.every((r) => r.outcome === 'pass' && r.reason.length > 0)).toBe(true);
  });

  it('every decision is on the decisions topic as Avro, keyed by rollout, in order', async () => {
    const got = await readDecisions();
    expect(got.map((m) => m.decision.decisionId)).toEqual(decisions.map((d) => d.decisionId));
    for (const m of got) {
      expect(m.key).toBe(ROLLOUT);
      expect(m.headers[SCHEMA_HEADER]).toMatch(/^PromotionDecision\.v\d+$/);
    }
    const [first, second, abort] = got.map((m) => m.decision);
    expect(first).toMatchObject({
      rollout: ROLLOUT,
      experiment: EXPERIMENT,
      candidate: 'fraud-v2',
      baseline: 'fraud',
      strategy: 'canary',
      phase: 'shadow',
      step: 0,
      weight: 0,
      decision: 'promote',
      nextStep: 1,
      nextWeight: 5,
      decidedBy: 'promoter-1',
    });
    expect(first!.reasons.map((r) => [r.gate, r.segment, r.outcome])).toEqual([
      ['agreement', '', 'pass'],
      ['errors', '', 'pass'],
      ['p99-latency', '', 'pass'],
      ['bake-time', '', 'pass'],
    ]);
    expect(first!.reasons[0]!.lower).toBeGreaterThan(0.9);
    expect(second).toMatchObject({
      phase: 'canary',
      step: 1,
      decision: 'promote',
      nextWeight: 25,
      decidedBy: 'promoter-2',
    });
    expect(abort).toMatchObject({ decision: 'rollback', nextWeight: 0, reasons: [] });
    expect(first!.specHash).toBe(decisions[0]!.specHash);
  });
});
