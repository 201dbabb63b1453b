import { UmbraError } from '../errors.ts';

/**
 * kafkajs error names that mean "no usable connection to the cluster". kafkajs nests the last
 * attempt's error in `cause` once retries run out, so the whole chain is searched.
 */
const UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

const UNAVAILABLE_SYSCALL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Protocol errors the broker answers while it is still starting or moving leaders. */
const UNAVAILABLE_PROTOCOL_TYPES = new Set([
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'BROKER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 16) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const like = e as ErrorLike;
    out.push(like);
    queue.push(like.cause, like.originalError);
    if (Array.isArray(like.errors)) queue.push(...like.errors);
  }
  return out;
}

/** True when the error (or anything it wraps) says the cluster cannot be reached right now. */
export function isUnavailable(err: unknown): boolean {
  return chain(err).some(
    (e) =>
      (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) ||
      (typeof e.code === 'string' && UNAVAILABLE_SYSCALL_CODES.has(e.code)) ||
      (typeof e.type === 'string' && UNAVAILABLE_PROTOCOL_TYPES.has(e.type)),
  );
}

/**
 * Turns whatever kafkajs threw into an UmbraError: KAFKA_UNAVAILABLE (retriable) when the
 * cluster cannot be reached, else KAFKA_FAILED carrying kafkajs's own retriable flag and the
 * protocol error type, so callers branch on fields rather than message text.
 */
export function toKafkaError(
  err: unknown,
  operation: string,
  context: Record<string, unknown> = {},
): UmbraError {
  if (err instanceof UmbraError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isUnavailable(err)) {
    return new UmbraError(
      'KAFKA_UNAVAILABLE',
      `Kafka unavailable during ${operation}: ${message}`,
      {
        retriable: true,
        context: { operation, ...context },
        cause: err,
      },
    );
  }
  const head = chain(err)[0];
  const type = chain(err).find((e) => typeof e.type === 'string')?.type;
  return new UmbraError('KAFKA_FAILED', `Kafka ${operation} failed: ${message}`, {
    retriable: head?.retriable === true,
    context: { operation, ...context, ...(type === undefined ? {} : { kafkaErrorType: type }) },
    cause: err,
  });
}

/** Runs a kafkajs call and rethrows its failure as an UmbraError. */
export async function wrapKafka<T>(
  operation: string,
  context: Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKafkaError(err, operation, context);
  }
}
