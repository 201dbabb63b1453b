import { describe, expect, it } from 'vitest';
import { isUmbraError } from '../errors.ts';
import { loadSql, quoteString, splitStatements } from './sql.ts';

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops comments', () => {
    const sql = `-- a header; with a semicolon
CREATE TABLE a (x UInt8) ENGINE = Memory; -- trailing; comment
/* block; comment */ CREATE TABLE b (y String DEFAULT ';') ENGINE = Memory;
`;
    expect(splitStatements(sql)).toEqual([
      'CREATE TABLE a (x UInt8) ENGINE = Memory',
      "CREATE TABLE b (y String DEFAULT ';') ENGINE = Memory",
    ]);
  });

  it('keeps semicolons and comment markers inside strings and quoted identifiers', () => {
    const sql = `SELECT 'it''s; -- not a comment', 'a\\'; b', "we;ird", \`x;--y\` FROM t; SELECT 2`;
    expect(splitStatements(sql)).toEqual([
      `SELECT 'it''s; -- not a comment', 'a\\'; b', "we;ird", \`x;--y\` FROM t`,
      'SELECT 2',
    ]);
  });

  it('ignores quotes inside comments', () => {
    const sql = `CREATE TABLE t (
    segment_key String, -- '' for overall
    v UInt8
); SELECT 1`;
    const parts = splitStatements(sql);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toContain('v UInt8');
    expect(parts[0]).not.toContain("''");
  });

  it('returns nothing for a script of comments and blank statements', () => {
    expect(splitStatements('-- only\n;\n/* x */;  ;')).toEqual([]);
  });
});

describe('loadSql', () => {
  it('reads files under sql/ and caches them', () => {
    const a = loadSql('migrations/001_shadow_pairs.sql');
    expect(a).toContain('CREATE TABLE IF NOT EXISTS shadow_pairs');
    expect(loadSql('migrations/001_shadow_pairs.sql')).toBe(a);
  });

  it('refuses paths that leave sql/ and names missing files', () => {
    expect(() => loadSql('../package.json')).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    try {
      loadSql('reports/no-such-report.sql');
      expect.unreachable();
    } catch (e) {
      expect(isUmbraError(e, 'NOT_FOUND')).toBe(true);
    }
  });
});

describe('quoteString', () => {
  it('escapes quotes and backslashes', () => {
    expect(quoteString(`a'b\\c`)).toBe(`'a\\'b\\\\c'`);
  });
});
