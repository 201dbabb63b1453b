/**
 * The router's Kafka edges on the real broker: tapped events arrive on the topic decodable as
 * RequestEvents (from the tap alone and from proxied requests), and followDecisions applies the
 * promoter's PromotionDecisions for its rollout, ignoring other rollouts.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '@umbra/core';
import {
  encodePromotionDecision,
  type PromotionDecisionMessage,
} from '@umbra/core/avro';
import type { BusConsumer } from '@umbra/core/kafka';
import { createTap } from '@umbra/core/tap';
import { createRouter, followDecisions, type DecisionFollower, type Router } from '@umbra/router';
import { startBackend, type Backend } from '../../services/router/src/test-backends.ts';
import { readTopicEvents, testBus, uniqueName, waitFor } from '../support/kafka.ts';

const { bus } = testBus('umbra-router-kafka-test');
const topics: string[] = [];
const consumers: BusConsumer[] = [];
const routers: Router[] = [];
const followers: DecisionFollower[] = [];
let stable: Backend;
let canary: Backend;

beforeAll(async () => {
  stable = await startBackend('stable');
  canary = await startBackend('canary');
});

afterAll(async () => {
  for (const f of followers) await f.stop().catch(() => undefined);
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  for (const r of routers) await r.close();
  await stable.close();
  await canary.close();
  const admin = bus.admin();
  await admin.deleteTopics(topics).catch(() => undefined);
  await admin.disconnect();
});

async function newTopic(name: string): Promise<string> {
  const topic = uniqueName(`umbra.test.${name}`);
  topics.push(topic);
  await bus.ensureTopics([{ topic, partitions: 1 }]);
  return topic;
}

const readEvents = (topic: string, n: number) => readTopicEvents(bus, topic, n, consumers);

const event = (i: number): RequestEvent => ({
  eventId: `tap-${i}`,
  eventTime: 1_700_000_000_000 + i,
  model: { name: 'fraud', version: '1' },
  arm: 'stable',
  input: JSON.stringify({ amount: i }),
  output: JSON.stringify({ score: i / 1000 }),
  latencyMs: 2.5,
  status: 'ok',
  errorMessage: null,
  attributes: { region: i % 2 === 0 ? 'eu' : 'us' },
  traceId: null,
  tapSampleRate: 1,
});

describe('tap on the real broker', () => {
  it('delivers tapped events decodable as RequestEvent, in order', async () => {
    const topic = await newTopic('tap');
    const tap = createTap({ bus, topic, batchSize: 50, lingerMs: 5 });
    const sent = Array.from({ length: 230 }, (_, i) => event(i));
    for (const e of sent) expect(tap.tap(e)).toBe(true);
    expect(await tap.flush(60_000)).toBe(true);
    expect(tap.stats()).toEqual({ queued: 0, sent: 230, dropped: 0, failedBatches: 0 });
    await tap.close();
    expect(await readEvents(topic, 230)).toEqual(sent);
  });

  it('records one event per proxied request with arm, model, input, output and attributes', async () => {
    const topic = await newTopic('router-tap');
    const tap = createTap({ bus, topic, lingerMs: 5 });
    const router = createRouter({
      stable: stable.url,
      canary: canary.url,
      mode: 'canary',
      weight: 50,
      models: { stable: { name: 'fraud', version: '1' }, canary: { name: 'fraud', version: '2' } },
      tap,
      attributeHeaders: { region: 'x-region' },
      adminToken: 'token',
    });
    routers.push(router);
    const { url } = await router.listen(0, '127.0.0.1');
    const traceId = randomUUID().replaceAll('-', '');
    const served = new Map<number, string>();
    for (let i = 0; i < 20; i++) {
      const res = await request(`${url}/predict`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-region': i % 2 === 0 ? 'eu' : 'us',
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
        body: JSON.stringify({ amount: i }),
      });
      expect(res.statusCode).toBe(200);
      served.set(i, res.headers['x-umbra-arm'] as string);
      await res.body.dump();
    }
    const failed = await request(`${url}/fail`, {
      method: 'POST',
      body: JSON.stringify({ amount: -1 }),
    });
    expect(failed.statusCode).toBe(503);
    await failed.body.dump();

    await waitFor('21 taps queued', async () => tap.stats().sent + tap.stats().queued === 21, {
      timeoutMs: 10_000,
      everyMs: 20,
    });
    expect(await tap.flush(60_000)).toBe(true);
    await tap.close();
    const events = await readEvents(topic, 21);
    expect(events).toHaveLength(21);
    for (const e of events.filter((x) => x.status === 'ok')) {
      const amount = (JSON.parse(e.input) as { amount: number }).amount;
      expect(e.arm).toBe(served.get(amount));
      expect(e.model).toEqual({ name: 'fraud', version: e.arm === 'canary' ? '2' : '1' });
      expect(JSON.parse(e.output!)).toEqual({ backend: e.arm, echo: { amount } });
      expect(e.attributes).toEqual({ region: amount % 2 === 0 ? 'eu' : 'us' });
      expect(e.traceId).toBe(traceId);
      expect(e.latencyMs).toBeGreaterThan(0);
      expect(e.tapSampleRate).toBe(1);
    }
    const error = events.find((x) => x.status === 'error');
    expect(error).toMatchObject({ output: null, input: '{"amount":-1}' });
    expect(error?.errorMessage).toMatch(/^HTTP 503/);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(21);
  });
});

describe('followDecisions', () => {
  const decision = (
    rollout: string,
    nextWeight: number,
    over: Partial<PromotionDecisionMessage> = {},
  ): PromotionDecisionMessage => ({
    decisionId: randomUUID(),
    rollout,
    experiment: 'exp',
    candidate: 'fraud:2',
    baseline: 'fraud:1',
    strategy: 'canary',
    phase: 'canary',
    step: 1,
    weight: 0,
    decision: 'promote',
    nextStep: 2,
    nextWeight,
    reasons: [],
    specHash: 'h',
    decidedBy: 'test',
    decidedAt: Date.now(),
    ...over,
  });

  it('applies next_weight of its rollout on a canary router and switches a blue-green router', async () => {
    const topic = await newTopic('decisions');
    const models = {
      stable: { name: 'fraud', version: '1' },
      canary: { name: 'fraud', version: '2' },
    };
    const canaryRouter = createRouter({
      stable: stable.url,
      canary: canary.url,
      mode: 'canary',
      models,
      adminToken: 't',
    });
    const bgRouter = createRouter({
      stable: stable.url,
      canary: canary.url,
      mode: 'blue-green',
      models,
      adminToken: 't',
    });
    routers.push(canaryRouter, bgRouter);

    const producer = bus.producer();
    await producer.connect();
    const publish = async (d: PromotionDecisionMessage): Promise<void> => {
      const { value, headers } = encodePromotionDecision(d);
      await producer.send(topic, [{ key: d.rollout, value, headers }]);
    };
    // Published before the followers start: a new router converges on what was decided.
    const first = decision('fraud-canary', 10);
    await publish(first);

    const applied: string[] = [];
    followers.push(
      await followDecisions({
        bus,
        topic,
        rollout: 'fraud-canary',
        router: canaryRouter,
        onApplied: (d) => applied.push(d.decisionId),
      }),
    );
    followers.push(await followDecisions({ bus, topic, rollout: 'fraud-bg', router: bgRouter }));
    await waitFor(
      'the first decision',
      async () => canaryRouter.routing().lastDecision?.decisionId === first.decisionId,
      { timeoutMs: 60_000 },
    );
    expect(canaryRouter.routing().weight).toBe(10);

    await publish(decision('someone-else', 90));
    const second = decision('fraud-canary', 40, { step: 2, weight: 10, nextStep: 3 });
    await publish(second);
    const sw = decision('fraud-bg', 100, { strategy: 'blue-green', phase: 'preview', nextStep: 1 });
    await publish(sw);
    await producer.disconnect();

    await waitFor(
      'the second decision',
      async () => canaryRouter.routing().lastDecision?.decisionId === second.decisionId,
      { timeoutMs: 60_000 },
    );
    expect(canaryRouter.routing()).toMatchObject({ mode: 'canary', weight: 40 });
    // The other rollout's decision was read and ignored.
    expect(applied).toEqual([first.decisionId, second.decisionId]);
    await waitFor('the switch', async () => bgRouter.routing().active === 'green', {
      timeoutMs: 60_000,
    });
    expect(bgRouter.routing()).toMatchObject({
      weight: 100,
      lastDecision: { decisionId: sw.decisionId },
    });
  });
});
