import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertIdempotent, checksumOf, readMigrations } from './migrate.ts';

describe('readMigrations', () => {
  it('reads the repository migrations in version order with checksums', () => {
    const files = readMigrations();
    expect(files.map((f) => f.name)).toEqual([
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
    ]);
    for (const f of files) expect(f.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  describe('in a scratch directory', () => {
    let dir = '';
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const setup = (files: Record<string, string>): string => {
      dir = mkdtempSync(join(tmpdir(), 'umbra-mig-'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      return dir;
    };

    it('orders numerically, not by name', () => {
      const d = setup({
        '10_b.sql': 'CREATE TABLE IF NOT EXISTS b (x UInt8) ENGINE = Memory',
        '9_a.sql': 'CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory',
        'README.md': 'not sql',
      });
      expect(readMigrations(d).map((f) => f.version)).toEqual([9, 10]);
    });

    it('refuses badly named, duplicate, empty and non-idempotent files', () => {
      const code = (files: Record<string, string>) => {
        try {
          readMigrations(setup(files));
          return 'ok';
        } catch (e) {
          rmSync(dir, { recursive: true, force: true });
          return (e as { code: string }).code;
        }
      };
      expect(code({ 'first.sql': 'SELECT 1' })).toBe('MIGRATION_INVALID');
      expect(code({ '001_a.sql': 'SELECT 1', '1_b.sql': 'SELECT 1' })).toBe('MIGRATION_INVALID');
      expect(code({ '001_a.sql': '-- nothing here\n' })).toBe('MIGRATION_INVALID');
      expect(code({ '001_a.sql': 'CREATE TABLE a (x UInt8) ENGINE = Memory' })).toBe(
        'MIGRATION_INVALID',
      );
    });
  });
});

describe('assertIdempotent', () => {
  const ok = (s: string) => expect(() => assertIdempotent(s, 'f.sql', 1)).not.toThrow();
  const bad = (s: string) =>
    expect(() => assertIdempotent(s, 'f.sql', 1)).toThrow(
      expect.objectContaining({ code: 'MIGRATION_INVALID' }),
    );

  it('accepts statements that can run twice', () => {
    ok('CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = Memory');
    ok('CREATE OR REPLACE VIEW v AS SELECT 1');
    ok('CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO t AS SELECT 1 AS x');
    ok('DROP TABLE IF EXISTS t');
    ok('ALTER TABLE t ADD COLUMN IF NOT EXISTS y UInt8, DROP COLUMN IF EXISTS z');
    ok('ALTER TABLE t MODIFY COLUMN y UInt16');
    ok('ALTER TABLE t MODIFY TTL toDateTime(event_time) + INTERVAL 30 DAY');
  });

  it('refuses statements that fail or repeat on a second run', () => {
    bad('CREATE TABLE t (x UInt8) ENGINE = Memory');
    bad('DROP TABLE t');
    bad('ALTER TABLE t ADD COLUMN y UInt8');
    bad('ALTER TABLE t ADD COLUMN IF NOT EXISTS y UInt8, DROP COLUMN z');
    bad('ALTER TABLE t RENAME COLUMN a TO b');
    bad('INSERT INTO t SELECT 1');
    bad('ALTER TABLE t DELETE WHERE 1');
  });
});

describe('checksumOf', () => {
  it('ignores CRLF line endings, nothing else', () => {
    expect(checksumOf('a\r\nb\n')).toBe(checksumOf('a\nb\n'));
    expect(checksumOf('a\nb\n')).not.toBe(checksumOf('a\nb \n'));
  });
});
