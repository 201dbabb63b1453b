import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUmbraError, type UmbraError } from '@umbra/core';
import { createCandidateClient } from './factory.ts';
import { makeEvent } from './fixtures/servers.ts';
import type { RetryInfo } from './wrappers.ts';

const here = dirname(fileURLToPath(import.meta.url));

async function failure(p: Promise<unknown>): Promise<UmbraError> {
  try {
    await p;
  } catch (e) {
    if (isUmbraError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('module candidate', () => {
  it('loads a .ts module relative to baseDir and JSON-encodes what it returns', async () => {
    const client = await createCandidateClient({ name: 'echo', adapter: 'module', path: 'fixtures/echo-model.ts' }, { baseDir: here });

    const result = await client.invoke(makeEvent({ amount: 150 }, 'evt-9'));

    expect(JSON.parse(result.output)).toEqual({ label: 'fraud', score: 0.75, eventId: 'evt-9' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    await client.close();
  });

  it('maps a throwing or rejecting function to CANDIDATE_FAILED, not retried', async () => {
    const path = join(here, 'fixtures/throwing-model.ts');
    const calls: RetryInfo[] = [];
    for (const exportName of ['default', 'rejects']) {
      const client = await createCandidateClient(
        { name: 'broken', adapter: 'module', path, export: exportName },
        { onRetry: (r) => calls.push(r) },
      );
      const err = await failure(client.invoke(makeEvent({ amount: 1 })));
      expect(err.code).toBe('CANDIDATE_FAILED');
      expect(err.retriable).toBe(false);
      expect(err.context.attempts).toBe(1);
    }
    expect(calls).toHaveLength(0);
  });

  it('times out a slow function and passes it the abort signal', async () => {
    const client = await createCandidateClient(
      { name: 'slow', adapter: 'module', path: 'fixtures/echo-model.ts', export: 'slow', timeoutMs: 50 },
      { baseDir: here },
    );

    expect((await failure(client.invoke(makeEvent({})))).code).toBe('CANDIDATE_TIMEOUT');
  });

  it('rejects an undefined result with CANDIDATE_BAD_OUTPUT', async () => {
    const client = await createCandidateClient(
      { name: 'undef', adapter: 'module', path: 'fixtures/echo-model.ts', export: 'undefinedOutput' },
      { baseDir: here },
    );

    expect((await failure(client.invoke(makeEvent({})))).code).toBe('CANDIDATE_BAD_OUTPUT');
  });

  it('fails at creation with CONFIG_INVALID for a missing file or a non-function export', async () => {
    const missing = await failure(createCandidateClient({ name: 'm', adapter: 'module', path: 'fixtures/nope.ts' }, { baseDir: here }));
    const notFn = await failure(
      createCandidateClient({ name: 'm', adapter: 'module', path: 'fixtures/echo-model.ts', export: 'notAFunction' }, { baseDir: here }),
    );

    expect([missing.code, missing.context.field]).toEqual(['CONFIG_INVALID', 'path']);
    expect([notFn.code, notFn.context.field]).toEqual(['CONFIG_INVALID', 'export']);
  });

  it('answers synchronously through call() and parses the input once per event for every module candidate', async () => {
    const a = await createCandidateClient({ name: 'a', adapter: 'module', path: 'fixtures/echo-model.ts', export: 'identity' }, { baseDir: here });
    const b = await createCandidateClient({ name: 'b', adapter: 'module', path: 'fixtures/echo-model.ts', export: 'identity' }, { baseDir: here });
    const { seenInputs } = (await import('./fixtures/echo-model.ts')) as { seenInputs: unknown[] };
    seenInputs.length = 0;
    const e = makeEvent({ amount: 5, nested: { k: [1] } }, 'evt-shared');

    const ra = a.call!(e);
    const rb = await b.invoke(e);

    expect(ra).toMatchObject({ output: '{"amount":5,"nested":{"k":[1]}}' });
    expect(rb.output).toBe('{"amount":5,"nested":{"k":[1]}}');
    expect(seenInputs).toHaveLength(2);
    expect(seenInputs[0]).toBe(seenInputs[1]);
    expect(Object.isFrozen((seenInputs[0] as { nested: object }).nested)).toBe(true);
  });

  it('fails a function that mutates the shared input with CANDIDATE_FAILED', async () => {
    const client = await createCandidateClient({ name: 'm', adapter: 'module', path: 'fixtures/echo-model.ts', export: 'mutating' }, { baseDir: here });

    expect((await failure(client.invoke(makeEvent({ amount: 1 })))).code).toBe('CANDIDATE_FAILED');
  });
});
