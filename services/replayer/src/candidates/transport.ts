import { EventEmitter } from 'node:events';
import { Pool, type Dispatcher } from 'undici';
import { UmbraError } from '@umbra/core';
import { onAbort } from './abort.ts';

/**
 * The HTTP edge shared by the http and kserve-v2 adapters: one keep-alive undici Pool per
 * candidate, JSON in and out, transport failures mapped to CANDIDATE_* codes.
 */

/** Builds the dispatcher for a candidate's origin; the transport owns it and closes it. */
export type DispatcherFactory = (origin: string, options: Pool.Options) => Dispatcher;

export interface HttpTransportOptions {
  candidate: string;
  /** Origin of the candidate, e.g. http://127.0.0.1:8080. */
  origin: string;
  method: 'POST' | 'PUT';
  headers: Readonly<Record<string, string>>;
  connections: number;
  keepAliveTimeoutMs: number;
  /** A backstop for undici's own header/body timers; the timeout wrapper aborts sooner or at the same time. */
  timeoutMs: number;
  dispatcherFactory?: DispatcherFactory;
}

export interface HttpTransport {
  /** Sends `body` and returns the response text of a 2xx answer with the time it took. */
  send(path: string, body: string, signal?: AbortSignal): Promise<{ text: string; latencyMs: number }>;
  close(): Promise<void>;
}

const EXCERPT_BYTES = 1024;

/** Socket-level failures worth another try: the candidate was not reachable or dropped us. */
const REFUSED_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** The candidate client was closed while a call (or its retry) was under way. */
const CLOSED_CODES = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const poolOptions: Pool.Options = {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  };
  const dispatcher = opts.dispatcherFactory ? opts.dispatcherFactory(opts.origin, poolOptions) : new Pool(opts.origin, poolOptions);
  const headers: Record<string, string> = { ...opts.headers };
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';

  return {
    async send(path, body, signal) {
      if (signal?.aborted) throw new UmbraError('CANDIDATE_ABORTED', `call to candidate ${opts.candidate} aborted`, { cause: signal.reason });
      // undici takes an EventEmitter as its signal; bridged with a cheap hook (see abort.ts).
      const abort = signal ? new EventEmitter() : undefined;
      const unfollow = signal && abort ? onAbort(signal, () => abort.emit('abort')) : undefined;
      const started = performance.now();
      try {
        let res: Dispatcher.ResponseData;
        try {
          res = await dispatcher.request({ origin: opts.origin, path, method: opts.method, headers, body, signal: abort });
        } catch (e) {
          throw transportError(e, opts.candidate, opts.origin, signal);
        }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          const excerpt = await readExcerpt(res.body).catch(() => '');
          throw httpError(res, excerpt, opts.candidate);
        }
        try {
          const text = await res.body.text();
          return { text, latencyMs: performance.now() - started };
        } catch (e) {
          throw transportError(e, opts.candidate, opts.origin, signal);
        }
      } finally {
        unfollow?.();
      }
    },
    close: () => dispatcher.close(),
  };
}

/** Reads the whole body (so the socket goes back to the pool) but keeps only its start. */
async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < EXCERPT_BYTES) {
      kept.push(chunk.subarray(0, EXCERPT_BYTES - size));
      size += Math.min(chunk.length, EXCERPT_BYTES - size);
    }
  }
  return Buffer.concat(kept).toString('utf8');
}

function httpError(res: Dispatcher.ResponseData, excerpt: string, candidate: string): UmbraError {
  const status = res.statusCode;
  const context: Record<string, unknown> = { candidate, status, body: excerpt };
  const retryAfter = retryAfterMs(res.headers['retry-after']);
  if (retryAfter !== undefined) context.retryAfterMs = retryAfter;
  return new UmbraError('CANDIDATE_HTTP_ERROR', `candidate ${candidate} answered HTTP ${status}`, {
    retriable: status >= 500 || status === 429,
    context,
  });
}

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function transportError(e: unknown, candidate: string, origin: string, signal?: AbortSignal): UmbraError {
  if (e instanceof UmbraError) return e;
  // The timeout wrapper or the caller aborted; they turn this into TIMEOUT or ABORTED.
  if (signal?.aborted) return new UmbraError('CANDIDATE_ABORTED', `call to candidate ${candidate} aborted`, { cause: e });
  const code = errorCode(e);
  if (code !== undefined && CLOSED_CODES.has(code)) {
    return new UmbraError('CANDIDATE_ABORTED', `candidate ${candidate} client closed`, { context: { candidate, reason: 'closed' }, cause: e });
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new UmbraError('CANDIDATE_TIMEOUT', `candidate ${candidate} timed out (${code})`, { context: { candidate, code }, cause: e });
  }
  if (code !== undefined && REFUSED_CODES.has(code)) {
    return new UmbraError('CANDIDATE_REFUSED', `candidate ${candidate} at ${origin} unreachable (${code})`, {
      retriable: true,
      context: { candidate, origin, code },
      cause: e,
    });
  }
  return new UmbraError('CANDIDATE_FAILED', `call to candidate ${candidate} failed: ${(e as Error)?.message ?? String(e)}`, {
    context: { candidate, origin, code },
    cause: e,
  });
}

/** undici puts the system error under `cause` for connect failures; AggregateErrors hold several. */
function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== 'UND_ERR') return c;
    const nested = (cur as { errors?: unknown[] }).errors;
    if (Array.isArray(nested) && nested.length > 0) {
      cur = nested[0];
      continue;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
