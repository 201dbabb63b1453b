import { describe, expect, it } from 'vitest';
import { isUmbraError } from '../errors.ts';
import { bindParams, loadSql, quoteString, splitStatements } from './sql.ts';

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

describe('bindParams', () => {
  it('replaces each {name:Type} with a typed literal, as ClickHouse substitutes parameters', () => {
    expect(
      bindParams(
        "SELECT {s:String}, {n:UInt64}, {a:Array(String)}, {h:Array(DateTime('UTC'))}, {e:Array(UInt8)}",
        {
          s: "o'brien\\x",
          n: 42,
          a: ['a', "b'"],
          h: [1_700_000_000],
          e: [],
        },
      ),
    ).toBe(
      "SELECT _CAST('o\\'brien\\\\x', 'String'), _CAST(42, 'UInt64'), _CAST(['a', 'b\\''], 'Array(String)'), " +
        "_CAST([1700000000], 'Array(DateTime(\\'UTC\\'))'), _CAST([], 'Array(UInt8)')",
    );
  });

  it('reads decimal epoch seconds for DateTime64 through Decimal, and leaves strings and comments alone', () => {
    const sql =
      "SELECT {t:DateTime64(3)} -- {t:DateTime64(3)}\n, '{t:DateTime64(3)}', /* {x:String} */ {t:DateTime64(3, 'UTC')}";
    expect(bindParams(sql, { t: '1700000000.123' })).toBe(
      "SELECT _CAST(_CAST('1700000000.123', 'Decimal128(9)'), 'DateTime64(3)') -- {t:DateTime64(3)}\n, '{t:DateTime64(3)}', " +
        "/* {x:String} */ _CAST(_CAST('1700000000.123', 'Decimal128(9)'), 'DateTime64(3, \\'UTC\\')')",
    );
    expect(bindParams('SELECT {t:DateTime64(3)}', { t: '2024-01-01 00:00:00.000' })).toBe(
      "SELECT _CAST('2024-01-01 00:00:00.000', 'DateTime64(3)')",
    );
  });

  it('names a parameter without a value, and refuses values it cannot write', () => {
    expect(() => bindParams('SELECT {missing:String}', {})).toThrow(
      /query parameter missing \(String\) has no value/,
    );
    expect(() => bindParams('SELECT {o:String}', { o: { a: 1 } })).toThrow(/cannot bind a object/);
    expect(
      bindParams('SELECT {f:Float64}, {g:Float64}, {z:Nullable(String)}', {
        f: 1e-9,
        g: Number.NaN,
        z: null,
      }),
    ).toBe("SELECT _CAST(1e-9, 'Float64'), _CAST(nan, 'Float64'), _CAST(NULL, 'Nullable(String)')");
  });
});
