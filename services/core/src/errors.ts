/**
 * Typed errors with a stable `code`, a `retriable` flag and context.
 * Code branches on `code` / `retriable`, never on message text.
 */
export type UmbraErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'DECODE_FAILED'
  | 'VALIDATION_FAILED'
  | 'SCHEMA_UNKNOWN'
  /** The schema registry failed or refused; `retriable` for network errors, timeouts, 429 and 5xx. */
  | 'REGISTRY_FAILED'
  | 'MIGRATION_CHANGED'
  | 'MIGRATION_FAILED'
  | 'MIGRATION_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'STORE_QUERY_FAILED'
  | 'STORE_CONFLICT'
  | 'KAFKA_UNAVAILABLE'
  | 'KAFKA_FAILED'
  | 'CANDIDATE_TIMEOUT'
  | 'CANDIDATE_HTTP_ERROR'
  | 'CANDIDATE_REFUSED'
  | 'CANDIDATE_BAD_OUTPUT'
  | 'CANDIDATE_FAILED'
  /** The event's input cannot be mapped to the candidate's request (not JSON, placeholder path missing, unsupported feature). */
  | 'CANDIDATE_BAD_INPUT'
  /** The caller aborted the replay (shutdown) or the candidate client was closed; not a candidate outcome. */
  | 'CANDIDATE_ABORTED'
  | 'BAD_ARGUMENT'
  | 'NOT_FOUND';

export class UmbraError extends Error {
  readonly code: UmbraErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: UmbraErrorCode,
    message: string,
    opts: { retriable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UmbraError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.context = Object.freeze({ ...(opts.context ?? {}) });
  }
}

export function isUmbraError(e: unknown, code?: UmbraErrorCode): e is UmbraError {
  return e instanceof UmbraError && (code === undefined || e.code === code);
}
