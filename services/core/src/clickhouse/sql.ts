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

/**
 * Splits a SQL script into statements at top-level `;`, dropping `--` and block comments
 * and never splitting inside '...' strings, "..." or `...` identifiers. chDB and the HTTP
 * interface each run one statement per call.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      // A line comment; the newline is kept so line structure survives.
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      current += ' ';
      continue;
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
      current += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
      i++;
      continue;
    }
    current += c;
    i++;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** Quotes a value as a ClickHouse string literal; for the few places (SETTINGS) that take no parameters. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
