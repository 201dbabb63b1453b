import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UmbraError } from '../errors.ts';
import type { Logger } from '../logging/index.ts';
import type { ClickHouse } from './client.ts';
import { insertRows, queryRows, runStatement } from './io.ts';
import { toDateTime64 } from './rows.ts';
import { SQL_DIR, splitStatements } from './sql.ts';

export const MIGRATIONS_DIR = join(SQL_DIR, 'migrations');
export const MIGRATIONS_TABLE = 'umbra_migrations';

/** Tables whose rows expire `retentionDays` after their time: the raw data and its roll-ups. */
export const RETENTION_TABLES = [
  'shadow_pairs',
  'request_events',
  'pair_rollup_hours',
  'pair_rollups',
  'request_rollup_hours',
  'request_rollups',
] as const;

/** The time each retention table's TTL counts from (as its migration wrote it). */
const TTL_TIME: Record<(typeof RETENTION_TABLES)[number], string> = {
  shadow_pairs: 'toDateTime(event_time)',
  request_events: 'toDateTime(event_time)',
  pair_rollup_hours: 'hour',
  pair_rollups: 'hour',
  request_rollup_hours: 'hour',
  request_rollups: 'hour',
};

const FILE_NAME = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

// The runner's own bookkeeping, inline because it must exist before any file is read. Keyed by
// version so two processes recording the same migration collapse to one row (read with FINAL);
// the dedup window also drops the second identical record insert outright.
const MIGRATIONS_DDL = `
CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version
SETTINGS non_replicated_deduplication_window = 1000`;

export interface MigrationFile {
  version: number;
  /** The file name, e.g. '001_shadow_pairs.sql'. */
  name: string;
  path: string;
  /** sha256 of the file text with line endings normalised to \n. */
  checksum: string;
  statements: string[];
}

export interface MigrateOptions {
  logger?: Logger;
  /** Directory of NNN_name.sql files; default the repository's sql/migrations. */
  dir?: string;
  /** When set, shadow_pairs and request_events keep rows this many days after event_time. */
  retentionDays?: number;
}

export interface RetentionResult {
  days: number;
  /** Tables whose TTL was altered by this run. */
  changed: string[];
  /** Tables that already had this TTL. */
  unchanged: string[];
}

export interface MigrateResult {
  /** File names applied by this run, in order. */
  applied: string[];
  /** File names applied earlier and unchanged since. */
  unchanged: string[];
  retention?: RetentionResult;
}

export function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
}

/** Reads, orders and checks the migration files without touching the store. */
export function readMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  } catch (e) {
    throw new UmbraError('NOT_FOUND', `no migrations directory at ${dir}`, {
      context: { dir },
      cause: e,
    });
  }
  const files: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const name of names) {
    const m = FILE_NAME.exec(name);
    if (!m) {
      throw new UmbraError(
        'MIGRATION_INVALID',
        `migration file ${name} is not named NNN_name.sql`,
        { context: { file: name } },
      );
    }
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other !== undefined) {
      throw new UmbraError(
        'MIGRATION_INVALID',
        `migrations ${other} and ${name} share version ${version}`,
        {
          context: { file: name, other },
        },
      );
    }
    seen.set(version, name);
    const path = join(dir, name);
    const text = readFileSync(path, 'utf8');
    const statements = splitStatements(text);
    if (statements.length === 0) {
      throw new UmbraError('MIGRATION_INVALID', `migration ${name} has no statements`, {
        context: { file: name },
      });
    }
    statements.forEach((s, i) => assertIdempotent(s, name, i + 1));
    files.push({ version, name, path, checksum: checksumOf(text), statements });
  }
  return files.sort((a, b) => a.version - b.version);
}

/**
 * Every statement must be safe to run again: a process can die between applying a file and
 * recording it, and two processes may migrate at once.
 */
export function assertIdempotent(statement: string, file: string, index: number): void {
  const s = statement.replace(/\s+/g, ' ').trim();
  const problem = idempotencyProblem(s);
  if (problem) {
    throw new UmbraError(
      'MIGRATION_INVALID',
      `${file} statement ${index} is not safe to re-run: ${problem}`,
      {
        context: { file, statement: index },
      },
    );
  }
}

function idempotencyProblem(s: string): string | null {
  const create =
    /^CREATE (OR REPLACE )?(TEMPORARY )?(TABLE|DATABASE|VIEW|MATERIALIZED VIEW|LIVE VIEW|DICTIONARY|FUNCTION|ROLE|USER|ROW POLICY|SETTINGS PROFILE|QUOTA)\b ?(IF NOT EXISTS)?/i.exec(
      s,
    );
  if (create)
    return create[1] || create[4] ? null : `write CREATE ${create[3]?.toUpperCase()} IF NOT EXISTS`;
  if (/^DROP /i.test(s))
    return /^DROP \w+( \w+)? IF EXISTS\b/i.test(s) ? null : 'write DROP ... IF EXISTS';
  if (/^(INSERT|DELETE|UPDATE|TRUNCATE|RENAME|EXCHANGE)\b/i.test(s))
    return 'data changes and renames repeat on re-run; do them outside migrations';
  if (/^ALTER /i.test(s)) {
    const checks: [RegExp, RegExp, string][] = [
      [
        /\bADD (COLUMN|INDEX|PROJECTION|CONSTRAINT|STATISTICS)\b/gi,
        /^ADD \w+ IF NOT EXISTS\b/i,
        'ADD ... IF NOT EXISTS',
      ],
      [
        /\bDROP (COLUMN|INDEX|PROJECTION|CONSTRAINT|STATISTICS)\b/gi,
        /^DROP \w+ IF EXISTS\b/i,
        'DROP ... IF EXISTS',
      ],
      [/\bRENAME COLUMN\b/gi, /^RENAME COLUMN IF EXISTS\b/i, 'RENAME COLUMN IF EXISTS'],
    ];
    for (const [find, ok, advice] of checks) {
      for (const m of s.matchAll(find)) {
        if (!ok.test(s.slice(m.index))) return `write ${advice}`;
      }
    }
    if (/\b(DELETE WHERE|UPDATE \w+ ?=|DROP PARTITION|DETACH|ATTACH|MOVE|FREEZE)\b/i.test(s)) {
      return 'data-moving ALTERs do not belong in migrations';
    }
  }
  return null;
}

interface Recorded {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Applies sql/migrations/NNN_name.sql in version order and records each in umbra_migrations.
 * Safe to run again and from several processes at once (statements are idempotent, records
 * collapse); refuses with MIGRATION_CHANGED when an applied file has been edited since.
 */
export async function migrate(ch: ClickHouse, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const log = (opts.logger ?? ch.logger).child({ component: 'migrate' });
  if (opts.retentionDays !== undefined) assertRetentionDays(opts.retentionDays);
  const files = readMigrations(opts.dir);

  await runStatement(ch, MIGRATIONS_DDL);
  const recorded = await queryRows<Recorded>(
    ch,
    `SELECT version, name, checksum FROM ${MIGRATIONS_TABLE} FINAL ORDER BY version`,
  );
  const byVersion = new Map(recorded.map((r) => [Number(r.version), r]));

  // Check every file before applying any, so an edited history changes nothing.
  for (const f of files) {
    const r = byVersion.get(f.version);
    if (r && r.checksum !== f.checksum) {
      throw new UmbraError(
        'MIGRATION_CHANGED',
        `migration ${f.name} was applied with checksum ${r.checksum} but the file now has ${f.checksum}; ` +
          'applied migrations are never edited: add a new NNN_*.sql file instead',
        {
          retriable: false,
          context: { file: f.name, appliedChecksum: r.checksum, fileChecksum: f.checksum },
        },
      );
    }
  }
  for (const r of recorded) {
    if (!files.some((f) => f.version === Number(r.version))) {
      log.warn(
        { version: Number(r.version), name: r.name },
        'an applied migration has no file any more',
      );
    }
  }

  const applied: string[] = [];
  const unchanged: string[] = [];
  for (const f of files) {
    if (byVersion.has(f.version)) {
      unchanged.push(f.name);
      continue;
    }
    for (const [i, statement] of f.statements.entries()) {
      try {
        await runStatement(ch, statement);
      } catch (e) {
        const cause = e as UmbraError;
        throw new UmbraError(
          'MIGRATION_FAILED',
          `migration ${f.name} statement ${i + 1} failed: ${cause.message}`,
          {
            retriable: cause.retriable,
            context: { file: f.name, statement: i + 1, ...cause.context },
            cause,
          },
        );
      }
    }
    await insertRows(
      ch,
      MIGRATIONS_TABLE,
      [
        {
          version: f.version,
          name: f.name,
          checksum: f.checksum,
          applied_at: toDateTime64(Date.now()),
        },
      ],
      { dedupToken: `${MIGRATIONS_TABLE}:${f.version}:${f.checksum}` },
    );
    log.info({ file: f.name, statements: f.statements.length }, 'migration applied');
    applied.push(f.name);
  }

  const result: MigrateResult = { applied, unchanged };
  if (opts.retentionDays !== undefined) {
    result.retention = await applyRetention(ch, opts.retentionDays, log);
  }
  log.info(
    {
      applied: applied.length,
      unchanged: unchanged.length,
      retention: result.retention,
      clickhouse: ch.describe,
    },
    'migrations done',
  );
  return result;
}

function assertRetentionDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `retentionDays must be a whole number of days from 1 to 36500: ${days}`,
      {
        context: { key: 'retentionDays' },
      },
    );
  }
}

const TTL_DAYS = /\bTTL [^+]+ \+ toIntervalDay\((\d+)\)/;

/** The retention in days of a table's `TTL <time> + INTERVAL n DAY`, or null. */
export async function retentionDaysOf(ch: ClickHouse, table: string): Promise<number | null> {
  const rows = await queryRows<{ engine_full: string }>(
    ch,
    'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
    { table },
  );
  const row = rows[0];
  if (!row)
    throw new UmbraError('NOT_FOUND', `table ${table} does not exist; run the migrations first`, {
      context: { table },
    });
  const m = TTL_DAYS.exec(row.engine_full);
  return m ? Number(m[1]) : null;
}

/**
 * Sets the TTL as a setting rather than by editing applied files; ALTERs only tables whose TTL
 * differs, because MODIFY TTL rewrites parts to drop expired rows.
 */
async function applyRetention(ch: ClickHouse, days: number, log: Logger): Promise<RetentionResult> {
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const table of RETENTION_TABLES) {
    const current = await retentionDaysOf(ch, table);
    if (current === days) {
      unchanged.push(table);
      continue;
    }
    // DDL takes no query parameters; `days` is a checked integer.
    await runStatement(
      ch,
      `ALTER TABLE ${table} MODIFY TTL ${TTL_TIME[table]} + INTERVAL ${days} DAY`,
    );
    log.info({ table, from: current, to: days }, 'retention changed');
    changed.push(table);
  }
  return { days, changed, unchanged };
}
