/**
 * One rollout with live traffic per served model, on the real engine (chDB): live arms are
 * recorded per model (request_events), so a second rollout of the same model that left shadow
 * would read the first one's arms as its own and steer the same router. Both may shadow at once;
 * the second waits in shadow, saying why, until the first ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@umbra/core';
import { createClickHouse, migrate, type ClickHouse } from '@umbra/core/clickhouse';
import { createPromoter, type Promoter } from '@umbra/promoter';
import {
  canarySpecYaml,
  manualClock,
  MINUTE,
  seedPairs,
} from '../../services/promoter/src/test-fixtures.ts';

const T0 = Math.floor(Date.now() / MINUTE) * MINUTE;
const clock = manualClock(T0);
let ch: ClickHouse;
let promoter: Promoter;

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  promoter = createPromoter({ ch, logger: silentLogger(), clock: clock.now, instanceId: 'live-it' });
});

afterAll(async () => {
  await promoter?.close();
  await ch?.close();
});

describe('two rollouts of one model', () => {
  it('both shadow; the second stays in shadow while the first has live traffic, then goes', async () => {
    // Same baseline model (fraud), two candidates, both with passing shadow evidence.
    await promoter.start(canarySpecYaml({ rollout: 'first', experiment: 'exp-first' }));
    await promoter.start(
      canarySpecYaml({ rollout: 'second', experiment: 'exp-second', candidate: 'fraud-v3' }),
    );
    const from = T0 + 1_000;
    await seedPairs(ch, { experiment: 'exp-first', from, to: from + 5 * MINUTE, count: 600, batch: 'a' });
    await seedPairs(ch, {
      experiment: 'exp-second',
      candidate: 'fraud-v3',
      from,
      to: from + 5 * MINUTE,
      count: 600,
      batch: 'b',
    });
    clock.set(T0 + 11 * MINUTE);

    const first = await promoter.evaluate('first');
    expect(`${first.decision} ${first.nextPhase} ${first.nextWeight}`).toBe('promote canary 5');

    const second = await promoter.evaluate('second');
    expect(second.decision).toBe('continue');
    expect(second.nextWeight).toBe(0);
    expect(second.reasons.find((r) => r.gate === 'live-traffic')?.outcome).toBe('inconclusive');
    expect(second.summary).toContain('rollout first (fraud-v2) has 5 % of model fraud');
    // Every other gate passed: the hold is the only thing in the way.
    expect(second.reasons.filter((r) => r.gate !== 'live-traffic').every((r) => r.outcome === 'pass')).toBe(true);

    await promoter.abort('first', 'making way for fraud-v3');
    clock.advance(MINUTE);
    const again = await promoter.evaluate('second');
    expect(`${again.decision} ${again.nextPhase} ${again.nextWeight}`).toBe('promote canary 5');
    expect(again.reasons.some((r) => r.gate === 'live-traffic')).toBe(false);
  });
});
