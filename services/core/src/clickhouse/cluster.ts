import { UmbraError } from '../errors.ts';
import { MIGRATIONS_DIR, readMigrations } from './migrate.ts';
import { splitStatements } from './sql.ts';

export interface ClusterVariantOptions {
  /** Suffix of the per-node replicated tables; the Distributed table keeps the plain name. Default '_local'. */
  localSuffix?: string;
  /** Keeper path prefix of the replicated tables. Default '/clickhouse/tables/{shard}/{database}'. */
  replicationPathPrefix?: string;
  /** Database the Distributed tables point at. Default `currentDatabase()` of the DDL. */
  database?: string;
}

const MERGE_TREE_FAMILY = new Set([
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
  'GraphiteMergeTree',
]);

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The same migration SQL for a ClickHouse cluster: each MergeTree-family table becomes
 * `<name>_local ON CLUSTER` with the `Replicated*` engine (engine arguments such as the
 * ReplacingMergeTree version column kept) plus a `Distributed` table under the original name,
 * sharded by a hash of the sorting key so that the rows ReplacingMergeTree collapses always
 * meet on one shard. ALTER TABLE goes to the local tables and, for column changes, to the
 * Distributed ones too. A pure string transform; the files stay the single source.
 *
 * Inserts that carry an insert_deduplication_token should go to the local tables (or through
 * the Distributed table with distributed_foreground_insert = 1) for the token to apply.
 */
export function renderClusterVariant(
  sql: string,
  cluster: string,
  opts: ClusterVariantOptions = {},
): string {
  if (!NAME.test(cluster))
    throw new UmbraError(
      'BAD_ARGUMENT',
      `cluster name must match ${NAME}: ${JSON.stringify(cluster)}`,
    );
  if (opts.database !== undefined && !NAME.test(opts.database)) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `database name must match ${NAME}: ${JSON.stringify(opts.database)}`,
    );
  }
  const ctx: Ctx = {
    onCluster: `ON CLUSTER '${cluster}'`,
    cluster,
    suffix: opts.localSuffix ?? '_local',
    pathPrefix: opts.replicationPathPrefix ?? '/clickhouse/tables/{shard}/{database}',
    database: opts.database === undefined ? 'currentDatabase()' : `'${opts.database}'`,
  };
  const out: string[] = [];
  for (const statement of splitStatements(sql)) out.push(...renderStatement(statement, ctx));
  return out.map((s) => `${s};\n`).join('\n');
}

/** The cluster variant of every migration file, in order, each headed by its file name. */
export function renderClusterMigrations(
  cluster: string,
  opts: ClusterVariantOptions & { dir?: string } = {},
): string {
  return readMigrations(opts.dir ?? MIGRATIONS_DIR)
    .map((f) => `-- ${f.name}\n${renderClusterVariant(f.statements.join(';\n'), cluster, opts)}`)
    .join('\n');
}

interface Ctx {
  onCluster: string;
  cluster: string;
  suffix: string;
  pathPrefix: string;
  database: string;
}

const CREATE_TABLE =
  /^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*/i;
const ALTER_TABLE = /^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s+/i;
const CREATE_OTHER =
  /^(CREATE\s+(?:OR\s+REPLACE\s+)?(?:DATABASE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY|FUNCTION)\s+(?:IF\s+NOT\s+EXISTS\s+)?[A-Za-z_][A-Za-z0-9_.]*)\s*/i;

function renderStatement(statement: string, ctx: Ctx): string[] {
  if (/\bON\s+CLUSTER\b/i.test(statement)) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      'migration already names a cluster; the files must stay single-node',
    );
  }
  const create = CREATE_TABLE.exec(statement);
  if (create) return renderCreateTable(statement, create, ctx);
  const alter = ALTER_TABLE.exec(statement);
  if (alter) return renderAlter(statement, alter, ctx);
  const other = CREATE_OTHER.exec(statement);
  if (other) return [`${other[1]} ${ctx.onCluster} ${statement.slice(other[0].length)}`.trimEnd()];
  throw new UmbraError(
    'BAD_ARGUMENT',
    `the cluster variant does not support: ${statement.slice(0, 60)}`,
  );
}

function renderCreateTable(statement: string, m: RegExpExecArray, ctx: Ctx): string[] {
  const name = m[2] as string;
  const ifNotExists = m[1] ? 'IF NOT EXISTS ' : '';
  const colsStart = m[0].length;
  if (statement[colsStart] !== '(') {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `CREATE TABLE ${name}: the cluster variant needs an explicit column list`,
    );
  }
  const colsEnd = matchingParen(statement, colsStart);
  const columns = statement.slice(colsStart, colsEnd + 1);
  const tail = statement.slice(colsEnd + 1);

  const engineMatch = /\bENGINE\s*=\s*([A-Za-z]+)/i.exec(tail);
  if (!engineMatch)
    throw new UmbraError('BAD_ARGUMENT', `CREATE TABLE ${name} has no ENGINE clause`);
  const engine = engineMatch[1] as string;
  let afterEngine = engineMatch.index + engineMatch[0].length;
  let args = '';
  const open = /^\s*\(/.exec(tail.slice(afterEngine));
  if (open) {
    const close = matchingParen(tail, afterEngine + open[0].length - 1);
    args = tail.slice(afterEngine + open[0].length, close).trim();
    afterEngine = close + 1;
  }
  const beforeEngine = tail.slice(0, engineMatch.index).trim();
  const clauses = tail.slice(afterEngine);

  if (!MERGE_TREE_FAMILY.has(engine)) {
    // Memory, Log, ... hold per-node data; create them on every node as they are.
    return [`CREATE TABLE ${ifNotExists}${name} ${ctx.onCluster}\n${columns}${tail}`];
  }
  const local = `${name}${ctx.suffix}`;
  const replicatedArgs = [
    `'${ctx.pathPrefix}/${local.split('.').pop()}'`,
    `'{replica}'`,
    ...(args ? [args] : []),
  ].join(', ');
  // Replicated tables deduplicate inserts by their own window; carry the single-node one over.
  const replicatedClauses = clauses.replace(
    /\bnon_replicated_deduplication_window\b/g,
    'replicated_deduplication_window',
  );
  const localDdl =
    `CREATE TABLE ${ifNotExists}${local} ${ctx.onCluster}\n${columns}\n` +
    (beforeEngine ? `${beforeEngine}\n` : '') +
    `ENGINE = Replicated${engine}(${replicatedArgs})${replicatedClauses}`;

  const key = sortingKey(clauses);
  if (!key)
    throw new UmbraError('BAD_ARGUMENT', `CREATE TABLE ${name} has no ORDER BY to shard by`);
  const localName = local.split('.').pop() as string;
  const distributedDdl =
    `CREATE TABLE ${ifNotExists}${name} ${ctx.onCluster} AS ${local}\n` +
    `ENGINE = Distributed('${ctx.cluster}', ${ctx.database}, ${localName}, cityHash64(${key}))`;
  return [localDdl, distributedDdl];
}

const COLUMN_ALTER = /\b(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i;

function renderAlter(statement: string, m: RegExpExecArray, ctx: Ctx): string[] {
  const name = m[1] as string;
  const rest = statement.slice(m[0].length);
  const out = [`ALTER TABLE ${name}${ctx.suffix} ${ctx.onCluster} ${rest}`];
  // The Distributed table's columns mirror the local table's; other changes are storage-only.
  if (COLUMN_ALTER.test(rest)) out.push(`ALTER TABLE ${name} ${ctx.onCluster} ${rest}`);
  return out;
}

/** The ORDER BY expression list without its outer parentheses, e.g. 'experiment, candidate'. */
function sortingKey(clauses: string): string | null {
  const m = /\bORDER\s+BY\s+/i.exec(clauses);
  if (!m) return null;
  const start = m.index + m[0].length;
  if (clauses[start] === '(') {
    const inner = clauses.slice(start + 1, matchingParen(clauses, start)).trim();
    return inner === '' ? null : inner;
  }
  const end = /\s(PARTITION|PRIMARY|SAMPLE|TTL|SETTINGS|COMMENT)\b|$/i.exec(clauses.slice(start));
  const expr = clauses.slice(start, start + (end?.index ?? clauses.length - start)).trim();
  return expr === '' || expr.toLowerCase() === 'tuple()' ? null : expr;
}

/** Index of the parenthesis closing the one at `open`, skipping quoted text. */
function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < s.length && s[i] !== c) i += s[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new UmbraError('BAD_ARGUMENT', 'unbalanced parentheses in SQL');
}
