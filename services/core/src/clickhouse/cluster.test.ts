import { describe, expect, it } from 'vitest';
import { renderClusterMigrations, renderClusterVariant } from './cluster.ts';
import { readMigrations } from './migrate.ts';
import { loadSql, splitStatements } from './sql.ts';

describe('renderClusterVariant on the migration files', () => {
  const shadow = renderClusterVariant(loadSql('migrations/001_shadow_pairs.sql'), 'umbra');
  const [local, distributed, ...more] = splitStatements(shadow);

  it('turns a table into a replicated local table and a Distributed table', () => {
    expect(more).toEqual([]);
    expect(local).toMatch(/^CREATE TABLE IF NOT EXISTS shadow_pairs_local ON CLUSTER 'umbra'\n\(/);
    expect(distributed).toMatch(
      /^CREATE TABLE IF NOT EXISTS shadow_pairs ON CLUSTER 'umbra' AS shadow_pairs_local\n/,
    );
  });

  it('keeps the ReplacingMergeTree version column and every other clause', () => {
    expect(local).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/shadow_pairs_local', '{replica}', replayed_at)",
    );
    expect(local).toMatch(
      /PARTITION BY toDate\(event_time\)\s+ORDER BY \(experiment, candidate, event_time, event_id\)/,
    );
    expect(local).toContain('TTL toDateTime(event_time) + INTERVAL 90 DAY');
    expect(local).toContain('SETTINGS replicated_deduplication_window = 10000');
    expect(local).not.toContain('non_replicated');
    // every column survives
    for (const column of ['experiment', 'event_time', 'attributes', 'diff_paths', 'replayed_at']) {
      expect(local).toMatch(new RegExp(`\\n\\s+${column}\\s`));
    }
  });

  it('shards by the sorting key so rows that collapse meet on one shard', () => {
    expect(distributed).toBe(
      "CREATE TABLE IF NOT EXISTS shadow_pairs ON CLUSTER 'umbra' AS shadow_pairs_local\n" +
        "ENGINE = Distributed('umbra', currentDatabase(), shadow_pairs_local, cityHash64(experiment, candidate, event_time, event_id))",
    );
  });

  it('renders every migration file: one replicated + one Distributed table per table, a column change on both', () => {
    const files = readMigrations();
    for (const f of files) {
      const out = splitStatements(
        renderClusterVariant(f.statements.join(';\n'), 'prod-cluster', { database: 'umbra' }),
      );
      expect(out, f.name).toHaveLength(2);
      const [l, d] = out as [string, string];
      if (f.statements[0]?.trimStart().startsWith('ALTER TABLE')) {
        expect(l).toMatch(/^ALTER TABLE \w+_local ON CLUSTER 'prod-cluster' ADD COLUMN/);
        expect(d).toMatch(/^ALTER TABLE \w+ ON CLUSTER 'prod-cluster' ADD COLUMN/);
        continue;
      }
      expect(l).toMatch(/^CREATE TABLE IF NOT EXISTS \w+_local ON CLUSTER 'prod-cluster'/);
      expect(l).toMatch(
        /ENGINE = Replicated(Replacing)?MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\w+_local', '\{replica\}'/,
      );
      expect(d).toMatch(
        /ENGINE = Distributed\('prod-cluster', 'umbra', \w+_local, cityHash64\(.+\)\)$/,
      );
    }
    const engines = files
      .filter((f) => f.statements.some((x) => x.trimStart().startsWith('CREATE TABLE')))
      .map((f) => /ENGINE = (\w+\([^)]*\))/.exec(renderClusterVariant(f.statements.join(';'), 'c'))?.[1]);
    expect(engines).toEqual([
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/shadow_pairs_local', '{replica}', replayed_at)",
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/request_events_local', '{replica}', ingested_at)",
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/comparison_reports_local', '{replica}')",
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/promotion_decisions_local', '{replica}')",
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/dead_letters_local', '{replica}')",
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/rollout_state_local', '{replica}', version)",
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/pair_rollup_hours_local', '{replica}', version)",
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/pair_rollups_local', '{replica}')",
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/request_rollup_hours_local', '{replica}', version)",
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/request_rollups_local', '{replica}')",
    ]);
  });

  it('renders the whole set with file headers', () => {
    const script = renderClusterMigrations('c');
    expect(script).toContain('-- 001_shadow_pairs.sql\n');
    expect(script).toContain('-- 005_dead_letters.sql\n');
    expect(splitStatements(script)).toHaveLength(2 * readMigrations().length);
  });
});

describe('renderClusterVariant on later kinds of migration', () => {
  it('sends column ALTERs to local and Distributed tables, storage ALTERs to local ones only', () => {
    const out = splitStatements(
      renderClusterVariant(
        'ALTER TABLE shadow_pairs ADD COLUMN IF NOT EXISTS score Float64; ALTER TABLE shadow_pairs MODIFY TTL toDateTime(event_time) + INTERVAL 30 DAY',
        'c',
      ),
    );
    expect(out).toEqual([
      "ALTER TABLE shadow_pairs_local ON CLUSTER 'c' ADD COLUMN IF NOT EXISTS score Float64",
      "ALTER TABLE shadow_pairs ON CLUSTER 'c' ADD COLUMN IF NOT EXISTS score Float64",
      "ALTER TABLE shadow_pairs_local ON CLUSTER 'c' MODIFY TTL toDateTime(event_time) + INTERVAL 30 DAY",
    ]);
  });

  it('shards by a single-expression sorting key and leaves per-node engines unsplit', () => {
    const [l, d] = splitStatements(
      renderClusterVariant(
        'CREATE TABLE IF NOT EXISTS k (id String) ENGINE = MergeTree ORDER BY id TTL now() + 1',
        'c',
      ),
    ) as [string, string];
    expect(l).toContain(
      "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/k_local', '{replica}') ORDER BY id TTL",
    );
    expect(d).toContain('cityHash64(id))');
    expect(
      splitStatements(
        renderClusterVariant('CREATE TABLE IF NOT EXISTS m (x UInt8) ENGINE = Memory', 'c'),
      ),
    ).toEqual(["CREATE TABLE IF NOT EXISTS m ON CLUSTER 'c'\n(x UInt8) ENGINE = Memory"]);
  });

  it('refuses names that would need quoting and statements it cannot place', () => {
    expect(() => renderClusterVariant('SELECT 1', "c'; DROP")).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    expect(() => renderClusterVariant('INSERT INTO t VALUES (1)', 'c')).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    expect(() =>
      renderClusterVariant(
        "CREATE TABLE t ON CLUSTER 'x' (a UInt8) ENGINE = MergeTree ORDER BY a",
        'c',
      ),
    ).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});
