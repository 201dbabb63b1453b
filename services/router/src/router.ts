/**
 * The reference router: an HTTP reverse proxy in front of two model backends that splits traffic
 * by the rollout's weight (canary) or sends it all to one side (blue-green), and records every
 * request it served as a RequestEvent through the tap. The tap is fire-and-forget: a response
 * never waits on Kafka.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import {
  Counter,
  Gauge,
  Histogram,
  UmbraError,
  silentLogger,
  type Logger,
  type Registry,
  type RequestEvent,
} from '@umbra/core';
import type { PromotionDecisionMessage } from '@umbra/core/avro';
import {
  checkWeight,
  createRoutingTable,
  type Backend,
  type RouterMode,
  type RoutingState,
  type Side,
} from './routing.ts';

/** Where tapped events go; `createTap` of `@umbra/core` fits. */
export interface RequestTap {
  /**
   * Must not block or throw; false when the event was dropped. `jsonChecked`: the router made the
   * event's input and output JSON itself, so the tap need not parse them again.
   */
  tap(event: RequestEvent, opts?: { jsonChecked?: boolean }): boolean;
  /**
   * False (the event counted as dropped) when tap() would drop an event now, so the router does
   * not build it; `createTap`'s admit() fits. Without it every sampled request is built.
   */
  admit?(): boolean;
}

export interface ModelInfo {
  name: string;
  version: string;
}

export interface StickyKey {
  /** Request header whose value pins a user to an arm, e.g. `x-user-id`. */
  header?: string;
  /** Dotted path of a field in the JSON request body, e.g. `user.id`. */
  jsonField?: string;
}

export interface RouterOptions {
  /** Base URL of the stable (blue) backend. */
  stable: string;
  /** Base URL of the canary (green) backend. */
  canary: string;
  mode: RouterMode;
  /** Canary share 0..100; in blue-green mode 0 = blue, 100 = green. */
  weight?: number;
  stickyKey?: StickyKey;
  /** The models the arms serve, recorded on tapped events. */
  models: { stable: ModelInfo; canary: ModelInfo };
  tap?: RequestTap;
  /** Share of requests tapped, (0, 1]; recorded on each event. Default 1. */
  tapSampleRate?: number;
  /** Event attribute name → request header, e.g. `{ region: 'x-region' }`. */
  attributeHeaders?: Record<string, string>;
  /** Bearer token of the admin endpoint `/_umbra/routing`. */
  adminToken: string;
  logger?: Logger;
  registry?: Registry;
  /** Request bodies larger than this are refused with 413. */
  maxBodyBytes?: number;
  /** Responses larger than this are streamed but not tapped. */
  maxTapBytes?: number;
  /** Headers and body idle timeout towards a backend. */
  backendTimeoutMs?: number;
  /** Keep-alive connections per backend. */
  connections?: number;
}

export interface Routing extends RoutingState {
  arms: Record<Backend, { url: string; model: ModelInfo }>;
  stickyKey: StickyKey | null;
  lastDecision: {
    decisionId: string;
    decision: string;
    phase: string;
    nextWeight: number;
    appliedAt: number;
  } | null;
}

export interface Router {
  listen(port?: number, host?: string): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
  setWeight(weight: number): void;
  switchTo(side: Side): void;
  routing(): Routing;
  /** Applies a promoter decision: canary → its next weight; blue-green → switch at 0 or 100. */
  applyDecision(decision: PromotionDecisionMessage): Routing;
}

export const ADMIN_PATH = '/_umbra/routing';

/** What a tapped request's event holds before the backend answers. */
type EventStart = Omit<RequestEvent, 'output' | 'latencyMs' | 'status' | 'errorMessage'>;

// Connection-level headers are the proxy's own business on each hop (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

function forwardHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue;
    out[name] = value;
  }
  return out;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** The body as JSON text for the event: itself when it is JSON, else a JSON string of it. */
function asJsonText(text: string, parsed: { ok: boolean }): string {
  if (text.length === 0) return 'null';
  return parsed.ok ? text : JSON.stringify(text);
}

function fieldAt(value: unknown, path: string): unknown {
  let at = value;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function traceIdOf(headers: IncomingHttpHeaders): string | null {
  // W3C traceparent: version-traceid-parentid-flags.
  const tp = headerValue(headers, 'traceparent');
  const id = tp?.split('-')[1];
  return id && /^[0-9a-f]{32}$/.test(id) ? id : null;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function checkUrl(name: string, url: string): URL {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
    return u;
  } catch {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `router ${name} must be an http(s) URL, got ${JSON.stringify(url)}`,
    );
  }
}

export function createRouter(opts: RouterOptions): Router {
  if (!opts.adminToken)
    throw new UmbraError('BAD_ARGUMENT', 'router adminToken must be a non-empty string');
  const urls: Record<Backend, URL> = {
    stable: checkUrl('stable', opts.stable),
    canary: checkUrl('canary', opts.canary),
  };
  const table = createRoutingTable(opts.mode, opts.weight ?? 0);
  const logger = (opts.logger ?? silentLogger()).child({ component: 'router' });
  const maxBodyBytes = opts.maxBodyBytes ?? 10 * 1024 * 1024;
  const maxTapBytes = opts.maxTapBytes ?? 1024 * 1024;
  // Answers up to this size with a known length are relayed whole; larger ones stream.
  const maxWholeBytes = 256 * 1024;
  const timeout = opts.backendTimeoutMs ?? 30_000;
  const tapSampleRate = opts.tapSampleRate ?? 1;
  if (!(tapSampleRate > 0 && tapSampleRate <= 1))
    throw new UmbraError(
      'BAD_ARGUMENT',
      `router tapSampleRate must be in (0, 1], got ${tapSampleRate}`,
    );
  const attributeHeaders = Object.entries(opts.attributeHeaders ?? {});
  const sticky =
    opts.stickyKey && (opts.stickyKey.header || opts.stickyKey.jsonField)
      ? { ...opts.stickyKey }
      : null;
  const tokenDigest = sha256(opts.adminToken);
  const pools: Record<Backend, Pool> = {
    stable: new Pool(urls.stable.origin, { connections: opts.connections ?? 64, pipelining: 1 }),
    canary: new Pool(urls.canary.origin, { connections: opts.connections ?? 64, pipelining: 1 }),
  };
  const prefix: Record<Backend, string> = {
    stable: urls.stable.pathname.replace(/\/$/, ''),
    canary: urls.canary.pathname.replace(/\/$/, ''),
  };
  let lastDecision: Routing['lastDecision'] = null;

  const registry = opts.registry;
  const requestsTotal = registry
    ? metric(
        registry,
        'umbra_router_requests_total',
        () =>
          new Counter({
            name: 'umbra_router_requests_total',
            help: 'Requests proxied, by arm and HTTP status class.',
            labelNames: ['arm', 'code'],
            registers: [registry],
          }),
      )
    : undefined;
  const duration = registry
    ? metric(
        registry,
        'umbra_router_request_duration_seconds',
        () =>
          new Histogram({
            name: 'umbra_router_request_duration_seconds',
            help: 'Time from the full request to the end of the response.',
            labelNames: ['arm'],
            buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
            registers: [registry],
          }),
      )
    : undefined;
  const weightGauge = registry
    ? metric(
        registry,
        'umbra_router_canary_weight',
        () =>
          new Gauge({
            name: 'umbra_router_canary_weight',
            help: 'Candidate share of traffic, 0..100.',
            registers: [registry],
          }),
      )
    : undefined;
  weightGauge?.set(table.state().weight);

  const routing = (): Routing => ({
    ...table.state(),
    arms: {
      stable: { url: urls.stable.href, model: { ...opts.models.stable } },
      canary: { url: urls.canary.href, model: { ...opts.models.canary } },
    },
    stickyKey: sticky,
    lastDecision,
  });

  const setWeight = (w: number): void => {
    table.setWeight(w);
    weightGauge?.set(w);
    logger.info({ weight: w }, 'router: canary weight set');
  };
  const switchTo = (side: Side): void => {
    table.switchTo(side);
    weightGauge?.set(table.state().weight);
    logger.info({ active: side }, 'router: switched');
  };

  const preview = (weight: number): void => {
    table.preview(weight);
    weightGauge?.set(weight);
    logger.info({ weight }, 'router: blue-green preview, green takes its share');
  };

  const stickyKeyOf = (
    req: IncomingMessage,
    body: { ok: true; value: unknown } | { ok: false },
  ): string | undefined => {
    if (!sticky) return undefined;
    if (sticky.header) {
      const v = headerValue(req.headers, sticky.header);
      if (v) return v;
    }
    if (sticky.jsonField && body.ok) {
      const v = fieldAt(body.value, sticky.jsonField);
      if (typeof v === 'string' || typeof v === 'number') return String(v);
    }
    return undefined;
  };

  // prom-client resolves labels on every call; the children per arm and status class are few.
  const children = new Map<string, { count: () => void; time: (seconds: number) => void }>();
  const observe = (arm: string, code: number, ms: number): void => {
    if (!requestsTotal || !duration) return;
    const key = `${arm} ${Math.floor(code / 100)}`;
    let child = children.get(key);
    if (!child) {
      const c = requestsTotal.labels({ arm, code: `${Math.floor(code / 100)}xx` });
      const h = duration.labels({ arm });
      child = { count: () => c.inc(), time: (seconds) => h.observe(seconds) };
      children.set(key, child);
    }
    child.count();
    child.time(ms / 1000);
  };

  // Tapped after the responses are written, all of one event-loop turn together: encoding is the
  // tap's cost, never the caller's latency. Every event's input and output went through
  // asJsonText, so they are JSON by construction.
  let toTap: RequestEvent[] = [];
  const jsonChecked = { jsonChecked: true };
  const tapNow = (): void => {
    const events = toTap;
    toTap = [];
    for (const event of events) {
      try {
        opts.tap?.tap(event, jsonChecked);
      } catch (err) {
        logger.warn({ err }, 'router: tap threw; event lost');
      }
    }
  };
  const record = (event: RequestEvent): void => {
    if (!opts.tap) return;
    if (toTap.push(event) === 1) setImmediate(tapNow);
  };

  async function admin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = headerValue(req.headers, 'authorization') ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!timingSafeEqual(sha256(token), tokenDigest)) {
      res.setHeader('www-authenticate', 'Bearer');
      sendJson(res, 401, { error: 'unauthorized', message: 'a bearer token is required' });
      return;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, routing());
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      sendJson(res, 405, { error: 'method_not_allowed' });
      return;
    }
    const raw = await readBody(req, 64 * 1024);
    const parsed = raw === null ? { ok: false as const } : parseJson(raw.toString('utf8'));
    const cmd =
      parsed.ok && parsed.value !== null && typeof parsed.value === 'object'
        ? (parsed.value as Record<string, unknown>)
        : null;
    try {
      if (cmd && 'weight' in cmd && !('switch' in cmd)) setWeight(checkWeight(cmd.weight));
      else if (cmd && 'switch' in cmd && !('weight' in cmd)) switchTo(cmd.switch as Side);
      else
        throw new UmbraError(
          'BAD_ARGUMENT',
          'expected a JSON body {"weight": 0..100} or {"switch": "blue"|"green"}',
        );
    } catch (err) {
      if (err instanceof UmbraError && err.code === 'BAD_ARGUMENT') {
        sendJson(res, 400, { error: 'bad_request', message: err.message });
        return;
      }
      throw err;
    }
    sendJson(res, 200, routing());
  }

  // Request helpers live here, not as closures made per request: each is an allocation and,
  // under tsx, a defineProperty for its name.
  /** Counts and times a request; its latency in ms. */
  const finish = (arm: string, code: number, started: number): number => {
    const ms = performance.now() - started;
    observe(arm, code, ms);
    return ms;
  };
  /** A request that got no served answer: counted by `status`, tapped (if sampled) with the error. */
  const recordFailure = (
    arm: string,
    started: number,
    base: EventStart | null,
    status: number,
    errorMessage: string,
  ): void => {
    const latencyMs = finish(arm, status, started);
    if (base) record({ ...base, output: null, latencyMs, status: 'error', errorMessage });
  };

  async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, maxBodyBytes);
    if (body === null) {
      sendJson(res, 413, { error: 'payload_too_large', limitBytes: maxBodyBytes });
      return;
    }
    // Sampled up front, so an untapped request does not even buffer its response; an event the
    // tap would drop (Kafka down, buffer full) is not built at all.
    const tapThis =
      opts.tap !== undefined &&
      (tapSampleRate === 1 || Math.random() < tapSampleRate) &&
      (opts.tap.admit?.() ?? true);
    const started = performance.now();
    const eventTime = Date.now();
    const text = body.toString('utf8');
    const parsed = text.length > 0 ? parseJson(text) : { ok: false as const };
    const choice = table.choose(stickyKeyOf(req, parsed), Math.random());
    const attributes: Record<string, string> = {};
    for (const [attr, header] of attributeHeaders) {
      const v = headerValue(req.headers, header);
      if (v !== undefined) attributes[attr] = v;
    }
    const base: EventStart | null = tapThis
      ? {
          eventId: randomUUID(),
          eventTime,
          model: { ...opts.models[choice.backend] },
          arm: choice.arm,
          input: asJsonText(text, parsed),
          attributes,
          traceId: traceIdOf(req.headers),
          tapSampleRate,
        }
      : null;

    let upstream;
    try {
      upstream = await pools[choice.backend].request({
        method: (req.method ?? 'GET') as 'GET',
        path: prefix[choice.backend] + (req.url ?? '/'),
        headers: forwardHeaders(req.headers),
        body: body.length > 0 ? body : null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const status = code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502;
      const message = err instanceof Error ? err.message : String(err);
      sendJson(res, status, {
        error: status === 504 ? 'backend_timeout' : 'bad_gateway',
        arm: choice.arm,
        code: typeof code === 'string' ? code : null,
        message,
      });
      recordFailure(
        choice.arm,
        started,
        base,
        status,
        `backend ${choice.arm} unreachable: ${message}`,
      );
      return;
    }

    const captured: Buffer[] = [];
    let capturedBytes = 0;
    const length = Number(upstream.headers['content-length']);
    if (Number.isInteger(length) && length <= maxWholeBytes) {
      // A model's answer is small: read it whole and send it in one write with its length, rather
      // than as chunked pieces (a write, a syscall and a chunk header each).
      let whole: Buffer;
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of upstream.body as AsyncIterable<Buffer>) chunks.push(chunk);
        whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      } catch (err) {
        // Nothing sent yet: the client gets a clear 502 instead of a cut-off body.
        const message = err instanceof Error ? err.message : String(err);
        sendJson(res, 502, { error: 'bad_gateway', arm: choice.arm, code: null, message });
        recordFailure(choice.arm, started, base, 502, `backend response broke off: ${message}`);
        return;
      }
      const headers = forwardHeaders(upstream.headers);
      headers['content-length'] = String(whole.length);
      headers['x-umbra-arm'] = choice.arm;
      res.writeHead(upstream.statusCode, headers);
      res.end(whole);
      captured.push(whole);
      capturedBytes = whole.length;
    } else {
      res.writeHead(upstream.statusCode, {
        ...forwardHeaders(upstream.headers),
        'x-umbra-arm': choice.arm,
      });
      try {
        for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
          if (tapThis && capturedBytes <= maxTapBytes) {
            captured.push(chunk);
            capturedBytes += chunk.length;
          }
          // Respect the client's pace: a slow reader must not make us buffer the whole body.
          if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
        }
      } catch (err) {
        // Headers are out; all we can do is cut the response so the client sees it failed.
        logger.warn({ err, arm: choice.arm }, 'router: backend response broke off');
        res.destroy(err instanceof Error ? err : undefined);
        recordFailure(choice.arm, started, base, 502, 'backend response broke off');
        return;
      }
      res.end();
    }
    const latencyMs = finish(choice.arm, upstream.statusCode, started);
    if (base === null) return;
    if (capturedBytes > maxTapBytes) {
      logger.debug({ arm: choice.arm, bytes: capturedBytes }, 'router: response too large to tap');
      return;
    }
    // A whole answer is one buffer already: no copy for the tap.
    const out = (
      captured.length === 1 ? (captured[0] as Buffer) : Buffer.concat(captured)
    ).toString('utf8');
    if (upstream.statusCode >= 400) {
      // Only a served answer is a baseline output; an error response is recorded as the error.
      record({
        ...base,
        output: null,
        latencyMs,
        status: 'error',
        errorMessage: `HTTP ${upstream.statusCode}: ${out.slice(0, 200)}`,
      });
    } else {
      record({
        ...base,
        output: asJsonText(out, out.length > 0 ? parseJson(out) : { ok: false }),
        latencyMs,
        status: 'ok',
        errorMessage: null,
      });
    }
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const handler = path === ADMIN_PATH ? admin : proxy;
    handler(req, res).catch((err: unknown) => {
      logger.error({ err }, 'router: request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'router failed' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  return {
    async listen(port = 0, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return { url: `http://${shown}:${addr.port}`, port: addr.port };
    },
    async close() {
      const wasListening = server.listening;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      if (wasListening) await closed;
      await Promise.all([pools.stable.close(), pools.canary.close()]);
    },
    setWeight,
    switchTo,
    routing,
    applyDecision(d) {
      const { mode } = table.state();
      if (mode === 'canary') {
        setWeight(d.nextWeight);
      } else if (d.nextWeight === 100 || d.nextWeight === 0) {
        switchTo(d.nextWeight === 100 ? 'green' : 'blue');
      } else {
        // A blue-green preview: green takes its share of live traffic, the arms the promoter's
        // preview gates compare (blue vs green in request_events).
        preview(d.nextWeight);
      }
      lastDecision = {
        decisionId: d.decisionId,
        decision: d.decision,
        phase: d.phase,
        nextWeight: d.nextWeight,
        appliedAt: Date.now(),
      };
      return routing();
    },
  };
}
