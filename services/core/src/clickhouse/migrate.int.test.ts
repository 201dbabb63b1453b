import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUmbraError, type UmbraError } from '../errors.ts';
import { createClickHouse, type ClickHouse } from './client.ts';
import { queryRows } from './io.ts';
import {
  MIGRATIONS_DIR,
  MIGRATIONS_TABLE,
  migrate,
  readMigrations,
  retentionDaysOf,
} from './migrate.ts';

// Each test gets a fresh in-memory engine: chDB drops :memory: data when its last handle closes.
let ch: ClickHouse;
beforeEach(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
});
afterEach(async () => {
  await ch.close();
});

const ALL = [
  '001_shadow_pairs.sql',
  '002_request_events.sql',
  '003_comparison_reports.sql',
  '004_promotion_decisions.sql',
  '005_dead_letters.sql',
  '006_rollout_state.sql',
  '007_pair_rollup_hours.sql',
  '008_pair_rollups.sql',
  '009_pair_served.sql',
  '010_request_rollup_hours.sql',
  '011_request_rollups.sql',
];

async function records(): Promise<{ version: number; n: number }[]> {
  const rows = await queryRows<{ version: number; n: number }>(
    ch,
    `SELECT version, count() AS n FROM ${MIGRATIONS_TABLE} FINAL GROUP BY version ORDER BY version`,
  );
  return rows.map((r) => ({ version: Number(r.version), n: Number(r.n) }));
}

describe('migrate', () => {
  it('applies every file once; a second run applies nothing and reports them unchanged', async () => {
    const first = await migrate(ch);
    expect(first).toEqual({ applied: ALL, unchanged: [] });
    const second = await migrate(ch);
    expect(second).toEqual({ applied: [], unchanged: ALL });
    console.log(
      `migrations: applied ${first.applied.length}, then ${second.applied.length} (${second.unchanged.length} unchanged) on ${ch.describe}`,
    );

    const tables = await queryRows<{ name: string; engine: string; sorting_key: string }>(
      ch,
      'SELECT name, engine, sorting_key FROM system.tables WHERE database = currentDatabase() ORDER BY name',
    );
    expect(tables).toEqual([
      {
        name: 'comparison_reports',
        engine: 'MergeTree',
        sorting_key:
          'experiment, candidate, created_at, report, metric, segment_key, segment_value',
      },
      {
        name: 'dead_letters',
        engine: 'ReplacingMergeTree',
        sorting_key: 'source_topic, source_partition, source_offset',
      },
      {
        name: 'pair_rollup_hours',
        engine: 'ReplacingMergeTree',
        sorting_key: 'experiment, span_hours, hour',
      },
      {
        name: 'pair_rollups',
        engine: 'MergeTree',
        sorting_key: 'experiment, candidate, span_hours, hour, version',
      },
      {
        name: 'promotion_decisions',
        engine: 'MergeTree',
        sorting_key: 'rollout, decided_at, decision_id',
      },
      {
        name: 'request_events',
        engine: 'ReplacingMergeTree',
        sorting_key: 'model_name, arm, event_time, event_id',
      },
      {
        name: 'request_rollup_hours',
        engine: 'ReplacingMergeTree',
        sorting_key: 'model_name, span_hours, hour',
      },
      {
        name: 'request_rollups',
        engine: 'MergeTree',
        sorting_key: 'model_name, arm, span_hours, hour, version',
      },
      {
        name: 'rollout_state',
        engine: 'ReplacingMergeTree',
        sorting_key: 'rollout, entry',
      },
      {
        name: 'shadow_pairs',
        engine: 'ReplacingMergeTree',
        sorting_key: 'experiment, candidate, event_time, event_id',
      },
      { name: MIGRATIONS_TABLE, engine: 'ReplacingMergeTree', sorting_key: 'version' },
    ]);

    const stored = await queryRows<{ version: number; name: string; checksum: string }>(
      ch,
      `SELECT version, name, checksum FROM ${MIGRATIONS_TABLE} FINAL ORDER BY version`,
    );
    expect(stored.map((r) => ({ ...r, version: Number(r.version) }))).toEqual(
      readMigrations().map((f) => ({ version: f.version, name: f.name, checksum: f.checksum })),
    );
  });

  it('refuses, changing nothing, when an applied file was edited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'umbra-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(ch, { dir });
      const before = readMigrations(dir).find((f) => f.version === 2);
      appendFileSync(join(dir, '002_request_events.sql'), '\n-- an innocent-looking edit\n');
      writeFileSync(
        join(dir, '900_extra.sql'),
        'CREATE TABLE IF NOT EXISTS extra (x UInt8) ENGINE = MergeTree ORDER BY x',
      );
      const after = readMigrations(dir).find((f) => f.version === 2);

      const err = await migrate(ch, { dir }).then(
        () => expect.unreachable('migrate should refuse'),
        (e: unknown) => e as UmbraError,
      );
      expect(isUmbraError(err, 'MIGRATION_CHANGED')).toBe(true);
      expect(err.retriable).toBe(false);
      expect(err.message).toContain('002_request_events.sql');
      expect(err.message).toContain(before?.checksum);
      expect(err.message).toContain(after?.checksum);
      expect(err.context).toMatchObject({
        file: '002_request_events.sql',
        appliedChecksum: before?.checksum,
        fileChecksum: after?.checksum,
      });
      // the new file after it was not applied either
      const extra = await queryRows(
        ch,
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'extra'",
      );
      expect(extra).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies only the new file when one is added', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'umbra-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(ch, { dir });
      writeFileSync(
        join(dir, '900_extra.sql'),
        'CREATE TABLE IF NOT EXISTS extra (x UInt8) ENGINE = MergeTree ORDER BY x;\nALTER TABLE extra ADD COLUMN IF NOT EXISTS y String;',
      );
      expect(await migrate(ch, { dir })).toEqual({ applied: ['900_extra.sql'], unchanged: ALL });
      const cols = await queryRows<{ name: string }>(
        ch,
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'extra' ORDER BY position",
      );
      expect(cols.map((c) => c.name)).toEqual(['x', 'y']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two concurrent runs on one engine both succeed and leave one record per migration', async () => {
    const other = await createClickHouse({ dataDir: ':memory:' });
    try {
      const [a, b] = await Promise.all([migrate(ch), migrate(other)]);
      // Between them every file was applied at least once, and neither run failed.
      expect(new Set([...a.applied, ...a.unchanged])).toEqual(new Set(ALL));
      expect(new Set([...b.applied, ...b.unchanged])).toEqual(new Set(ALL));
      expect(await records()).toEqual(ALL.map((_, i) => ({ version: i + 1, n: 1 })));
      // The dedup token drops the second identical record outright, even without FINAL.
      const raw = await queryRows<{ n: number }>(
        ch,
        `SELECT count() AS n FROM ${MIGRATIONS_TABLE}`,
      );
      expect(Number(raw[0]?.n)).toBe(ALL.length);
      expect(await migrate(ch)).toEqual({ applied: [], unchanged: ALL });
    } finally {
      await other.close();
    }
  });

  it('changes retention once and reports it unchanged the second time', async () => {
    const first = await migrate(ch, { retentionDays: 30 });
    expect(first.retention).toEqual({
      days: 30,
      changed: ['shadow_pairs', 'request_events', 'pair_rollup_hours', 'pair_rollups', 'request_rollup_hours', 'request_rollups'],
      unchanged: [],
    });
    expect(await retentionDaysOf(ch, 'shadow_pairs')).toBe(30);
    expect(await retentionDaysOf(ch, 'request_events')).toBe(30);
    // The roll-ups follow: a report must not see summaries of pairs that are gone.
    expect(await retentionDaysOf(ch, 'pair_rollups')).toBe(30);
    expect(await retentionDaysOf(ch, 'pair_rollup_hours')).toBe(30);

    const second = await migrate(ch, { retentionDays: 30 });
    expect(second).toEqual({
      applied: [],
      unchanged: ALL,
      retention: {
        days: 30,
        changed: [],
        unchanged: ['shadow_pairs', 'request_events', 'pair_rollup_hours', 'pair_rollups', 'request_rollup_hours', 'request_rollups'],
      },
    });

    // Back to the files' own 90 days: a change again, and without touching any applied file.
    const third = await migrate(ch, { retentionDays: 90 });
    expect(third.retention?.changed).toEqual([
      'shadow_pairs',
      'request_events',
      'pair_rollup_hours',
      'pair_rollups',
      'request_rollup_hours',
      'request_rollups',
    ]);
    expect(third.unchanged).toEqual(ALL);
    expect(await retentionDaysOf(ch, 'shadow_pairs')).toBe(90);

    // Without the option the TTL is left alone.
    expect((await migrate(ch)).retention).toBeUndefined();
  });

  it('starts from the files TTL of 90 days and refuses a nonsense retention', async () => {
    await migrate(ch);
    expect(await retentionDaysOf(ch, 'shadow_pairs')).toBe(90);
    await expect(migrate(ch, { retentionDays: 0 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(migrate(ch, { retentionDays: 1.5 })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
  });

  it('reports a failing statement as MIGRATION_FAILED naming the file, and records nothing for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'umbra-migrations-'));
    try {
      writeFileSync(
        join(dir, '001_ok.sql'),
        'CREATE TABLE IF NOT EXISTS ok (x UInt8) ENGINE = MergeTree ORDER BY x',
      );
      writeFileSync(
        join(dir, '002_broken.sql'),
        'CREATE TABLE IF NOT EXISTS half (x UInt8) ENGINE = MergeTree ORDER BY x;\nCREATE TABLE IF NOT EXISTS broken (x NoSuchType) ENGINE = MergeTree ORDER BY x;',
      );
      const err = await migrate(ch, { dir }).then(
        () => expect.unreachable('migrate should fail'),
        (e: unknown) => e as UmbraError,
      );
      expect(err.code).toBe('MIGRATION_FAILED');
      expect(err.retriable).toBe(false);
      expect(err.context).toMatchObject({
        file: '002_broken.sql',
        statement: 2,
        clickhouseType: 'UNKNOWN_TYPE',
      });
      expect(await records()).toEqual([{ version: 1, n: 1 }]);

      // Fixed, the file applies on the next run; its first statement simply runs again.
      writeFileSync(
        join(dir, '002_broken.sql'),
        'CREATE TABLE IF NOT EXISTS half (x UInt8) ENGINE = MergeTree ORDER BY x;\nCREATE TABLE IF NOT EXISTS broken (x String) ENGINE = MergeTree ORDER BY x;',
      );
      expect(await migrate(ch, { dir })).toEqual({
        applied: ['002_broken.sql'],
        unchanged: ['001_ok.sql'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
