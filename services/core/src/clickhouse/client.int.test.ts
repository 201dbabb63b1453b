import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { UmbraError } from '../errors.ts';
import { createClickHouse } from './client.ts';
import { insertRows, queryRows, runStatement } from './io.ts';

const root = mkdtempSync(join(tmpdir(), 'umbra-ch-client-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<UmbraError> {
  return p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as UmbraError,
  );
}

describe('createClickHouse, embedded', () => {
  it('creates the data directory and describes the engine', async () => {
    const dir = join(root, 'nested', 'db');
    const ch = await createClickHouse({ dataDir: dir });
    try {
      expect(existsSync(dir)).toBe(true);
      expect(ch.mode).toBe('embedded');
      expect(ch.version).toMatch(/^\d+\.\d+/);
      expect(ch.describe).toBe(
        `embedded chDB ${ch.version.split('.').slice(0, 2).join('.')} at ${dir}`,
      );
    } finally {
      await ch.close();
    }
  });

  it('shares one engine between handles on the same directory; closing one leaves the other working', async () => {
    const dir = join(root, 'shared');
    const a = await createClickHouse({ dataDir: dir });
    const b = await createClickHouse({ dataDir: dir });
    try {
      await runStatement(
        a,
        'CREATE TABLE IF NOT EXISTS t (x UInt32) ENGINE = MergeTree ORDER BY x',
      );
      await insertRows(a, 't', [{ x: 1 }, { x: 2 }]);
      await a.close();
      await a.close(); // idempotent
      await insertRows(b, 't', [{ x: 3 }]);
      expect(await queryRows(b, 'SELECT x FROM t ORDER BY x')).toEqual([
        { x: 1 },
        { x: 2 },
        { x: 3 },
      ]);
    } finally {
      await a.close();
      await b.close();
    }
    // Data on disk outlives the handles.
    const c = await createClickHouse({ dataDir: dir });
    try {
      expect(await queryRows(c, 'SELECT count() AS n FROM t')).toEqual([{ n: 3 }]);
    } finally {
      await c.close();
    }
  });

  it('leases each statement a session of its own, queueing in order when all are busy', async () => {
    const ch = await createClickHouse({ dataDir: join(root, 'lease') });
    try {
      const held: unknown[] = [];
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      // Hold every session but one... then all of them.
      const holders: Promise<void>[] = [];
      for (let i = 0; i < 2; i++)
        holders.push(
          ch.lease(async (client) => {
            held.push(client);
            await hold;
          }),
        );
      await new Promise((resolve) => setImmediate(resolve));
      expect(new Set(held).size).toBe(held.length);
      const order: string[] = [];
      // Sessions beyond the two held (on a machine with more cores) serve at once; the rest wait.
      const waiting = ['a', 'b', 'c', 'd', 'e'].map((name) =>
        ch.lease(async (client) => {
          order.push(name);
          held.push(client);
        }),
      );
      release();
      await Promise.all([...holders, ...waiting]);
      expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
      // Statements with parameters, run together on separate sessions, each get their own values.
      const rows = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          queryRows<{ v: string; n: number }>(ch, 'SELECT {v:String} AS v, {n:UInt64} * 2 AS n', { v: `s${i}'\\`, n: i }),
        ),
      );
      expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 6 }, (_, i) => ({ v: `s${i}'\\`, n: 2 * i })));
    } finally {
      await ch.close();
    }
  });

  it('refuses a second directory while one is open, and allows it once every handle is closed', async () => {
    const first = join(root, 'first');
    const second = join(root, 'second');
    const a = await createClickHouse({ dataDir: first });
    const b = await createClickHouse({ dataDir: first });
    const err = await failure(createClickHouse({ dataDir: second }));
    expect(err).toMatchObject({
      code: 'STORE_CONFLICT',
      retriable: false,
      context: { open: first, requested: second },
    });
    expect(err.message).toContain(first);
    await a.close();
    // Still one handle open on `first`.
    expect(await failure(createClickHouse({ dataDir: ':memory:' }))).toMatchObject({
      code: 'STORE_CONFLICT',
    });
    await b.close();
    const c = await createClickHouse({ dataDir: second });
    try {
      expect(await queryRows(c, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await c.close();
    }
  });
});

describe('createClickHouse, server', () => {
  it('a server that does not answer is STORE_UNAVAILABLE and retriable, without leaking the password', async () => {
    // Nothing listens on port 1: a real refused connection, not a stand-in.
    const err = await failure(
      createClickHouse({
        url: 'http://umbra:s3cret@127.0.0.1:1',
        username: 'umbra',
        password: 'hunter2',
        requestTimeoutMs: 2_000,
      }),
    );
    expect(err).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retriable: true,
      context: { url: 'http://127.0.0.1:1' },
    });
    expect(err.message).not.toMatch(/s3cret|hunter2/);
  });

  it('refuses a malformed URL or database name before connecting', async () => {
    expect(await failure(createClickHouse({ url: 'not a url' }))).toMatchObject({
      code: 'CONFIG_INVALID',
      context: { key: 'url' },
    });
    expect(
      await failure(createClickHouse({ url: 'http://127.0.0.1:1', database: 'a-b; DROP' })),
    ).toMatchObject({
      code: 'CONFIG_INVALID',
      context: { key: 'database' },
    });
  });
});
