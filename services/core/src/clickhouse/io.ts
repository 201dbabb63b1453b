import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { drainStream, type ClickHouseClient } from '@clickhouse/client';
import { UmbraError } from '../errors.ts';
import type { ClickHouse } from './client.ts';
import { toStoreError } from './errors.ts';
import { encodeNativeBlock } from './native.ts';
import type { RowEncoder } from './rows.ts';
import { bindParams, quoteString } from './sql.ts';

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
 * (see `toDateTime64`), ISO strings, `Date`s or integer epoch milliseconds. For small and
 * occasional inserts (dead letters, reports, fixtures); the replayer's rows go as Native
 * through `encodeNative`.
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
  const columns = rows.length ? Object.keys(rows[0]!) : [];
  // One JSON.stringify per row; in an array, undefined (a missing key) is written as null.
  let body = '';
  for (const row of rows)
    body += `${JSON.stringify(columns.map((c) => (row as Record<string, unknown>)[c]))}\n`;
  return insertEncoded(
    ch,
    table,
    { columns, format: 'JSONCompactEachRow', body, rows: rows.length },
    opts,
  );
}

/** Rows encoded for an insert: the body in its format, and its column list. */
export interface EncodedRows {
  readonly columns: readonly string[];
  readonly format: 'JSONCompactEachRow' | 'Native';
  /** JSONCompactEachRow text, or Native blocks (each a complete block, sent one after another). */
  readonly body: string | readonly Uint8Array[];
  readonly rows: number;
}

/**
 * Encodes items as one Native block through an encoder (`shadowPairEncoder`,
 * `requestEventEncoder`), with no keyed row object per item. Apart from `insertEncoded` so a
 * writer can encode the next rows while the engine inserts the previous ones; blocks of the
 * same encoder concatenate into one insert.
 */
export function encodeNative<T>(items: readonly T[], encoder: RowEncoder<T>): Uint8Array {
  return encodeNativeBlock(
    encoder.columns,
    encoder.types,
    items.map((item) => encoder.values(item)),
  );
}

/** Inserts encoded rows (`insertRows`, `encodeNative`): the settings and errors of `insertRows`. */
export async function insertEncoded(
  ch: ClickHouse,
  table: string,
  encoded: EncodedRows,
  opts: InsertOptions = {},
): Promise<{ rows: number }> {
  if (!TABLE.test(table))
    throw new UmbraError('BAD_ARGUMENT', `not a table name: ${JSON.stringify(table)}`);
  if (encoded.rows === 0) return { rows: 0 };
  const settings: string[] = [];
  if (encoded.format === 'JSONCompactEachRow')
    settings.push(`date_time_input_format = 'best_effort'`);
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
  const into = `INSERT INTO ${table} (${encoded.columns.map((c) => `\`${c}\``).join(', ')})`;
  try {
    const { body } = encoded;
    await ch.lease(async (client) => {
      if (encoded.format === 'Native' && ch.mode === 'embedded' && typeof body !== 'string') {
        await insertFromFile(client, into, settings, body);
        return;
      }
      // With an explicit column list JSONCompactEachRow parses about twice as fast as rows
      // that repeat their keys (chDB 26.7: 20 000 pairs 2.7 s -> 1.25 s).
      const result = await client.exec({
        query: `${into} SETTINGS ${settings.join(', ')} FORMAT ${encoded.format}`,
        values: Readable.from(typeof body === 'string' ? [body] : body),
      });
      // Consume the (empty) response so the HTTP socket goes back to the pool.
      await drainStream(result.stream);
    });
  } catch (e) {
    throw toStoreError(e, `inserting ${encoded.rows} rows into ${table}`, {
      table,
      rows: encoded.rows,
      dedupToken: opts.dedupToken,
    });
  }
  return { rows: encoded.rows };
}

// Insert files of this process: pid and a random tag (pids are reused), then a sequence.
const insertPrefix = join(
  tmpdir(),
  `umbra-insert-${process.pid}-${randomBytes(4).toString('hex')}-`,
);
let insertSeq = 0;

/**
 * chDB takes an INSERT's data inline, appended to the statement's text, and reads it there at
 * ~10 ns a byte before any parsing (chDB 26.7: 18 MB of one String column 170-320 ms inline,
 * 27 ms from a file), and text only. So the embedded engine reads a Native body from a file
 * in the temp directory, removed once inserted: `INSERT ... SELECT * FROM file(path, Native)`,
 * which converts to the table's types and deduplicates by token as the inline form does.
 */
async function insertFromFile(
  client: ClickHouseClient,
  into: string,
  settings: readonly string[],
  blocks: readonly Uint8Array[],
): Promise<void> {
  const file = `${insertPrefix}${++insertSeq}.native`;
  try {
    await writeFile(file, blocks);
    await client.command({
      // Every insert has its own file, so nothing cached by path can be stale; the cache is
      // off all the same.
      query: `${into} SETTINGS ${[...settings, 'schema_inference_use_cache_for_file = 0'].join(', ')} SELECT * FROM file(${quoteString(file)}, Native)`,
    });
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * A statement and its parameters as sent: a server gets them as query parameters; the embedded
 * engine gets them bound into the text (see `bindParams`), so statements of different sessions
 * can run side by side.
 */
function statement(
  ch: ClickHouse,
  sql: string,
  params: QueryParams,
): { query: string; query_params?: QueryParams } {
  if (ch.mode === 'embedded')
    return { query: Object.keys(params).length ? bindParams(sql, params) : sql };
  return { query: sql, query_params: params };
}

/**
 * Runs a SELECT with `{name:Type}` parameters and returns its rows (JSONEachRow). Calls made
 * together run side by side (`ClickHouse.lease`).
 */
export async function queryRows<T = Record<string, unknown>>(
  ch: ClickHouse,
  sql: string,
  params: QueryParams = {},
): Promise<T[]> {
  try {
    return await ch.lease(async (client) => {
      const rs = await client.query({ ...statement(ch, sql, params), format: 'JSONEachRow' });
      return rs.json<T>();
    });
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
    await ch.lease((client) => client.command(statement(ch, sql, params)));
  } catch (e) {
    throw toStoreError(e, 'statement failed', { sql: excerpt(sql) });
  }
}

function excerpt(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
