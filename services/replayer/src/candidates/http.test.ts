import { afterEach, describe, expect, it } from 'vitest';
import { isUmbraError, type UmbraError } from '@umbra/core';
import { createCandidateClient, type ManagedCandidateClient } from './factory.ts';
import { closedPort, json, makeEvent, startServer, type Handler, type TestServer } from './fixtures/servers.ts';
import type { RetryInfo } from './wrappers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler);
  cleanup.push(() => server.close());
  return server;
}

async function candidate(config: Record<string, unknown>, retries?: RetryInfo[]): Promise<ManagedCandidateClient> {
  const client = await createCandidateClient(
    // A generous timeout so a loaded machine cannot turn a slow answer into a failure.
    { name: 'cand-a', adapter: 'http', timeoutMs: 10_000, retry: { backoffMs: 1, maxBackoffMs: 5 }, ...config },
    retries ? { onRetry: (r) => retries.push(r) } : {},
  );
  cleanup.push(() => client.close());
  return client;
}

async function failure(p: Promise<unknown>): Promise<UmbraError> {
  try {
    await p;
  } catch (e) {
    if (isUmbraError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const event = makeEvent({ amount: 150, country: 'DE' });

describe('http candidate', () => {
  it('sends the event input as is and returns the value at outputPath', async () => {
    const seen: { body: string; contentType: string | undefined; token: string | undefined; url: string | undefined }[] = [];
    const server = await serve((req, body, res) => {
      seen.push({ body, contentType: req.headers['content-type'], token: req.headers['x-token'] as string, url: req.url });
      json(res, 200, { result: { label: 'fraud', score: 0.9 }, took: 1 });
    });
    const client = await candidate({ url: `${server.url}/predict?v=2`, outputPath: '$.result', headers: { 'x-token': 't' } });

    const result = await client.invoke(event);

    expect(JSON.parse(result.output)).toEqual({ label: 'fraud', score: 0.9 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(seen).toEqual([{ body: event.input, contentType: 'application/json', token: 't', url: '/predict?v=2' }]);
  });

  it('places the input in a body template', async () => {
    const bodies: unknown[] = [];
    const server = await serve((_req, body, res) => {
      bodies.push(JSON.parse(body));
      json(res, 200, { predictions: [[0.1, 0.9]] });
    });
    const client = await candidate({
      url: server.url,
      body: { template: { instances: ['$input'], country: '$input.country', fixed: 'x' } },
      outputPath: '$.predictions[0][1]',
    });

    const result = await client.invoke(event);

    expect(result.output).toBe('0.9');
    expect(bodies).toEqual([{ instances: [{ amount: 150, country: 'DE' }], country: 'DE', fixed: 'x' }]);
  });

  it('rejects an input that lacks a template placeholder path with CANDIDATE_BAD_INPUT, without calling', async () => {
    const server = await serve((_req, _body, res) => json(res, 200, {}));
    const client = await candidate({ url: server.url, body: { template: { x: '$input.missing' } } });

    const err = await failure(client.invoke(event));

    expect(err.code).toBe('CANDIDATE_BAD_INPUT');
    expect(server.requests).toBe(0);
  });

  it('retries a 500 and succeeds on the next attempt', async () => {
    const server = await serve((_req, _body, res) => {
      if (server.requests === 1) json(res, 500, { error: 'warming up' });
      else json(res, 200, { label: 'ok' });
    });
    const retries: RetryInfo[] = [];
    const client = await candidate({ url: server.url }, retries);

    const result = await client.invoke(event);

    expect(JSON.parse(result.output)).toEqual({ label: 'ok' });
    expect(server.requests).toBe(2);
    expect(retries.map((r) => [r.retry, r.error.code])).toEqual([[1, 'CANDIDATE_HTTP_ERROR']]);
  });

  it('gives up after 1 + attempts tries on a persistent 503 or 429', async () => {
    for (const status of [503, 429]) {
      const server = await serve((_req, _body, res) => json(res, status, { error: 'busy' }));
      const client = await candidate({ url: server.url, retry: { attempts: 2, backoffMs: 1, maxBackoffMs: 2 } });

      const err = await failure(client.invoke(event));

      expect(err.code).toBe('CANDIDATE_HTTP_ERROR');
      expect(err.retriable).toBe(true);
      expect(err.context).toMatchObject({ status, attempts: 3 });
      expect(server.requests).toBe(3);
    }
  });

  it('does not retry a 400 and keeps an excerpt of the body', async () => {
    const server = await serve((_req, _body, res) => json(res, 400, { error: 'feature amount must be positive', pad: 'x'.repeat(5000) }));
    const client = await candidate({ url: server.url });

    const err = await failure(client.invoke(event));

    expect(err.code).toBe('CANDIDATE_HTTP_ERROR');
    expect(err.retriable).toBe(false);
    expect(err.context.status).toBe(400);
    expect(err.context.body).toContain('feature amount must be positive');
    expect((err.context.body as string).length).toBeLessThanOrEqual(1024);
    expect(server.requests).toBe(1);
  });

  it('reuses the socket after an error response (its body is consumed)', async () => {
    const server = await serve((_req, _body, res) => json(res, 404, { error: 'x'.repeat(20_000) }));
    const client = await candidate({ url: server.url, concurrency: 1 });

    for (let i = 0; i < 20; i++) expect((await failure(client.invoke(event))).code).toBe('CANDIDATE_HTTP_ERROR');

    expect(server.requests).toBe(20);
    expect(server.connections).toBe(1);
  });

  it('ends a call beyond timeoutMs with CANDIDATE_TIMEOUT, not retried, and aborts the request', async () => {
    let closedOnServer!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closedOnServer = resolve));
    const server = await serve((_req, _body, res) => {
      // Never answers; the client must give up and close the socket.
      res.on('close', () => closedOnServer());
    });
    const client = await candidate({ url: server.url, timeoutMs: 100 });

    const err = await failure(client.invoke(event));

    expect(err.code).toBe('CANDIDATE_TIMEOUT');
    expect(err.retriable).toBe(false);
    await serverSawClose;
    expect(server.requests).toBe(1);
    expect(client.inFlight).toBe(0);
  });

  it('cancels the request in flight when the caller aborts, with CANDIDATE_ABORTED', async () => {
    let closedOnServer!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closedOnServer = resolve));
    const controller = new AbortController();
    const server = await serve((_req, _body, res) => {
      res.on('close', () => closedOnServer());
      controller.abort();
    });
    const client = await candidate({ url: server.url });

    const err = await failure(client.invoke(event, controller.signal));

    expect(err.code).toBe('CANDIDATE_ABORTED');
    await serverSawClose;
    expect(server.requests).toBe(1);
  });

  it('retries timeouts when retry.onTimeout is set', async () => {
    const server = await serve(() => {});
    const client = await candidate({ url: server.url, timeoutMs: 300, retry: { attempts: 1, backoffMs: 1, onTimeout: true } });

    const err = await failure(client.invoke(event));

    expect(err.code).toBe('CANDIDATE_TIMEOUT');
    expect(err.context.attempts).toBe(2);
    expect(server.requests).toBe(2);
  });

  it('maps a closed port to CANDIDATE_REFUSED after retrying', async () => {
    const port = await closedPort();
    const retries: RetryInfo[] = [];
    const client = await candidate({ url: `http://127.0.0.1:${port}/predict` }, retries);

    const err = await failure(client.invoke(event));

    expect(err.code).toBe('CANDIDATE_REFUSED');
    expect(err.retriable).toBe(true);
    expect(err.context).toMatchObject({ code: 'ECONNREFUSED', attempts: 3 });
    expect(retries.map((r) => r.retry)).toEqual([1, 2]);
  });

  it('maps a connection reset to CANDIDATE_REFUSED and retries it', async () => {
    const server = await serve((req, _body, res) => {
      if (server.requests === 1) req.socket.destroy();
      else json(res, 200, { label: 'ok' });
    });
    const retries: RetryInfo[] = [];
    const client = await candidate({ url: server.url }, retries);

    const result = await client.invoke(event);

    expect(JSON.parse(result.output)).toEqual({ label: 'ok' });
    expect(retries.map((r) => r.error.code)).toEqual(['CANDIDATE_REFUSED']);
  });

  it('rejects a body that is not JSON, or lacks outputPath, with CANDIDATE_BAD_OUTPUT', async () => {
    const server = await serve((req, _body, res) => {
      if (req.url === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('fraud');
      } else json(res, 200, { other: 1 });
    });
    const text = await candidate({ url: `${server.url}/text` });
    const missing = await candidate({ name: 'cand-b', url: `${server.url}/json`, outputPath: '$.result.label' });

    const notJson = await failure(text.invoke(event));
    const noPath = await failure(missing.invoke(event));

    expect(notJson.code).toBe('CANDIDATE_BAD_OUTPUT');
    expect(notJson.context.body).toBe('fraud');
    expect(noPath.code).toBe('CANDIDATE_BAD_OUTPUT');
    expect(noPath.context.outputPath).toBe('$.result.label');
    expect(server.requests).toBe(2);
  });

  it('keeps at most `concurrency` calls in flight under 100 parallel invokes', async () => {
    const server = await serve((_req, _body, res) => {
      setTimeout(() => json(res, 200, { label: 'ok' }), 20);
    });
    const client = await candidate({ url: server.url, concurrency: 8 });

    const calls = Array.from({ length: 100 }, (_, i) => client.invoke(makeEvent({ i }, `evt-${i}`)));
    expect([client.inFlight, client.queued]).toEqual([8, 92]);
    const results = await Promise.all(calls);

    expect(results).toHaveLength(100);
    expect(server.requests).toBe(100);
    expect(server.maxInFlight).toBe(8);
    expect([client.inFlight, client.queued]).toEqual([0, 0]);
  });

  it('reuses keep-alive connections across 200 sequential calls', async () => {
    const server = await serve((_req, _body, res) => json(res, 200, { label: 'ok' }));
    const client = await candidate({ url: server.url });

    for (let i = 0; i < 200; i++) await client.invoke(makeEvent({ i }, `evt-${i}`));

    expect(server.requests).toBe(200);
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('lets a queued caller abort, and close() rejects the rest of the queue', async () => {
    const releases: (() => void)[] = [];
    const server = await serve((_req, _body, res) => {
      releases.push(() => json(res, 200, { label: 'ok' }));
    });
    const client = await candidate({ url: server.url, concurrency: 1 });
    const controller = new AbortController();

    const first = client.invoke(makeEvent({}, 'a'));
    const aborted = failure(client.invoke(makeEvent({}, 'b'), controller.signal));
    const dropped = failure(client.invoke(makeEvent({}, 'c')));
    expect(client.queued).toBe(2);
    controller.abort();
    expect((await aborted).code).toBe('CANDIDATE_ABORTED');
    expect(client.queued).toBe(1);

    const closing = client.close();
    expect((await dropped).code).toBe('CANDIDATE_ABORTED');
    while (releases.length === 0) await new Promise((r) => setImmediate(r));
    releases[0]?.();
    expect(JSON.parse((await first).output)).toEqual({ label: 'ok' });
    await closing;
    expect((await failure(client.invoke(event))).context.reason).toBe('closed');
    expect(server.requests).toBe(1);
  });
});
