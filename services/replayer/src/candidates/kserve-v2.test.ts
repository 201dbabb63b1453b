import { afterEach, describe, expect, it } from 'vitest';
import { isUmbraError, type UmbraError } from '@umbra/core';
import { createCandidateClient, type ManagedCandidateClient } from './factory.ts';
import { json, makeEvent, startServer, type TestServer } from './fixtures/servers.ts';
import { featuresToInferRequest, inferPath, inferResponseToOutput, type InferRequest, type InferTensor } from './kserve-v2.ts';

/**
 * A small Open Inference Protocol server: checks the request shape it receives the way a
 * KServe runtime would, and answers with a label and per-class probabilities.
 */
async function startOipServer(received: { path: string; body: InferRequest }[]): Promise<TestServer> {
  return startServer((req, body, res) => {
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return json(res, 404, { error: `no route ${req.method} ${req.url}` });
    let request: InferRequest;
    try {
      request = JSON.parse(body) as InferRequest;
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const problem = checkInferRequest(request);
    if (problem) return json(res, 400, { error: problem });
    received.push({ path: req.url ?? '', body: request });
    const amount = Number(request.inputs.find((t) => t.name === 'amount')?.data[0] ?? 0);
    json(res, 200, {
      model_name: m[1],
      model_version: m[2] ?? '1',
      ...(request.id === undefined ? {} : { id: request.id }),
      outputs: [
        { name: 'label', shape: [1], datatype: 'BYTES', data: [amount > 100 ? 'fraud' : 'ok'] },
        { name: 'probabilities', shape: [1, 2], datatype: 'FP32', data: [0.25, 0.75] },
      ],
    });
  });
}

function checkInferRequest(r: InferRequest): string | null {
  if (!Array.isArray(r.inputs) || r.inputs.length === 0) return 'inputs must be a non-empty array';
  for (const t of r.inputs as InferTensor[]) {
    if (typeof t.name !== 'string' || !Array.isArray(t.shape) || typeof t.datatype !== 'string' || !Array.isArray(t.data)) {
      return `tensor ${JSON.stringify(t)} lacks name, shape, datatype or data`;
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) return `tensor ${t.name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} elements`;
  }
  return null;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(extra: Record<string, unknown> = {}): Promise<{ client: ManagedCandidateClient; received: { path: string; body: InferRequest }[]; server: TestServer }> {
  const received: { path: string; body: InferRequest }[] = [];
  const server = await startOipServer(received);
  cleanup.push(() => server.close());
  const client = await createCandidateClient({ name: 'fraud-v2', adapter: 'kserve-v2', url: server.url, model: { name: 'fraud' }, timeoutMs: 10_000, ...extra });
  cleanup.push(() => client.close());
  return { client, received, server };
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

describe('kserve-v2 candidate', () => {
  it('maps a flat feature object to one tensor per feature and the outputs back to an object', async () => {
    const { client, received } = await setup();

    const result = await client.invoke(makeEvent({ amount: 150, rate: 0.5, country: 'DE', vip: true, history: [1.5, 2, 3] }, 'evt-7'));

    expect(JSON.parse(result.output)).toEqual({ label: 'fraud', probabilities: [0.25, 0.75] });
    expect(received).toEqual([
      {
        path: '/v2/models/fraud/infer',
        body: {
          id: 'evt-7',
          inputs: [
            { name: 'amount', shape: [1], datatype: 'INT64', data: [150] },
            { name: 'rate', shape: [1], datatype: 'FP32', data: [0.5] },
            { name: 'country', shape: [1], datatype: 'BYTES', data: ['DE'] },
            { name: 'vip', shape: [1], datatype: 'BOOL', data: [true] },
            { name: 'history', shape: [1, 3], datatype: 'FP32', data: [1.5, 2, 3] },
          ],
        },
      },
    ]);
  });

  it('sends an input that is already an inference request as is, to the versioned path, and applies outputPath', async () => {
    const { client, received } = await setup({ model: { name: 'fraud', version: '3' }, outputPath: '$.probabilities[1]' });
    const oip = { inputs: [{ name: 'amount', shape: [1], datatype: 'FP32', data: [20] }] };

    const result = await client.invoke(makeEvent(oip));

    expect(result.output).toBe('0.75');
    expect(received).toEqual([{ path: '/v2/models/fraud/versions/3/infer', body: oip }]);
  });

  it('uses configured datatypes over inferred ones', async () => {
    const { client, received } = await setup({ datatypes: { amount: 'FP64' } });

    await client.invoke(makeEvent({ amount: 1 }));

    expect(received[0]?.body.inputs).toEqual([{ name: 'amount', shape: [1], datatype: 'FP64', data: [1] }]);
  });

  it('rejects inputs it cannot map with CANDIDATE_BAD_INPUT, without calling', async () => {
    const { client, server } = await setup();

    const nested = await failure(client.invoke(makeEvent({ m: [[1, 2]] })));
    const notJson = await failure(client.invoke(makeEvent('not json')));
    const list = await failure(client.invoke(makeEvent([1, 2])));

    expect([nested.code, notJson.code, list.code]).toEqual(['CANDIDATE_BAD_INPUT', 'CANDIDATE_BAD_INPUT', 'CANDIDATE_BAD_INPUT']);
    expect(nested.context.feature).toBe('m');
    expect(server.requests).toBe(0);
  });

  it('surfaces the server error of a bad request as a non-retriable CANDIDATE_HTTP_ERROR', async () => {
    const { client, server } = await setup({ inputFormat: 'oip' });

    const err = await failure(client.invoke(makeEvent({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1] }] })));

    expect(err.code).toBe('CANDIDATE_HTTP_ERROR');
    expect(err.context.status).toBe(400);
    expect(err.context.body).toContain('does not match');
    expect(server.requests).toBe(1);
  });
});

describe('kserve-v2 mapping', () => {
  it('builds infer paths with an optional version and a base path', () => {
    expect(inferPath('/', { name: 'm' })).toBe('/v2/models/m/infer');
    expect(inferPath('/serving/', { name: 'm', version: '2' })).toBe('/serving/v2/models/m/versions/2/infer');
  });

  it('round-trips features and outputs', () => {
    expect(featuresToInferRequest({ ids: [1, 2], name: ['a', 'b'] }, {}, 'c')).toEqual({
      inputs: [
        { name: 'ids', shape: [1, 2], datatype: 'INT64', data: [1, 2] },
        { name: 'name', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] },
      ],
    });
    expect(inferResponseToOutput({ outputs: [{ name: 'y', shape: [1], datatype: 'FP32', data: [0.5] }] }, 'c')).toEqual({ y: 0.5 });
    expect(() => inferResponseToOutput({ result: 1 }, 'c')).toThrow(expect.objectContaining({ code: 'CANDIDATE_BAD_OUTPUT' }));
    expect(() => featuresToInferRequest({ x: ['a', 1] }, {}, 'c')).toThrow(expect.objectContaining({ code: 'CANDIDATE_BAD_INPUT' }));
    expect(() => featuresToInferRequest({ x: 1.5 }, { x: 'INT64' }, 'c')).toThrow(expect.objectContaining({ code: 'CANDIDATE_BAD_INPUT' }));
  });
});
