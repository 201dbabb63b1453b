import { UmbraError } from '../errors.ts';

/**
 * ClickHouse error types that say "try again later" rather than "this statement is wrong".
 * Matched on the error's `type` (the server's stable error name), never on message text.
 */
const TRANSIENT_TYPES = new Set([
  'TIMEOUT_EXCEEDED',
  'TOO_SLOW',
  'SOCKET_TIMEOUT',
  'NETWORK_ERROR',
  'TOO_MANY_SIMULTANEOUS_QUERIES',
  'NO_FREE_CONNECTION',
  'MEMORY_LIMIT_EXCEEDED',
  'TABLE_IS_READ_ONLY',
  'TOO_MANY_PARTS',
  'TOO_FEW_LIVE_REPLICAS',
  'UNKNOWN_STATUS_OF_INSERT',
  'KEEPER_EXCEPTION',
  'NO_ZOOKEEPER',
  'ALL_CONNECTION_TRIES_FAILED',
  'SERVER_OVERLOADED',
]);

/** Node socket / DNS / undici codes of a server that cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** chDB's own error codes for an engine that is closed, unreachable or timed out. */
const CHDB_UNAVAILABLE_CODES = new Set([
  'CHDB_CONNECTION',
  'CHDB_CLOSED',
  'CHDB_TIMEOUT',
  'CHDB_ABORT',
]);

export interface ClickHouseErrorLike {
  code: string;
  type: string;
  message: string;
}

/**
 * Duck-typed on purpose: chDB throws the `ClickHouseError` of `@clickhouse/client-common`, the
 * HTTP client its own bundled copy, so `instanceof` would miss one of the two.
 */
export function isClickHouseError(e: unknown): e is ClickHouseErrorLike {
  if (!(e instanceof Error)) return false;
  const { code, type } = e as Error & { code?: unknown; type?: unknown };
  return typeof code === 'string' && /^\d+$/.test(code) && typeof type === 'string';
}

/** The ClickHouse error type (e.g. 'UNKNOWN_TABLE') of an error or of its UmbraError cause. */
export function clickHouseErrorType(e: unknown): string | undefined {
  if (isClickHouseError(e)) return e.type;
  if (e instanceof Error && e.cause !== undefined) return clickHouseErrorType(e.cause);
  return undefined;
}

function isUnavailable(e: unknown, depth = 0): boolean {
  if (!(e instanceof Error) || depth > 4) return false;
  const code = (e as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || CHDB_UNAVAILABLE_CODES.has(code)))
    return true;
  // @clickhouse/client reports its request_timeout with this exact Error and no code.
  if (e.message === 'Timeout error.') return true;
  return isUnavailable(e.cause, depth + 1);
}

/**
 * Turns whatever the client threw into an UmbraError: an unreachable, slow or overloaded store
 * is STORE_UNAVAILABLE (retriable); a statement the store rejected is STORE_QUERY_FAILED (not).
 */
export function toStoreError(
  e: unknown,
  what: string,
  context: Record<string, unknown> = {},
): UmbraError {
  if (e instanceof UmbraError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (isClickHouseError(e)) {
    const ctx = { ...context, clickhouseCode: e.code, clickhouseType: e.type };
    if (TRANSIENT_TYPES.has(e.type)) {
      return new UmbraError('STORE_UNAVAILABLE', `${what}: ${message}`, {
        retriable: true,
        context: ctx,
        cause: e,
      });
    }
    return new UmbraError('STORE_QUERY_FAILED', `${what}: ${message}`, {
      retriable: false,
      context: ctx,
      cause: e,
    });
  }
  if (isUnavailable(e)) {
    return new UmbraError('STORE_UNAVAILABLE', `${what}: ClickHouse is unreachable: ${message}`, {
      retriable: true,
      context,
      cause: e,
    });
  }
  return new UmbraError('STORE_QUERY_FAILED', `${what}: ${message}`, {
    retriable: false,
    context,
    cause: e,
  });
}
