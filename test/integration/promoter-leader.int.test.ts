/**
 * Single leader on the real broker: two promoters join the leader group on a one-partition topic;
 * exactly one leads and only it evaluates; when it stops, the other takes over and continues the
 * same rollout from the state in ClickHouse. (Real clock: evaluations every 300 ms.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '@umbra/core';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createKafka, type KafkaBus } from '@umbra/core/kafka';
import { createPromoter, type Promoter } from '@umbra/promoter';
import { canarySpecYaml } from '../../services/promoter/src/test-fixtures.ts';
import type {} from '../global-setup.ts';

const ROLLOUT = 'leader-it';
const id = randomUUID().slice(0, 8);
const leaderTopic = `umbra.promoter.leader.it-${id}`;
const groupId = `umbra-promoter-it-${id}`;
const decisionsTopic = `umbra.decisions.it-${id}`;

let ch: ClickHouse;
let bus: KafkaBus;
const promoters: Record<'a' | 'b', Promoter> = {} as Record<'a' | 'b', Promoter>;

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function make(name: 'a' | 'b'): Promoter {
  return createPromoter({
    ch,
    logger: silentLogger(),
    bus,
    decisionsTopic,
    instanceId: `promoter-${name}`,
    leadership: { topic: leaderTopic, groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
    tickMs: 100,
  });
}

async function deciders(): Promise<Array<{ decided_by: string; evaluation: number }>> {
  const rows = await queryRows<{ decided_by: string; decision_id: string }>(
    ch,
    'SELECT decided_by, decision_id FROM promotion_decisions WHERE rollout = {rollout:String} ORDER BY decided_at, decision_id',
    { rollout: ROLLOUT },
  );
  // The id carries the evaluation count (see newDecisionId): it must rise by one, whoever decided.
  return rows.map((r) => ({
    decided_by: r.decided_by,
    evaluation: Number(r.decision_id.split('-')[1]),
  }));
}

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  bus = createKafka({
    brokers: inject('kafkaBrokers').split(','),
    clientId: 'umbra-promoter-leader-it',
  });
  promoters.a = make('a');
  promoters.b = make('b');
  // Shadow lasts an hour and no pairs exist: every evaluation decides "continue", which is all
  // this test needs to see who evaluates.
  await promoters.a.start(
    canarySpecYaml({ rollout: ROLLOUT, experiment: 'exp-leader', interval: '300ms', shadow: '1h' }),
  );
});

afterAll(async () => {
  await Promise.allSettled(Object.values(promoters).map((p) => p.close()));
  await ch?.close();
  const admin = bus?.admin();
  await admin?.deleteTopics([leaderTopic, decisionsTopic]).catch(() => undefined);
  await admin?.disconnect();
});

describe('leader election through the umbra-promoter consumer group', () => {
  let leader: 'a' | 'b';
  let standby: 'a' | 'b';

  it('exactly one of two promoters leads, and only it evaluates', async () => {
    const joins: Record<'a' | 'b', number> = { a: 0, b: 0 };
    for (const name of ['a', 'b'] as const) {
      promoters[name].on('leadership', (c) => {
        if (c.reason === 'assigned') joins[name]++;
      });
    }
    await promoters.a.run();
    await waitFor('a to lead alone', () => promoters.a.isLeader());
    await promoters.b.run();
    // b joining makes the group rebalance; both get an assignment, exactly one holds partition 0.
    leader = await waitFor('one leader after the rebalance', () => {
      const a = promoters.a.isLeader();
      const b = promoters.b.isLeader();
      return joins.b > 0 && a !== b ? (a ? 'a' : 'b') : false;
    });
    standby = leader === 'a' ? 'b' : 'a';

    const before = (await deciders()).length;
    await waitFor(
      'three decisions by the leader',
      async () => (await deciders()).length >= before + 3,
    );
    expect(promoters[leader].isLeader() && !promoters[standby].isLeader()).toBe(true);
    const since = (await deciders()).slice(before);
    expect(new Set(since.map((d) => d.decided_by))).toEqual(new Set([`promoter-${leader}`]));

    // The standby refuses to act on the rollout.
    await expect(promoters[standby].evaluate(ROLLOUT)).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
    });
  });

  it('when the leader stops, the standby takes over and continues the same rollout', async () => {
    // close() lets an evaluation in progress finish: count the old leader's decisions after it.
    await promoters[leader].close();
    const before = await deciders();
    await waitFor('the standby to lead', () => promoters[standby].isLeader());
    await waitFor(
      'three decisions by the new leader',
      async () => (await deciders()).length >= before.length + 3,
    );

    const all = await deciders();
    const after = all.slice(before.length);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(new Set(after.map((d) => d.decided_by))).toEqual(new Set([`promoter-${standby}`]));
    // One evaluation after another, no two promoters writing the same step: the count never repeats.
    expect(all.map((d) => d.evaluation)).toEqual(all.map((_, i) => i + 1));
    // The leader appends a decision, then writes the state: a read between the two sees the
    // state one evaluation behind (statements run side by side, as on a server). Wait for the
    // state to count every decision read above; it goes on from there.
    const s = await waitFor('the state to count every decision', async () => {
      const status = await promoters[standby].status(ROLLOUT);
      return status !== null && status !== undefined && status.state.evaluations >= all.length ? status : false;
    });
    expect(s.state).toMatchObject({ phase: 'shadow', lastDecision: 'continue' });
    expect((await deciders()).map((d) => d.evaluation)).toContain(s.state.evaluations);
    expect(s.updatedBy).toBe(`promoter-${standby}`);
  });
});
