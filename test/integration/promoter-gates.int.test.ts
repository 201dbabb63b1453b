/**
 * The gate API over real HTTP, on rollouts the promoter moved with evidence seeded into the real
 * engine (chDB): every Flagger hook answers with the status code Flagger acts on, the Argo verdict
 * reads right in successCondition / failureCondition, and nothing is served without a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, silentLogger } from '@umbra/core';
import { createClickHouse, migrate, type ClickHouse } from '@umbra/core/clickhouse';
import {
  createGateServer,
  createPromoter,
  type ArgoVerdict,
  type GateServer,
  type Promoter,
} from '@umbra/promoter';
import {
  canarySpecYaml,
  manualClock,
  MINUTE,
  seedPairs,
} from '../../services/promoter/src/test-fixtures.ts';

const TOKEN = 'gate-token-0123456789abcdef';
const T0 = Math.floor(Date.now() / 60_000) * 60_000;
const clock = manualClock(T0);

let ch: ClickHouse;
let promoter: Promoter;
let gate: GateServer;
let seeded = 0;

/** Seeds good (or bad) pairs since the rollout's step started, then moves the clock past the step's minimum time and evaluates. */
async function step(
  rollout: string,
  experiment: string,
  quality: 'good' | 'bad' = 'good',
): Promise<string> {
  const s = await promoter.status(rollout);
  const from = s!.state.stepStartedAt + 1_000;
  await seedPairs(ch, {
    experiment,
    from,
    to: from + 5 * MINUTE,
    count: 600,
    agreement: quality === 'good' ? 0.995 : 0.6,
    batch: `b${seeded++}`,
  });
  clock.set(Math.max(clock.now(), s!.state.stepStartedAt + 11 * MINUTE));
  return (await promoter.evaluate(rollout)).decision;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  opts: { token?: string | null; body?: unknown; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${gate.url}${path}`, {
    method,
    headers,
    ...(opts.raw !== undefined
      ? { body: opts.raw }
      : opts.body !== undefined
        ? { body: JSON.stringify(opts.body) }
        : {}),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  };
}

/** Flagger's payload; `rollout` in metadata, or named by namespace/name. */
function payload(
  target: { rollout?: string; namespace?: string; name?: string },
  extra: Record<string, string> = {},
) {
  return {
    name: target.name ?? 'podinfo',
    namespace: target.namespace ?? 'test',
    phase: 'Progressing',
    checksum: '6b7c2f0c',
    metadata: { ...(target.rollout ? { rollout: target.rollout } : {}), ...extra },
  };
}

const hook = (
  name: string,
  target: { rollout?: string; namespace?: string; name?: string },
  opts: { token?: string | null } = {},
) => call('POST', `/flagger/${name}`, { body: payload(target), ...opts });

// Rollouts in the states the hooks answer differently for.
const CANARY = 'test/podinfo'; // Flagger's default mapping: <namespace>/<name>
const SHADOW = 'gates-shadow';
const FAILED = 'gates-failed';
const DONE = 'gates-done';

beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
  await migrate(ch);
  promoter = createPromoter({
    ch,
    logger: silentLogger(),
    clock: clock.now,
    instanceId: 'gates-it',
  });
  gate = await createGateServer({
    source: promoter,
    tokens: ['old-token-being-rotated-out', TOKEN],
    logger: silentLogger(),
    registry: createRegistry('promoter-gates-it', { defaultMetrics: false }),
  });

  await promoter.start(canarySpecYaml({ rollout: SHADOW, experiment: 'exp-shadow' }));
  await promoter.start(canarySpecYaml({ rollout: CANARY, experiment: 'exp-canary' }));
  await promoter.start(canarySpecYaml({ rollout: FAILED, experiment: 'exp-failed' }));
  await promoter.start(canarySpecYaml({ rollout: DONE, experiment: 'exp-done' }));

  // All four roll out model fraud: one at a time may hold live traffic, so DONE finishes first.
  for (let i = 0; i < 4; i++) expect(await step(DONE, 'exp-done')).toBe('promote'); // shadow → 5 → 25 → 50 → done
  expect(await step(CANARY, 'exp-canary')).toBe('promote'); // shadow → canary 5 %
  expect(await step(FAILED, 'exp-failed', 'bad')).toBe('rollback');
});

afterAll(async () => {
  await gate?.close();
  await promoter?.close();
  await ch?.close();
});

describe('gate API authentication', () => {
  it('answers 401 without a token, with a wrong one, and with a Bearer header of another scheme', async () => {
    for (const token of [null, 'wrong-token']) {
      const f = await hook('rollout', { rollout: CANARY }, { token });
      expect(f.status).toBe(401);
      expect(f.headers.get('www-authenticate')).toContain('Bearer');
      expect((await call('GET', `/argo/rollouts/${SHADOW}`, { token })).status).toBe(401);
      expect((await call('GET', `/v1/verdict?rollout=${SHADOW}`, { token })).status).toBe(401);
    }
    const basic = await fetch(`${gate.url}/argo/rollouts/${SHADOW}`, {
      headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    // An unauthenticated caller learns nothing about its payload either.
    expect((await call('POST', '/flagger/rollout', { token: null, raw: '{not json' })).status).toBe(
      401,
    );
  });

  it('takes the token from metadata.token for Flagger, which cannot send headers', async () => {
    const body = payload({ rollout: CANARY }, { token: TOKEN });
    expect((await call('POST', '/flagger/rollout', { token: null, body })).status).toBe(200);
    const wrong = payload({ rollout: CANARY }, { token: 'nope' });
    expect((await call('POST', '/flagger/rollout', { token: null, body: wrong })).status).toBe(401);
    // metadata.token is for Flagger only: the Argo route wants the header.
    expect((await fetch(`${gate.url}/argo/rollouts/${SHADOW}?token=${TOKEN}`)).status).toBe(401);
  });

  it('accepts every configured token (rotation) and serves /healthz without one', async () => {
    expect(
      (await call('GET', `/argo/rollouts/${SHADOW}`, { token: 'old-token-being-rotated-out' }))
        .status,
    ).toBe(200);
    const health = await call('GET', '/healthz', { token: null });
    expect(health).toMatchObject({ status: 200, body: { ok: true, leader: true } });
  });

  it('refuses to start without a token', async () => {
    await expect(
      createGateServer({ source: promoter, tokens: [''], logger: silentLogger() }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('gate API: bad requests', () => {
  it('400 for a body that is not a Flagger payload, 404 for unknown hooks and rollouts, 405 for the wrong method', async () => {
    expect((await call('POST', '/flagger/rollout', { raw: '{not json' })).status).toBe(400);
    expect((await call('POST', '/flagger/rollout', { body: { namespace: 'test' } })).status).toBe(
      400,
    );
    expect(
      (
        await call('POST', '/flagger/rollout', {
          body: { name: 'a', namespace: 'b', metadata: { n: 1 } },
        })
      ).status,
    ).toBe(400);
    expect(
      (await call('POST', '/flagger/promote-now', { body: payload({ rollout: CANARY }) })).status,
    ).toBe(404);
    const unknown = await hook('rollout', { namespace: 'prod', name: 'nothing-here' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain('prod/nothing-here');
    expect((await call('GET', '/argo/rollouts/nothing-here')).status).toBe(404);
    expect((await call('GET', '/flagger/rollout')).status).toBe(405);
    expect((await call('GET', `/argo/rollouts/${SHADOW}?weight=abc`)).status).toBe(400);
    expect((await call('GET', `/argo/rollouts/${SHADOW}?weight=5&phase=done`)).status).toBe(400);
    expect((await call('GET', `/argo/rollouts/${SHADOW}?phase=later`)).status).toBe(400);
    expect((await call('GET', '/v1/verdict')).status).toBe(400);
  });
});

describe('Flagger webhooks: 200 advances, non-2xx halts, per hook type', () => {
  it('confirm-rollout holds while umbra is in shadow, passes after shadow, fails a rolled-back rollout', async () => {
    const shadow = await hook('confirm-rollout', { rollout: SHADOW });
    expect(shadow.status).toBe(409);
    expect(shadow.body).toMatchObject({
      rollout: SHADOW,
      hook: 'confirm-rollout',
      verdict: 'hold',
      allowed: false,
      phase: 'shadow',
    });
    expect((await hook('confirm-rollout', {})).status).toBe(200); // test/podinfo, canary 5 %
    expect((await hook('confirm-rollout', { rollout: FAILED })).status).toBe(412);
  });

  it("pre-rollout and rollout fail only a rolled-back rollout (a failure counts towards Flagger's threshold)", async () => {
    for (const name of ['pre-rollout', 'rollout']) {
      expect((await hook(name, { rollout: SHADOW })).status).toBe(200);
      const canary = await hook(name, {});
      expect(canary.status).toBe(200);
      expect(canary.body).toMatchObject({
        rollout: CANARY,
        phase: 'canary',
        step: 1,
        weight: 5,
        allowed: true,
      });
      const failed = await hook(name, { rollout: FAILED });
      expect(failed.status).toBe(412);
      expect(failed.body).toMatchObject({ verdict: 'fail', phase: 'rolled-back' });
      expect(String(failed.body.message)).toContain('agreement');
    }
  });

  it('confirm-traffic-increase grants one increase per step umbra approved', async () => {
    expect((await hook('confirm-traffic-increase', { rollout: SHADOW })).status).toBe(409);
    const first = await hook('confirm-traffic-increase', {});
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ verdict: 'advance', weight: 5 });
    // Flagger asks again before umbra has judged the 5 % step: hold.
    const again = await hook('confirm-traffic-increase', {});
    expect(again.status).toBe(409);
    expect(String(again.body.message)).toContain('waiting for umbra to pass step 1');
    expect(await step(CANARY, 'exp-canary')).toBe('promote'); // 5 % → 25 %
    const next = await hook('confirm-traffic-increase', {});
    expect(next).toMatchObject({ status: 200, body: { weight: 25, step: 2 } });
    expect((await hook('confirm-traffic-increase', {})).status).toBe(409);
    expect((await hook('confirm-traffic-increase', { rollout: FAILED })).status).toBe(412);
    // Past the last step every increase is approved: Flagger may reach its max weight and promote.
    expect((await hook('confirm-traffic-increase', { rollout: DONE })).status).toBe(200);
    expect((await hook('confirm-traffic-increase', { rollout: DONE })).status).toBe(200);
  });

  it('confirm-promotion holds until umbra is done, fails a rolled-back rollout', async () => {
    expect((await hook('confirm-promotion', {})).status).toBe(409);
    expect((await hook('confirm-promotion', { rollout: SHADOW })).status).toBe(409);
    const done = await hook('confirm-promotion', { rollout: DONE });
    expect(done).toMatchObject({
      status: 200,
      body: { verdict: 'advance', phase: 'done', weight: 100 },
    });
    expect((await hook('confirm-promotion', { rollout: FAILED })).status).toBe(412);
  });

  it('rollback answers 200 (roll back now) only for a rolled-back rollout', async () => {
    const failed = await hook('rollback', { rollout: FAILED });
    expect(failed).toMatchObject({ status: 200, body: { verdict: 'rollback' } });
    for (const rollout of [CANARY, SHADOW, DONE]) {
      const r = await hook('rollback', { rollout });
      expect(r.status).toBe(409);
      expect(r.body.verdict).toBe('no-rollback');
    }
  });

  it('post-rollout is acknowledged with 200 and event with 202', async () => {
    expect((await hook('post-rollout', { rollout: DONE })).status).toBe(200);
    const event = await call('POST', '/flagger/event', {
      body: payload(
        { rollout: CANARY },
        {
          eventMessage: 'Advance podinfo.test canary weight 25',
          eventType: 'Normal',
          timestamp: '1700000000000',
        },
      ),
    });
    expect(event).toMatchObject({ status: 202, body: { verdict: 'ack', allowed: true } });
  });
});

describe('Argo Rollouts web metric', () => {
  const verdict = async (path: string): Promise<ArgoVerdict> => {
    const r = await call('GET', path);
    expect(r.status).toBe(200); // always 200: Argo reads non-2xx as a measurement error
    return r.body as unknown as ArgoVerdict;
  };

  it('promote once umbra approved more than the weight asked about; inconclusive before; evidence fields filled', async () => {
    const path = `/argo/rollouts/${encodeURIComponent(CANARY)}`;
    const past5 = await verdict(`${path}?weight=5`); // umbra is at 25 %
    expect(past5).toMatchObject({
      rollout: CANARY,
      decision: 'promote',
      promote: true,
      rollback: false,
      inconclusive: false,
      phase: 'canary',
      weight: 25,
    });
    const past25 = await verdict(`${path}?weight=25`);
    expect(past25).toMatchObject({
      decision: 'continue',
      promote: false,
      rollback: false,
      inconclusive: true,
    });
    // The last decision's evidence, for dashboards and the AnalysisRun's measurement value.
    expect(past25.agreementLower).toBeGreaterThan(0.9);
    expect(past25.agreementUpper).toBeLessThanOrEqual(1);
    expect(past25.agreementLower!).toBeLessThan(past25.agreementUpper!);
    expect(past25.errorRateUpper).toBeLessThan(0.05);
    expect(past25.p99Ratio).toBeCloseTo(1, 5);
    expect(past25.n).toBe(600);
    expect(past25.reasons.map((r) => r.gate)).toEqual(['agreement', 'errors', 'p99-latency']);
    expect(past25.summary).toContain('inconclusive beyond 25 %');
  });

  it('rollback for a rolled-back rollout whatever is asked; promote by phase', async () => {
    for (const q of ['', '?weight=0', '?phase=canary']) {
      expect(await verdict(`/argo/rollouts/${FAILED}${q}`)).toMatchObject({
        decision: 'rollback',
        rollback: true,
        promote: false,
        inconclusive: false,
      });
    }
    expect(await verdict(`/argo/rollouts/${SHADOW}?phase=canary`)).toMatchObject({
      promote: false,
      inconclusive: true,
      phase: 'shadow',
    });
    expect(await verdict(`/argo/rollouts/${DONE}?phase=done`)).toMatchObject({
      promote: true,
      phase: 'done',
    });
    expect(await verdict(`/argo/rollouts/${CANARY}?phase=canary`)).toMatchObject({ promote: true });
    expect(await verdict(`/argo/rollouts/${CANARY}?phase=done`)).toMatchObject({
      promote: false,
      inconclusive: true,
    });
    // /v1/verdict is the same verdict under a query parameter.
    expect(
      await verdict(`/v1/verdict?rollout=${encodeURIComponent(CANARY)}&weight=5`),
    ).toMatchObject({ rollout: CANARY, promote: true });
  });

  it('without weight or phase, follows the last decision', async () => {
    expect(await verdict(`/argo/rollouts/${SHADOW}`)).toMatchObject({
      promote: false,
      inconclusive: true,
      decisionId: null,
      n: 0,
    });
    expect(await verdict(`/argo/rollouts/${encodeURIComponent(CANARY)}`)).toMatchObject({
      promote: true,
    }); // last decision: promote to 25 %
  });
});
