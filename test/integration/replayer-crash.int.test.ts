import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows } from '@umbra/core/clickhouse';
import { generateTraffic, prng } from '@umbra/replayer';
import { produceEvents, testBus, uniqueName, waitFor } from '../support/kafka.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UMBRA = join(ROOT, 'services/cli/bin/umbra.js');
const STEADY = join(ROOT, 'test/fixtures/models/steady.ts');
const EVENTS = 6_000;
const KILLS = 5;

describe('replayer killed with SIGKILL mid-consumption and restarted', () => {
  const { bus, brokers } = testBus('replayer-crash');
  const topic = uniqueName('crash');
  const dir = mkdtempSync(join(tmpdir(), 'umbra-crash-'));
  const children = new Set<ChildProcess>();

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  function startReplayer(): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
    const child = spawn(process.execPath, [UMBRA, 'replay', '--config', join(dir, 'experiment.yaml')], {
      cwd: dir,
      env: { ...process.env, KAFKA_BROKERS: brokers.join(','), UMBRA_DATA_DIR: join(dir, 'db'), UMBRA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, exited, stderr: () => err };
  }

  it('ends with exactly one pair per event per candidate after 5 kills', async () => {
    writeFileSync(
      join(dir, 'experiment.yaml'),
      [
        'experiment: crash-test',
        'source:',
        '  kafka:',
        `    topic: ${topic}`,
        '    groupId: crash-test-replayer',
        'baseline: { model: credit-risk }',
        'output: { task: classification, label: $.label, score: $.score }',
        'candidates:',
        `  - { name: steady-a, adapter: module, path: ${STEADY}, export: steady, concurrency: 2 }`,
        `  - { name: steady-b, adapter: module, path: ${STEADY}, export: steady, concurrency: 2 }`,
        'store: { batchPairs: 2000, flushIntervalMs: 300 }',
        '',
      ].join('\n'),
    );
    await bus.ensureTopics([{ topic, partitions: 3 }, { topic: 'umbra.requests.dlq', partitions: 1 }]);
    const { valid } = await produceEvents(bus, topic, [...generateTraffic({ count: EVENTS, seed: 5 })]);
    const admin = bus.admin();
    const committed = async () => {
      const lag = await admin.fetchGroupLag('crash-test-replayer', topic);
      return lag.reduce((s, p) => s + (p.committed === null ? 0 : Number(p.committed)), 0);
    };

    const rand = prng(2026);
    const progress: number[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      const r = startReplayer();
      const before = await committed();
      // Kill at a random point after it has started committing (or a random time, whichever is later).
      await waitFor(`replayer ${kill} to make progress`, async () => (await committed()) > before || r.child.exitCode !== null, { timeoutMs: 90_000, everyMs: 100 });
      await new Promise((res) => setTimeout(res, 200 + rand() * 1_000));
      r.child.kill('SIGKILL');
      await r.exited;
      const now = await committed();
      progress.push(now);
      console.log(`run ${kill}: committed ${before} -> ${now}`);
      expect(now, `stderr of run ${kill}: ${r.stderr()}`).toBeLessThan(EVENTS);
    }
    console.log(`committed offsets after each of ${KILLS} SIGKILLs: ${progress.join(', ')} of ${EVENTS}`);

    const final = startReplayer();
    await waitFor('the final replayer to commit everything', async () => (await committed()) === EVENTS, { timeoutMs: 180_000, everyMs: 250 });
    final.child.kill('SIGTERM');
    const code = await final.exited;
    await admin.disconnect();
    expect(code, final.stderr()).toBe(0);

    const ch = await createClickHouse({ dataDir: join(dir, 'db') });
    try {
      const rows = await queryRows<{ candidate: string; pairs: number; events: number }>(
        ch,
        `SELECT candidate, count() AS pairs, uniqExact(event_id) AS events FROM shadow_pairs FINAL WHERE experiment = 'crash-test' GROUP BY candidate ORDER BY candidate`,
      );
      const raw = await queryRows<{ n: number }>(ch, `SELECT count() AS n FROM shadow_pairs WHERE experiment = 'crash-test'`);
      const expectedIds = new Set(valid.map((e) => e.eventId));
      const stray = await queryRows<{ n: number }>(
        ch,
        `SELECT count() AS n FROM shadow_pairs FINAL WHERE experiment = 'crash-test' AND event_id NOT IN {ids:Array(String)}`,
        { ids: [...expectedIds] },
      );
      console.log(`after ${KILLS} kills: ${rows.map((r) => `${r.candidate}=${Number(r.pairs)}`).join(' ')} pairs (FINAL), ${Number(raw[0]!.n)} raw rows before dedup, expected ${EVENTS} each`);
      expect(rows.map((r) => [r.candidate, Number(r.pairs), Number(r.events)])).toEqual([
        ['steady-a', EVENTS, EVENTS],
        ['steady-b', EVENTS, EVENTS],
      ]);
      expect(Number(stray[0]!.n)).toBe(0);
    } finally {
      await ch.close();
    }
  }, 480_000);
});
