/**
 * The reference router as an HTTP proxy in front of two real node:http backends on loopback:
 * weighted split, sticky users, blue-green switch, backend errors passed through, the admin
 * endpoint's auth, and a tap whose Kafka is unreachable while every request is still answered.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type RequestEvent } from '@umbra/core';
import { createKafka } from '@umbra/core/kafka';
import { createTap } from '@umbra/core/tap';
import { ADMIN_PATH, createRouter, type Router, type RouterOptions } from '@umbra/router';
import { closedPort, startBackend, type Backend } from '../../services/router/src/test-backends.ts';
import { waitFor } from '../support/kafka.ts';

const TOKEN = 'test-admin-token';
let stable: Backend;
let canary: Backend;
const routers: Router[] = [];

beforeAll(async () => {
  stable = await startBackend('stable');
  canary = await startBackend('canary');
});

afterAll(async () => {
  for (const r of routers) await r.close();
  await stable.close();
  await canary.close();
});

async function start(over: Partial<RouterOptions> = {}): Promise<{ router: Router; url: string }> {
  const router = createRouter({
    stable: stable.url,
    canary: canary.url,
    mode: 'canary',
    models: { stable: { name: 'fraud', version: '1' }, canary: { name: 'fraud', version: '2' } },
    adminToken: TOKEN,
    ...over,
  });
  routers.push(router);
  const { url } = await router.listen(0, '127.0.0.1');
  return { router, url };
}

async function call(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; arm: string | null; json: Record<string, unknown> }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const arm = res.headers['x-umbra-arm'];
  return {
    status: res.statusCode,
    arm: typeof arm === 'string' ? arm : null,
    json: (await res.body.json()) as Record<string, unknown>,
  };
}

/** Runs `n` calls, `parallel` at a time. */
async function many<T>(n: number, parallel: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += parallel) {
    out.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(parallel, n - i) }, (_, j) => fn(i + j)),
      )),
    );
  }
  return out;
}

describe('router proxy', () => {
  it('splits keyless traffic by the weight and answers from the arm it names', async () => {
    const { url } = await start({ weight: 25 });
    const results = await many(1_000, 50, (i) => call(`${url}/predict`, { i }));
    expect(results.every((r) => r.status === 200)).toBe(true);
    // The body says which backend really answered; the header must agree with it.
    expect(results.every((r) => r.json.backend === r.arm)).toBe(true);
    const share = results.filter((r) => r.arm === 'canary').length / results.length;
    // Binomial sd at n=1000, p=0.25 is 1.4 %; 5 % is over 3.5 sd.
    expect(Math.abs(share - 0.25)).toBeLessThan(0.05);
    expect(results.every((r) => (r.json.echo as { i: number }).i >= 0)).toBe(true);
  });

  it('keeps a user on one arm and only moves users stable → canary as the weight grows', async () => {
    const { router, url } = await start({
      weight: 20,
      stickyKey: { header: 'x-user-id', jsonField: 'user.id' },
    });
    const users = Array.from({ length: 120 }, (_, i) => `u${i}`);
    const armAt = async (): Promise<Map<string, string>> => {
      const seen = new Map<string, string>();
      await many(users.length, 50, async (i) => {
        const u = users[i]!;
        const byHeader = await call(`${url}/predict`, { x: 1 }, { 'x-user-id': u });
        const byField = await call(`${url}/predict`, { user: { id: u } });
        // The same key by header or by body field lands on the same arm.
        expect(byField.arm).toBe(byHeader.arm);
        seen.set(u, byHeader.arm!);
      });
      return seen;
    };
    const at20 = await armAt();
    const again = await armAt();
    expect(again).toEqual(at20);
    router.setWeight(60);
    const at60 = await armAt();
    for (const u of users) if (at20.get(u) === 'canary') expect(at60.get(u)).toBe('canary');
    const count = (m: Map<string, string>) => [...m.values()].filter((a) => a === 'canary').length;
    expect(count(at60)).toBeGreaterThan(count(at20));
  });

  it('blue-green sends all traffic to one side and switches in one step through the admin endpoint', async () => {
    const { url } = await start({ mode: 'blue-green' });
    const before = await many(40, 20, (i) => call(`${url}/predict`, { i }));
    expect(new Set(before.map((r) => `${r.arm}/${String(r.json.backend)}`))).toEqual(
      new Set(['blue/stable']),
    );
    const sw = await fetch(`${url}${ADMIN_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ switch: 'green' }),
    });
    expect(sw.status).toBe(200);
    expect(await sw.json()).toMatchObject({ mode: 'blue-green', active: 'green', weight: 100 });
    const after = await many(40, 20, (i) => call(`${url}/predict`, { i }));
    expect(new Set(after.map((r) => `${r.arm}/${String(r.json.backend)}`))).toEqual(
      new Set(['green/canary']),
    );
  });

  it('taps the configured share of requests and records the rate on each event', async () => {
    const tapped: RequestEvent[] = [];
    const { url } = await start({
      weight: 50,
      tap: { tap: (e) => tapped.push(e) > 0 },
      tapSampleRate: 0.25,
    });
    const answered = await many(400, 16, (i) => call(url, { i }));
    expect(answered.every((r) => r.status === 200)).toBe(true);
    await new Promise((r) => setImmediate(r));
    // Binomial(400, 0.25): 100 ± 8.7; the band is ± 4.6 sd.
    expect(tapped.length).toBeGreaterThan(60);
    expect(tapped.length).toBeLessThan(140);
    expect(tapped.every((e) => e.tapSampleRate === 0.25)).toBe(true);
  });

  it('relays small answers whole with their length, large and chunked ones as streams, all intact', async () => {
    const tapped: RequestEvent[] = [];
    const vouched: Array<boolean | undefined> = [];
    const { url } = await start({
      tap: { tap: (e, how) => vouched.push(how?.jsonChecked) > 0 && tapped.push(e) > 0 },
    });
    const get = async (path: string) => {
      const res = await request(`${url}${path}`, { method: 'POST', body: '{}' });
      return {
        status: res.statusCode,
        length: res.headers['content-length'],
        text: await res.body.text(),
      };
    };
    const small = await get('/predict');
    expect(small.status).toBe(200);
    expect(Number(small.length)).toBe(Buffer.byteLength(small.text));
    expect(JSON.parse(small.text)).toEqual({ backend: 'stable', echo: {} });
    const big = await get('/big');
    expect(big.status).toBe(200);
    expect((JSON.parse(big.text) as { pad: string }).pad).toHaveLength(600 * 1024);
    const chunked = await get('/chunked');
    expect(chunked.length).toBeUndefined();
    expect(JSON.parse(chunked.text)).toEqual({ backend: 'stable', parts: 3 });
    await new Promise((r) => setImmediate(r));
    expect(
      tapped.map((e) => e.output && (JSON.parse(e.output) as { backend: string }).backend),
    ).toEqual(['stable', 'stable', 'stable']);
    // The router vouches that input and output are JSON (the tap then skips parsing them): they are.
    expect(vouched).toEqual([true, true, true]);
    for (const e of tapped) {
      expect(() => JSON.parse(e.input) as unknown).not.toThrow();
      expect(() => JSON.parse(e.output ?? 'null') as unknown).not.toThrow();
    }
  });

  it('counts requests by arm and status class, and times them, on /metrics', async () => {
    const registry = createRegistry('router-metrics-test');
    const { url } = await start({ weight: 0, registry });
    await many(30, 10, (i) => call(url, { i }));
    const failed = await request(`${url}/fail`, { method: 'POST', body: '{}' });
    await failed.body.dump();
    const value = async (name: string, labels: Record<string, string>) => {
      const m = await registry.getSingleMetric(name)?.get();
      const hit = m?.values.find(
        (v) =>
          (name.endsWith('_seconds')
            ? (v as { metricName?: string }).metricName === `${name}_count`
            : true) && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
      );
      return hit?.value;
    };
    expect(await value('umbra_router_requests_total', { arm: 'stable', code: '2xx' })).toBe(30);
    expect(await value('umbra_router_requests_total', { arm: 'stable', code: '5xx' })).toBe(1);
    expect(await value('umbra_router_request_duration_seconds', { arm: 'stable' })).toBe(31);
  });

  it('passes a backend 5xx through as the backend sent it', async () => {
    const { url } = await start({ weight: 0 });
    const res = await fetch(`${url}/fail`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-backend-error')).toBe('stable');
    expect(await res.json()).toEqual({ error: 'overloaded', backend: 'stable' });
  });

  it('answers 502 with a JSON error when the backend cannot be reached', async () => {
    const { url } = await start({ stable: `http://127.0.0.1:${await closedPort()}`, weight: 0 });
    const res = await fetch(`${url}/predict`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'bad_gateway', arm: 'stable' });
  });

  it('guards the admin endpoint with the bearer token and validates commands', async () => {
    const { url } = await start({ weight: 5 });
    expect((await fetch(`${url}${ADMIN_PATH}`)).status).toBe(401);
    expect(
      (await fetch(`${url}${ADMIN_PATH}`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    const noAuthPost = await fetch(`${url}${ADMIN_PATH}`, {
      method: 'POST',
      body: JSON.stringify({ weight: 100 }),
    });
    expect(noAuthPost.status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const get = await fetch(`${url}${ADMIN_PATH}`, { headers: auth });
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({
      mode: 'canary',
      weight: 5,
      arms: { canary: { model: { name: 'fraud', version: '2' } } },
    });
    expect(
      (
        await fetch(`${url}${ADMIN_PATH}`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ weight: 140 }),
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await fetch(`${url}${ADMIN_PATH}`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ switch: 'green' }),
        })
      ).status,
    ).toBe(400);
    const set = await fetch(`${url}${ADMIN_PATH}`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ weight: 40 }),
    });
    expect(await set.json()).toMatchObject({ weight: 40 });
  });

  it('keeps answering 200 when the tap’s Kafka is unreachable, and counts the drops', async () => {
    const bus = createKafka({
      brokers: [`127.0.0.1:${await closedPort()}`],
      clientId: 'umbra-router-dead-kafka',
      retry: { retries: 1, initialRetryTimeMs: 20, maxRetryTimeMs: 50 },
      connectionTimeoutMs: 200,
    });
    const registry = createRegistry('router-test', { defaultMetrics: false });
    const tap = createTap({
      bus,
      topic: 'umbra.requests',
      maxBuffer: 20,
      batchSize: 5,
      lingerMs: 1,
      initialBackoffMs: 20,
      maxBackoffMs: 100,
      closeTimeoutMs: 100,
      registry,
    });
    const { url } = await start({ weight: 50, tap, registry });
    const results = await many(60, 10, (i) => call(`${url}/predict`, { i }));
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Taps run just after each response; wait for all 60 to be accounted for.
    await waitFor(
      'every request tapped',
      async () => tap.stats().queued + tap.stats().dropped === 60,
      { timeoutMs: 10_000, everyMs: 20 },
    );
    expect(tap.stats()).toMatchObject({ queued: 20, sent: 0, dropped: 40 });
    await waitFor('a failed batch', async () => tap.stats().failedBatches > 0, {
      timeoutMs: 10_000,
      everyMs: 20,
    });
    expect(await registry.metrics()).toMatch(
      /umbra_tap_dropped_total\{topic="umbra.requests",reason="full",service="router-test"\} 40/,
    );
    await tap.close();
    expect(tap.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 60 });
  });
});
