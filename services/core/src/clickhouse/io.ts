import { Readable } from 'node:stream';
import { drainStream } from '@clickhouse/client';
import { UmbraError } from '../errors.ts';
import type { ClickHouse } from './client.ts';
import { toStoreError } from './errors.ts';
import type { RowEncoder } from './rows.ts';
import { quoteString } from './sql.ts';

export type QueryParams = Record<string, unknown>;

const TABLE = /^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/;

export interface InsertOptions {
  /**
   * Makes a retried insert of the same batch a no-op: the store keeps the first block with this
   * token (tables need a deduplication window, see sql/migrations). Use one token per batch,
   * derived from what the batch is, e.g. topic/partition/offset range.
   */
  dedupToken?: string;
  /**
   * `false` skips collapsing the rows of this insert by the ReplacingMergeTree key at insert
   * time (`optimize_on_insert = 0`); they collapse in merges and under FINAL, as rows of
   * different inserts always do. About a quarter of chDB's insert CPU for shadow_pairs.
   */
  optimizeOnInsert?: boolean;
}

/**
 * Inserts rows (objects with the same keys, those of the first row) as JSONCompactEachRow. DateTime64 columns take 'YYYY-MM-DD hh:mm:ss.SSS' UTC strings
 * (see `toDateTime64`), ISO strings, `Date`s or integer epoch milliseconds.
 *
 * The settings travel in the INSERT's own SETTINGS clause, not as client settings: chDB turns
 * client settings into session-wide `SET`s, so a dedup token would stick to the session and
 * silently drop the next, different batch.
 */
export async function insertRows(
  ch: ClickHouse,
  table: string,
  rows: readonly object[],
  opts: InsertOptions = {},
): Promise<{ rows: number }> {
  if (rows.length === 0) return insertEncoded(ch, table, { columns: [], body: '', rows: 0 }, opts);
  const columns = Object.keys(rows[0]!);
  const encoder: RowEncoder<object> = {
    columns,
    values: (row) => columns.map((c) => (row as Record<string, unknown>)[c]),
  };
  return insertEncoded(ch, table, encodeRows(rows, encoder), opts);
}

/** Rows encoded for an insert: a JSONCompactEachRow body and its column list. */
export interface EncodedRows {
  readonly columns: readonly string[];
  readonly body: string;
  readonly rows: number;
}

/**
 * Encodes items as positional JSONCompactEachRow rows through an encoder (`shadowPairEncoder`,
 * `requestEventEncoder`), with no keyed row object per item. Apart from `insertEncoded` so a
 * writer can encode the next table's rows while the engine inserts the previous ones.
 */
export function encodeRows<T>(items: readonly T[], encoder: RowEncoder<T>): EncodedRows {
  // One JSON.stringify per row (faster here than assembling the row by hand); in an array,
  // undefined (a missing key) is written as null.
  let body = '';
  for (const item of items) body += `${JSON.stringify(encoder.values(item))}\n`;
  return { columns: encoder.columns, body, rows: items.length };
}

/** Inserts rows from `encodeRows`: the settings and errors of `insertRows`. */
export async function insertEncoded(
  ch: ClickHouse,
  table: string,
  encoded: EncodedRows,
  opts: InsertOptions = {},
): Promise<{ rows: number }> {
  if (!TABLE.test(table))
    throw new UmbraError('BAD_ARGUMENT', `not a table name: ${JSON.stringify(table)}`);
  if (encoded.rows === 0) return { rows: 0 };
  const settings = [`date_time_input_format = 'best_effort'`];
  if (opts.optimizeOnInsert === false) settings.push('optimize_on_insert = 0');
  // The embedded engine parses on this process's cores: splitting a batch of a few MB across
  // parsing threads cost more than it saved (chDB 26.7, 2 cores, 20 000 pairs: 0.40 s of CPU
  // -> 0.28 s; with optimize_on_insert = 0 as well, 0.23 s).
  if (ch.mode === 'embedded') settings.push('input_format_parallel_parsing = 0');
  if (opts.dedupToken !== undefined) {
    if (opts.dedupToken === '')
      throw new UmbraError('BAD_ARGUMENT', 'dedupToken must not be empty');
    settings.push(`insert_deduplication_token = ${quoteString(opts.dedupToken)}`);
  }
  try {
    // JSONCompactEachRow with an explicit column list: the engine parses about twice as fast
    // without the keys repeated on every row (measured on chDB 26.7: 20 000 pairs 2.7 s -> 1.25 s).
    const result = await ch.client.exec({
      query: `INSERT INTO ${table} (${encoded.columns.map((c) => `\`${c}\``).join(', ')}) SETTINGS ${settings.join(', ')} FORMAT JSONCompactEachRow`,
      values: Readable.from([encoded.body]),
    });
    // Consume the (empty) response so the HTTP socket goes back to the pool.
    await drainStream(result.stream);
  } catch (e) {
    throw toStoreError(e, `inserting ${encoded.rows} rows into ${table}`, {
      table,
      rows: encoded.rows,
      dedupToken: opts.dedupToken,
    });
  }
  return { rows: encoded.rows };
}

/** Runs a SELECT with `{name:Type}` parameters and returns its rows (JSONEachRow). */
export async function queryRows<T = Record<string, unknown>>(
  ch: ClickHouse,
  sql: string,
  params: QueryParams = {},
): Promise<T[]> {
  try {
    const rs = await ch.client.query({ query: sql, format: 'JSONEachRow', query_params: params });
    return await rs.json<T>();
  } catch (e) {
    throw toStoreError(e, 'query failed', { sql: excerpt(sql) });
  }
}

/** Runs one statement that returns no rows (DDL, ALTER, INSERT ... SELECT). */
export async function runStatement(
  ch: ClickHouse,
  sql: string,
  params: QueryParams = {},
): Promise<void> {
  try {
    await ch.client.command({ query: sql, query_params: params });
  } catch (e) {
    throw toStoreError(e, 'statement failed', { sql: excerpt(sql) });
  }
}

function excerpt(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
