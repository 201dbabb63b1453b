/**
 * The closed loop, end to end, on the real broker and chDB (deploy/local/loop.ts, the same code
 * `npm run loop` runs): two HTTP model servers, load through the router, every request tapped to
 * Kafka, the stable arm's events replayed against the canary as a shadow, the promoter deciding on
 * the pairs and the live arms, the router following the decisions it reads from Kafka.
 *
 * - A good canary goes shadow → 20 % → 50 % → 100 % (done), and the router ends at 100 %.
 * - A canary that regresses once it serves live traffic (apac labels flip) is rolled back, and the
 *   router goes back to 0 %.
 * - Blue-green: a preview (green takes 20 %, the live arms compared), then the switch; after it
 *   green serves everything, so the evidence is the reverse shadow (green's live answers against
 *   the blue model replayed): a good green is watched to done, a green that regresses once it
 *   serves users goes back to blue.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import type { RecordedDecision } from '@umbra/promoter';
import { startLoop, type Loop, type LoopStrategy } from '../../deploy/local/loop.ts';
import type {} from '../global-setup.ts';

let ch: ClickHouse;
const loops: Loop[] = [];

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
});

afterAll(async () => {
  for (const l of loops) await l.stop();
  await ch.close();
});

async function until<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs one loop to its end; returns the weights the router took, in order, and the decisions. */
async function run(
  canary: 'good' | 'bad',
  strategy: LoopStrategy = 'canary',
): Promise<{
  loop: Loop;
  weights: number[];
  decisions: RecordedDecision[];
  phase: string;
  startedAt: number;
}> {
  const weights: number[] = [];
  const startedAt = Date.now();
  const loop = await startLoop({
    brokers: inject('kafkaBrokers').split(','),
    ch,
    canary,
    strategy,
    onRouting: (routing) => weights.push(routing.weight),
  });
  loops.push(loop);
  const seen: RecordedDecision[] = [];
  loop.promoter.on('decision', ({ decision }) => seen.push(decision));
  // A loop that never finishes says where it stood, not just that it timed out.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = seen.slice(-3).map((d) => d.summary);
      reject(
        new Error(
          `the ${canary} ${strategy} loop did not finish in 180 s; weights ${JSON.stringify(weights)}; load ${JSON.stringify(loop.load())}; last decisions: ${last.join(' | ')}`,
        ),
      );
    }, 180_000);
  });
  const { phase, decisions } = await Promise.race([loop.finished, stuck]).finally(() =>
    clearTimeout(timer),
  );
  const last = decisions[decisions.length - 1] as RecordedDecision;
  // The router learns the final decision from Kafka, not from the promoter in this process.
  await until(
    'the router to apply the final decision',
    () => loop.router.router.routing().lastDecision?.decisionId === last.decisionId,
  );
  await until(
    'the weight change to be seen',
    () => weights[weights.length - 1] === last.nextWeight,
  );
  // Stop this loop now: a loop left running would keep serving, tapping and replaying the same
  // model next to the next one (request_events are per model, not per experiment).
  await loop.stop();
  return { loop, weights, decisions, phase, startedAt };
}

const count = async (sql: string, params: Record<string, unknown>): Promise<number> =>
  Number((await queryRows<{ n: number }>(ch, sql, params))[0]?.n ?? 0);

describe('closed loop', () => {
  it('a good canary: the router follows the decisions to 100 %', async () => {
    const { loop, weights, decisions, phase, startedAt } = await run('good');
    expect(phase).toBe('done');
    expect(weights).toEqual([0, 20, 50, 100]);
    const promotions = decisions
      .filter((d) => d.decision === 'promote')
      .map((d) => `${d.weight}→${d.nextWeight}`);
    expect(promotions).toEqual(['0→20', '20→50', '50→100']);
    expect(decisions.some((d) => d.decision === 'rollback')).toBe(false);
    expect(loop.router.router.routing().weight).toBe(100);

    // The evidence was real: tapped events replayed into pairs, both live arms recorded.
    const experiment = `loop-${loop.runId}`;
    const pairs = await count(
      'SELECT count() AS n FROM shadow_pairs FINAL WHERE experiment = {e:String} AND candidate = {c:String}',
      { e: experiment, c: 'credit-risk-v2' },
    );
    expect(pairs).toBeGreaterThan(300);
    // request_events are production facts, not per experiment: this run's are the ones since it started.
    const arms = await queryRows<{ arm: string; version: string; n: number }>(
      ch,
      `SELECT arm, any(model_version) AS version, count() AS n FROM request_events FINAL
       WHERE model_name = 'credit-risk' AND event_time >= fromUnixTimestamp64Milli({t:Int64})
       GROUP BY arm ORDER BY arm`,
      { t: startedAt },
    );
    expect(arms.map((a) => `${a.arm}:${a.version}`)).toEqual(['canary:v2', 'stable:v1']);
    for (const a of arms) expect(a.n).toBeGreaterThan(100);
    // Every request got its answer; the tap lost nothing.
    const load = loop.load();
    expect(load.failed).toBe(0);
    expect(Object.keys(load.byStatus)).toEqual(['200']);
    expect(loop.router.tap?.stats().dropped).toBe(0);
  }, 240_000);

  it('a canary that regresses under live traffic: rolled back, the router back to 0 %', async () => {
    const { loop, weights, decisions, phase } = await run('bad');
    expect(phase).toBe('rolled-back');
    expect(weights[0]).toBe(0);
    expect(Math.max(...weights)).toBeGreaterThan(0);
    expect(weights[weights.length - 1]).toBe(0);
    const rollback = decisions[decisions.length - 1] as RecordedDecision;
    expect(rollback.decision).toBe('rollback');
    expect(rollback.weight).toBeGreaterThan(0);
    expect(rollback.nextWeight).toBe(0);
    // The reason names the failing gate with its evidence.
    const failed = rollback.reasons.filter((r) => r.outcome === 'fail');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.some((r) => r.gate === 'agreement')).toBe(true);
    for (const r of failed) expect(r.n).toBeGreaterThan(0);
    expect(loop.router.router.routing().weight).toBe(0);
  }, 240_000);

  it('blue-green, a good green: previewed, switched, watched on reverse-shadow pairs, done on green', async () => {
    const { loop, weights, decisions, phase, startedAt } = await run('good', 'blue-green');
    expect(phase).toBe('done');
    expect(weights).toEqual([0, 20, 100]);
    const steps = decisions
      .filter((d) => d.decision === 'promote')
      .map((d) => `${d.phase}:${d.weight}→${d.nextPhase}:${d.nextWeight}`);
    expect(steps).toEqual([
      'shadow:0→preview:20',
      'preview:20→switched:100',
      'switched:100→watch:100',
      'watch:100→done:100',
    ]);
    // The preview compared the live arms: green's 20 % against blue's 80 %.
    const preview = decisions.find((d) => d.phase === 'preview' && d.decision === 'promote')!;
    const live = preview.reasons.find((r) => r.gate === 'live-errors');
    expect(live?.outcome).toBe('pass');
    expect(live?.n).toBeGreaterThan(0);
    // After the switch the evidence came from green's own answers, replayed against blue.
    const served = await queryRows<{ served: string; arm: string; n: number }>(
      ch,
      `SELECT served, arm, count() AS n FROM shadow_pairs FINAL
       WHERE experiment = {e:String} AND candidate = 'credit-risk-v2' GROUP BY served, arm ORDER BY served, arm`,
      { e: `loop-${loop.runId}` },
    );
    expect(served.map((r) => `${r.served}:${r.arm}`)).toEqual(['baseline:blue', 'candidate:green']);
    for (const r of served) expect(r.n).toBeGreaterThan(100);
    const lastPromote = decisions.filter((d) => d.decision === 'promote').at(-1)!;
    const agreement = lastPromote.reasons.find((r) => r.gate === 'agreement' && r.segment === null);
    expect(agreement?.outcome).toBe('pass');
    expect(agreement?.n).toBeGreaterThan(0);
    const load = loop.load();
    expect(load.failed).toBe(0);
    expect(Object.keys(load.byStatus)).toEqual(['200']);
    expect(startedAt).toBeGreaterThan(0);
  }, 240_000);

  it('blue-green, a green that regresses once it serves users: back to blue', async () => {
    const { loop, weights, decisions, phase } = await run('bad', 'blue-green');
    expect(phase).toBe('rolled-back');
    expect(weights[0]).toBe(0);
    expect(Math.max(...weights)).toBeGreaterThan(0);
    expect(weights[weights.length - 1]).toBe(0);
    const rollback = decisions[decisions.length - 1] as RecordedDecision;
    expect(rollback.decision).toBe('rollback');
    // Green regresses as soon as it serves users: caught in the preview, or after the switch.
    expect(['preview', 'switched', 'watch']).toContain(rollback.phase);
    expect(rollback.nextWeight).toBe(0);
    const failed = rollback.reasons.filter((r) => r.outcome === 'fail');
    expect(failed.some((r) => r.gate === 'agreement')).toBe(true);
    expect(loop.router.router.routing().weight).toBe(0);
  }, 240_000);
});
