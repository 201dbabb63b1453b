import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  type Logger as ClientLogger,
} from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { UmbraError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/index.ts';
import { toStoreError } from './errors.ts';

export type ClickHouseMode = 'server' | 'embedded';

export interface ClickHouseOptions {
  /** A ClickHouse server's HTTP(S) endpoint; when unset, the embedded chDB engine is used. */
  url?: string;
  username?: string;
  password?: string;
  /** Server mode only: created when missing. Embedded mode uses the engine's `default` database. */
  database?: string;
  /** Embedded mode only: the engine's data directory, or ':memory:'. Default `./.umbra/db`. */
  dataDir?: string;
  logger?: Logger;
  /** Server mode only (chDB has no per-request timeout on this path). Default 30 s. */
  requestTimeoutMs?: number;
}

/** One handle on a ClickHouse engine: a server over HTTP, or chDB in this process. */
export interface ClickHouse {
  readonly client: ClickHouseClient;
  readonly mode: ClickHouseMode;
  /** `SELECT version()`, e.g. '26.7.2.1'. */
  readonly version: string;
  /** For logs and CLI output, never with credentials, e.g. "embedded chDB 26.7 at ./.umbra/db". */
  readonly describe: string;
  readonly logger: Logger;
  /**
   * Runs `fn` on a session of its own, so statements started together run side by side: a
   * server's client (its HTTP pool does that), or a free one of the embedded engine's sessions,
   * waiting for one in the order asked when all are busy (chDB runs one statement at a time per
   * session; see EMBEDDED_SESSIONS).
   */
  lease<T>(fn: (client: ClickHouseClient) => Promise<T>): Promise<T>;
  /** Idempotent. In embedded mode the engine stays up while other handles on it are open. */
  close(): Promise<void>;
}

/**
 * Sessions per embedded handle: one per core, 2 to 4. Statements without query parameters on
 * different sessions run in parallel in chDB (a report's statements are mostly planning, on one
 * core each); parameterized ones run one at a time per process whatever the session, which is
 * why io.ts binds parameters itself for the embedded engine.
 */
const EMBEDDED_SESSIONS = Math.min(4, Math.max(2, availableParallelism()));

export const DEFAULT_DATA_DIR = './.umbra/db';
const MEMORY = ':memory:';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function createClickHouse(opts: ClickHouseOptions = {}): Promise<ClickHouse> {
  const logger = opts.logger ?? silentLogger();
  const ch = opts.url
    ? await openServer(opts.url, opts, logger)
    : await openEmbedded(opts.dataDir ?? DEFAULT_DATA_DIR, logger);
  logger.info({ clickhouse: ch.describe }, 'clickhouse ready');
  return ch;
}

async function readVersion(client: ClickHouseClient): Promise<string> {
  const rs = await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' });
  const rows = await rs.json<{ version: string }>();
  return rows[0]?.version ?? 'unknown';
}

/** Sends @clickhouse/client's own log lines to our logger instead of the console. */
function clientLog(logger: Logger): NonNullable<ClickHouseClientConfigOptions['log']> {
  const log = logger.child({ component: 'clickhouse-client' });
  class Forward implements ClientLogger {
    trace(p: Parameters<ClientLogger['trace']>[0]): void {
      log.trace({ module: p.module, ...p.args }, p.message);
    }
    debug(p: Parameters<ClientLogger['debug']>[0]): void {
      log.debug({ module: p.module, ...p.args }, p.message);
    }
    info(p: Parameters<ClientLogger['info']>[0]): void {
      log.info({ module: p.module, ...p.args }, p.message);
    }
    warn(p: Parameters<ClientLogger['warn']>[0]): void {
      log.warn({ module: p.module, ...p.args, err: p.err }, p.message);
    }
    error(p: Parameters<ClientLogger['error']>[0]): void {
      log.error({ module: p.module, ...p.args, err: p.err }, p.message);
    }
  }
  return { LoggerClass: Forward, level: ClickHouseLogLevel.WARN };
}

function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

// ---------------------------------------------------------------------------------------------
// Server

async function openServer(
  url: string,
  opts: ClickHouseOptions,
  logger: Logger,
): Promise<ClickHouse> {
  let shown: string;
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    shown = `${parsed.origin}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch (e) {
    throw new UmbraError('CONFIG_INVALID', `clickhouse url is not a URL: ${JSON.stringify(url)}`, {
      context: { key: 'url' },
      cause: e,
    });
  }
  const database = opts.database ?? 'default';
  if (!IDENTIFIER.test(database)) {
    throw new UmbraError(
      'CONFIG_INVALID',
      `clickhouse database must match ${IDENTIFIER}: ${JSON.stringify(database)}`,
      {
        context: { key: 'database' },
      },
    );
  }
  const base: ClickHouseClientConfigOptions = {
    url,
    application: 'umbra',
    log: clientLog(logger),
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    // chDB returns UInt64 as JSON numbers; make the server do the same so code tested on the
    // embedded engine reads identical rows in production.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  };
  if (opts.username !== undefined) base.username = opts.username;
  if (opts.password !== undefined) base.password = opts.password;

  // The database may not exist yet, and a client bound to a missing database fails every call,
  // so a first client without one pings and creates it.
  const bootstrap = createClient(base);
  try {
    const ping = await bootstrap.ping();
    if (!ping.success) {
      throw new UmbraError(
        'STORE_UNAVAILABLE',
        `ClickHouse at ${shown} does not answer: ${ping.error.message}`,
        {
          retriable: true,
          context: { url: shown },
          cause: ping.error,
        },
      );
    }
    if (database !== 'default') {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
    }
  } catch (e) {
    throw toStoreError(e, `opening ClickHouse at ${shown}`, { url: shown });
  } finally {
    await bootstrap.close();
  }

  const client = createClient({ ...base, database });
  let version: string;
  try {
    version = await readVersion(client);
  } catch (e) {
    await client.close();
    throw toStoreError(e, `opening ClickHouse at ${shown}`, { url: shown });
  }
  let closed = false;
  return {
    client,
    lease: (fn) => fn(client),
    mode: 'server',
    version,
    describe: `ClickHouse server ${majorMinor(version)} at ${shown}, database ${database}`,
    logger,
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Embedded

/**
 * chDB binds one data directory per process. Handles on the same directory each get their own
 * session (own query and settings state) on the shared engine; a different directory is
 * refused while any handle is open, with an error that says which one is open.
 */
let engine: { key: string; shown: string; refs: number } | null = null;

function engineKey(dataDir: string): string {
  return dataDir === MEMORY ? MEMORY : resolvePath(dataDir);
}

async function openEmbedded(dataDir: string, logger: Logger): Promise<ClickHouse> {
  const key = engineKey(dataDir);
  if (engine && engine.key !== key) {
    throw new UmbraError(
      'STORE_CONFLICT',
      `the embedded ClickHouse engine (chDB) is open at ${engine.shown} and chDB allows one data directory per process; ` +
        `close every handle on it before opening ${dataDir}, or set CLICKHOUSE_URL to use a server`,
      { retriable: false, context: { open: engine.shown, requested: dataDir } },
    );
  }
  if (key !== MEMORY) mkdirSync(key, { recursive: true });

  const clients: ClickHouseClient[] = [];
  try {
    for (let i = 0; i < EMBEDDED_SESSIONS; i++) {
      // chDB ships @clickhouse/client-common's Connection type, the client its bundled copy of
      // the same interface; they are the same contract under two names.
      const connection = createChdbConnection({ path: key });
      clients.push(
        createClient({
          connection: connection as unknown as ClickHouseClientConfigOptions['connection'],
          log: clientLog(logger),
        }),
      );
    }
  } catch (e) {
    await Promise.all(clients.map((c) => c.close()));
    // Someone else in this process opened chDB directly, or the directory is unusable.
    throw new UmbraError(
      'STORE_CONFLICT',
      `cannot open the embedded ClickHouse engine at ${dataDir}: ${(e as Error).message}`,
      {
        retriable: false,
        context: { requested: dataDir },
        cause: e,
      },
    );
  }
  if (engine) engine.refs += 1;
  else engine = { key, shown: dataDir, refs: 1 };

  const client = clients[0]!;
  // A pool: a statement takes a free session or waits for the first one freed, so a long
  // statement never queues behind another on a busy session while one is idle.
  const free = [...clients];
  const waiting: ((c: ClickHouseClient) => void)[] = [];
  const lease = async <T>(fn: (c: ClickHouseClient) => Promise<T>): Promise<T> => {
    const session = free.pop() ?? (await new Promise<ClickHouseClient>((resolve) => waiting.push(resolve)));
    try {
      return await fn(session);
    } finally {
      const next = waiting.shift();
      if (next) next(session);
      else free.push(session);
    }
  };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (engine && engine.key === key) {
      engine.refs -= 1;
      if (engine.refs <= 0) engine = null;
    }
    await Promise.all(clients.map((c) => c.close()));
  };

  let version: string;
  try {
    version = await readVersion(client);
  } catch (e) {
    await close();
    throw toStoreError(e, `opening the embedded ClickHouse engine at ${dataDir}`, { dataDir });
  }
  return {
    client,
    lease,
    mode: 'embedded',
    version,
    describe: `embedded chDB ${majorMinor(version)} at ${dataDir}`,
    logger,
    close,
  };
}
