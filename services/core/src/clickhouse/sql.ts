import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, normalize, resolve as resolvePath, sep } from 'node:path';
import { UmbraError } from '../errors.ts';

/** The repository's `sql/` directory, found from this file so it works from any cwd. */
export const SQL_DIR = fileURLToPath(new URL('../../../../sql/', import.meta.url));

const cache = new Map<string, string>();

/**
 * The text of `sql/<relPath>`, e.g. `loadSql('reports/agreement.sql')`; read once per process.
 * Statements take values only as ClickHouse query parameters (`{name:Type}`).
 */
export function loadSql(relPath: string): string {
  const cached = cache.get(relPath);
  if (cached !== undefined) return cached;
  const rel = normalize(relPath);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `SQL path must stay inside sql/: ${JSON.stringify(relPath)}`,
    );
  }
  const file = resolvePath(SQL_DIR, rel);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UmbraError('NOT_FOUND', `no SQL file sql/${rel}`, { context: { file }, cause: e });
  }
  cache.set(relPath, text);
  return text;
}

type Piece =
  | { kind: 'code' | 'quoted' | 'comment'; text: string }
  | { kind: 'param'; text: string; name: string; type: string };

/** A `{name:Type}` query parameter; the type may hold quoted text, e.g. DateTime('UTC'). */
const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*):((?:[^{}'"]|'[^']*')+)\}/y;

/**
 * A SQL text cut into code, quoted text ('...' strings, "..." and `...` identifiers, escapes and
 * doubled quotes inside), comments (`--` to the end of the line, block comments) and query
 * parameters, in order.
 */
function pieces(sql: string): Piece[] {
  const out: Piece[] = [];
  // Code runs from `from` to the next piece of another kind.
  let from = 0;
  let i = 0;
  const flush = (): void => {
    if (i > from) out.push({ kind: 'code', text: sql.slice(from, i) });
  };
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      let j = sql.indexOf('\n', i);
      if (j === -1) j = n;
      flush();
      out.push({ kind: 'comment', text: sql.slice(i, j) });
      i = from = j;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const j = end === -1 ? n : end + 2;
      flush();
      out.push({ kind: 'comment', text: sql.slice(i, j) });
      i = from = j;
      continue;
    }
    if (c === '{') {
      PARAM.lastIndex = i;
      const m = PARAM.exec(sql);
      if (m) {
        flush();
        out.push({ kind: 'param', text: m[0], name: m[1]!, type: m[2]! });
        i = from = i + m[0].length;
        continue;
      }
    }
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n) {
        const d = sql[j];
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (d === c) {
          // A doubled quote is an escaped quote, not the end.
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      flush();
      out.push({ kind: 'quoted', text: sql.slice(i, j + 1) });
      i = from = j + 1;
      continue;
    }
    i++;
  }
  flush();
  return out;
}

/**
 * Splits a SQL script into statements at top-level `;`, dropping `--` and block comments
 * and never splitting inside '...' strings, "..." or `...` identifiers. chDB and the HTTP
 * interface each run one statement per call.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const piece of pieces(sql)) {
    if (piece.kind === 'comment') {
      // A line comment's newline stays (it is not part of the piece); a block comment is a space.
      if (piece.text.startsWith('/*')) current += ' ';
      continue;
    }
    if (piece.kind !== 'code') {
      current += piece.text;
      continue;
    }
    const parts = piece.text.split(';');
    current += parts[0];
    for (const part of parts.slice(1)) {
      if (current.trim()) out.push(current.trim());
      current = part;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** A JS value as a ClickHouse literal (the value a query parameter would carry). */
function literal(value: unknown, name: string): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, name)).join(', ')}]`;
  throw new UmbraError('BAD_ARGUMENT', `query parameter ${name}: cannot bind a ${typeof value}`);
}

const DECIMAL_SECONDS = /^-?\d+(?:\.\d+)?$/;

/**
 * The statement with its `{name:Type}` parameters replaced by `_CAST(literal, 'Type')`, the form
 * ClickHouse itself substitutes them in, outside strings and comments. For the embedded engine:
 * chDB runs every parameterized statement of the process one at a time (its parameter binding is
 * not safe across sessions), and literal statements side by side on separate sessions.
 * A DateTime64 given as decimal epoch seconds ('1700000000.123', as `timeParam` writes it) goes
 * through Decimal, exact, as the parameter's own parsing reads it.
 */
export function bindParams(sql: string, params: Record<string, unknown>): string {
  return pieces(sql)
    .map((piece) => {
      if (piece.kind !== 'param') return piece.text;
      const { name, type } = piece;
      if (!(name in params))
        throw new UmbraError('BAD_ARGUMENT', `query parameter ${name} (${type}) has no value`, {
          context: { parameter: name },
        });
      const value = params[name];
      const lit =
        type.startsWith('DateTime64') && typeof value === 'string' && DECIMAL_SECONDS.test(value)
          ? `_CAST(${quoteString(value)}, 'Decimal128(9)')`
          : literal(value, name);
      return `_CAST(${lit}, ${quoteString(type)})`;
    })
    .join('');
}

/** Quotes a value as a ClickHouse string literal; for the few places (SETTINGS) that take no parameters. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
