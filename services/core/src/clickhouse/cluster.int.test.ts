import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from './client.ts';
import { renderClusterMigrations } from './cluster.ts';
import { queryRows } from './io.ts';
import { readMigrations } from './migrate.ts';
import { splitStatements } from './sql.ts';

// There is no ClickHouse cluster (nor Keeper) here to run the variant on; the engine's own
// parser is the strongest check available: every rendered statement must parse.
let ch: ClickHouse;
beforeAll(async () => {
  ch = await createClickHouse({ dataDir: ':memory:' });
});
afterAll(async () => {
  await ch.close();
});

describe('cluster variant', () => {
  it('parses on the real engine, statement by statement', async () => {
    const statements = splitStatements(renderClusterMigrations('umbra_cluster'));
    // Each migration creates one table (a _local table ON CLUSTER plus its Distributed table) or
    // changes the columns of one (on both).
    expect(statements).toHaveLength(2 * readMigrations().length);
    for (const statement of statements) {
      // formatQuery parses with the engine's own parser and throws SYNTAX_ERROR on bad SQL.
      const [row] = await queryRows<{ formatted: string }>(
        ch,
        'SELECT formatQuery({sql:String}) AS formatted',
        { sql: statement },
      );
      if (row?.formatted.startsWith('ALTER TABLE')) {
        expect(row.formatted, statement).toMatch(/^ALTER TABLE \w+ ON CLUSTER umbra_cluster\s+\(?ADD COLUMN/);
        continue;
      }
      expect(row?.formatted, statement).toMatch(
        /^CREATE TABLE IF NOT EXISTS \w+ ON CLUSTER umbra_cluster/,
      );
      expect(row?.formatted, statement).toMatch(
        /ENGINE = (Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}|Distributed\('umbra_cluster')/,
      );
    }
    const alters = statements.filter((s) => s.startsWith('ALTER TABLE'));
    expect(alters.length).toBeGreaterThan(0);
    // The check has teeth: a broken statement is refused.
    await expect(
      queryRows(ch, 'SELECT formatQuery({sql:String})', { sql: 'CREATE TABLE x ON CLUSTER (' }),
    ).rejects.toMatchObject({
      code: 'STORE_QUERY_FAILED',
      context: { clickhouseType: 'SYNTAX_ERROR' },
    });
  });
});
