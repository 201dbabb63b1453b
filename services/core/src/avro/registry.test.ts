import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestEvent } from '../domain/events.ts';
import { schemaCatalog } from './catalog.ts';
import { createConfluentSchemaRegistry, createStaticSchemaRegistry } from './registry.ts';
import { decodeRequestEvent, encodeRequestEvent } from './request-event.ts';
import { umbraFailure } from './test-helpers.ts';

const EVENT: RequestEvent = {
  eventId: 'e-9',
  eventTime: 1_736_154_000_000,
  model: { name: 'm', version: '2' },
  arm: 'green',
  input: '[1,2]',
  output: '3',
  latencyMs: 1,
  status: 'ok',
  errorMessage: null,
  attributes: {},
  traceId: 'abc',
  tapSampleRate: 1,
};

/**
 * The two routes of the Confluent Schema Registry REST API umbra uses, answered the way the
 * registry does (ids start at 1, re-registering returns the same id, errors carry error_code).
 */
class FakeRegistry {
  readonly schemas = new Map<number, string>();
  readonly requests: {
    method: string;
    url: string;
    auth: string | undefined;
    contentType: string | undefined;
  }[] = [];
  failNext: number | undefined;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.server?.close((e) => (e ? reject(e) : resolve())),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      auth: req.headers.authorization,
      contentType: req.headers['content-type'],
    });
    const send = (status: number, json: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify(json));
    };
    if (this.failNext !== undefined) {
      const status = this.failNext;
      this.failNext = undefined;
      return send(status, { error_code: status * 100, message: `injected ${status}` });
    }
    if (req.headers.authorization !== `Basic ${Buffer.from('key:secret').toString('base64')}`) {
      return send(401, { error_code: 40101, message: 'Unauthorized' });
    }
    const byId = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && byId) {
      const schema = this.schemas.get(Number(byId[1]));
      return schema === undefined
        ? send(404, { error_code: 40403, message: 'Schema not found' })
        : send(200, { schema });
    }
    const versions = /^\/subjects\/([^/]+)\/versions$/.exec(req.url ?? '');
    if (req.method === 'POST' && versions) {
      const schema = (JSON.parse(body) as { schema: string }).schema;
      for (const [id, known] of this.schemas) if (known === schema) return send(200, { id });
      const id = this.schemas.size + 1;
      this.schemas.set(id, schema);
      return send(200, { id });
    }
    send(404, { error_code: 404, message: 'no route' });
  }
}

const fake = new FakeRegistry();
let url: string;

beforeAll(async () => {
  url = await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.requests.length = 0;
});

describe('Confluent schema registry client', () => {
  const v1 = schemaCatalog().get('RequestEvent', 1);
  const v2 = schemaCatalog().get('RequestEvent', 2);

  it('registers schemas, gets ids back, and round-trips an event through the wire format', async () => {
    const registry = createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' });
    const id1 = await registry.register('umbra.requests-value', v1.text);
    const id2 = await registry.register('umbra.requests-value', v2.text);
    expect([id1, id2]).toEqual([1, 2]);
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      url: '/subjects/umbra.requests-value/versions',
      contentType: 'application/vnd.schemaregistry.v1+json',
    });

    // A second client knows nothing yet and must look the id up.
    const reader = createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' });
    const msg = encodeRequestEvent(EVENT, { format: 'confluent', schemaId: id2 });
    expect(await decodeRequestEvent(msg.value, msg.headers, reader)).toEqual(EVENT);
    const old = encodeRequestEvent(EVENT, { format: 'confluent', schemaId: id1, version: 1 });
    expect(await decodeRequestEvent(old.value, old.headers, reader)).toEqual({
      ...EVENT,
      tapSampleRate: null,
    });
    expect(fake.requests.filter((r) => r.method === 'GET').map((r) => r.url)).toEqual([
      '/schemas/ids/2',
      '/schemas/ids/1',
    ]);
  });

  it('caches schemas by id, and concurrent lookups share one request', async () => {
    fake.schemas.set(50, v2.text);
    const registry = createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' });
    const texts = await Promise.all([
      registry.getSchema(50),
      registry.getSchema(50),
      registry.getSchema(50),
    ]);
    expect(new Set(texts)).toEqual(new Set([v2.text]));
    await registry.getSchema(50);
    expect(fake.requests).toHaveLength(1);
  });

  it('sends basic auth', async () => {
    fake.schemas.set(51, v1.text);
    await createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' }).getSchema(51);
    expect(fake.requests[0]!.auth).toBe(`Basic ${Buffer.from('key:secret').toString('base64')}`);
    const err = await umbraFailure(() => createConfluentSchemaRegistry({ url }).getSchema(51));
    expect(err.code).toBe('REGISTRY_FAILED');
    expect(err.retriable).toBe(false);
    expect(err.context).toMatchObject({ status: 401, errorCode: 40101 });
  });

  it('an unknown id is SCHEMA_UNKNOWN, and is asked again next time', async () => {
    const registry = createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' });
    const err = await umbraFailure(() => registry.getSchema(999));
    expect(err.code).toBe('SCHEMA_UNKNOWN');
    expect(err.context).toMatchObject({ schemaId: 999, errorCode: 40403 });
    fake.schemas.set(999, v1.text);
    expect(await registry.getSchema(999)).toBe(v1.text);
  });

  it('5xx is a retriable REGISTRY_FAILED that is not cached', async () => {
    fake.schemas.set(52, v1.text);
    const registry = createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' });
    fake.failNext = 503;
    const err = await umbraFailure(() => registry.getSchema(52));
    expect(err.code).toBe('REGISTRY_FAILED');
    expect(err.retriable).toBe(true);
    expect(await registry.getSchema(52)).toBe(v1.text);
  });

  it('a refused registration is a non-retriable REGISTRY_FAILED', async () => {
    const registry = createConfluentSchemaRegistry({ url, username: 'key', password: 'secret' });
    fake.failNext = 409;
    const err = await umbraFailure(() => registry.register('s', v1.text));
    expect(err.code).toBe('REGISTRY_FAILED');
    expect(err.retriable).toBe(false);
    expect(err.context).toMatchObject({ status: 409 });
  });

  it('a connection that drops is a retriable REGISTRY_FAILED, also through decode', async () => {
    const dropping = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    try {
      const registry = createConfluentSchemaRegistry({
        url: `http://127.0.0.1:${(dropping.address() as AddressInfo).port}`,
      });
      const err = await umbraFailure(() => registry.getSchema(1));
      expect(err.code).toBe('REGISTRY_FAILED');
      expect(err.retriable).toBe(true);
      const msg = encodeRequestEvent(EVENT, { format: 'confluent', schemaId: 1 });
      expect(
        (await umbraFailure(() => decodeRequestEvent(msg.value, msg.headers, registry))).code,
      ).toBe('REGISTRY_FAILED');
    } finally {
      dropping.closeAllConnections();
      await new Promise<void>((resolve) => dropping.close(() => resolve()));
    }
  });
});

describe('static schema registry', () => {
  const v1 = schemaCatalog().get('RequestEvent', 1);

  it('serves pinned ids and registers new schemas under the next id', async () => {
    const registry = createStaticSchemaRegistry(new Map([[42, v1.text]]));
    expect(await registry.getSchema(42)).toBe(v1.text);
    // Same schema, other whitespace: the same entry.
    expect(await registry.register('any', JSON.stringify(JSON.parse(v1.text), null, 2))).toBe(42);
    expect(await registry.register('any', schemaCatalog().get('RequestEvent', 2).text)).toBe(43);
    expect((await umbraFailure(() => registry.getSchema(7))).code).toBe('SCHEMA_UNKNOWN');
    expect((await umbraFailure(() => registry.register('any', '{not json'))).code).toBe(
      'BAD_ARGUMENT',
    );
  });
});
