export {
  createClickHouse,
  DEFAULT_DATA_DIR,
  type ClickHouse,
  type ClickHouseMode,
  type ClickHouseOptions,
} from './client.ts';
export { clickHouseErrorType, isClickHouseError, toStoreError } from './errors.ts';
export {
  encodeNative,
  insertEncoded,
  insertRows,
  queryRows,
  runStatement,
  type EncodedRows,
  type InsertOptions,
  type QueryParams,
} from './io.ts';
export {
  assertIdempotent,
  checksumOf,
  migrate,
  MIGRATIONS_DIR,
  MIGRATIONS_TABLE,
  readMigrations,
  RETENTION_TABLES,
  retentionDaysOf,
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
  type RetentionResult,
} from './migrate.ts';
export {
  renderClusterMigrations,
  renderClusterVariant,
  type ClusterVariantOptions,
} from './cluster.ts';
export {
  requestEventEncoder,
  requestEventToRow,
  shadowPairEncoder,
  shadowPairToRow,
  toDateTime64,
  type RowEncoder,
  type RequestEventRow,
  type ShadowPairRow,
} from './rows.ts';
export { encodeNativeBlock, type NativeType } from './native.ts';
export { bindParams, loadSql, quoteString, splitStatements, SQL_DIR } from './sql.ts';
