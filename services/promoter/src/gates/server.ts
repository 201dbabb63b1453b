/**
 * The gate API: umbra's rollout state as Flagger webhooks and as an Argo Rollouts web metric.
 *
 *   POST /flagger/<hook>            Flagger webhook payload { name, namespace, phase, checksum, metadata }
 *   GET  /argo/rollouts/<rollout>   Argo web metric: JSON verdict (?weight=W or ?phase=P)
 *   GET  /v1/verdict?rollout=R      the same verdict
 *   GET  /healthz                   no auth: 200 while the process serves
 *
 * Every route but /healthz needs a bearer token (`Authorization: Bearer <token>`). Flagger cannot
 * send headers with a webhook, so its hooks may carry the token as `metadata.token` instead.
 * No token or a wrong one: 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isUmbraError, UmbraError, type Logger, type Registry } from '@umbra/core';
import type { Phase } from '../domain/index.ts';
import { gateRequestsCounter } from '../metrics.ts';
import type { Promoter, RolloutStatus } from '../promoter.ts';
import { argoVerdict, FLAGGER_HOOKS, flaggerAnswer, type FlaggerHook } from './verdict.ts';

const PHASES: readonly Phase[] = [
  'shadow',
  'canary',
  'preview',
  'switched',
  'watch',
  'done',
  'rolled-back',
  'aborted',
];
const MAX_BODY = 64 * 1024;

/** What the gate API reads and writes through: a promoter (leader or standby). */
export type GateSource = Pick<Promoter, 'status' | 'grantOnce' | 'isLeader'>;

export interface GateServerOptions {
  source: GateSource;
  /** Accepted bearer tokens (more than one during a rotation); at least one, never empty. */
  tokens: readonly string[];
  logger: Logger;
  /** Counts requests by route and status (umbra_promoter_gate_requests_total). */
  registry?: Registry;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface GateServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Flagger's webhook payload (pkg/apis/flagger/v1beta1 CanaryWebhookPayload). */
export interface FlaggerPayload {
  name: string;
  namespace: string;
  phase?: string;
  checksum?: string;
  metadata?: Record<string, string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Flagger's rollout name: `metadata.rollout`, else `<namespace>/<name>`. */
export function flaggerRollout(p: FlaggerPayload): string {
  return p.metadata?.rollout?.trim() || `${p.namespace}/${p.name}`;
}

function parseFlaggerPayload(raw: unknown): FlaggerPayload {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new HttpError(400, 'the body must be a JSON object (Flagger webhook payload)');
  const p = raw as Record<string, unknown>;
  const str = (k: string): string | undefined =>
    typeof p[k] === 'string' ? (p[k] as string) : undefined;
  const name = str('name');
  const namespace = str('namespace');
  if (!name || !namespace)
    throw new HttpError(400, 'the payload needs name and namespace (strings)');
  const metadata: Record<string, string> = {};
  if (p.metadata !== undefined && p.metadata !== null) {
    if (typeof p.metadata !== 'object' || Array.isArray(p.metadata))
      throw new HttpError(400, 'metadata must be an object of strings');
    for (const [k, v] of Object.entries(p.metadata as Record<string, unknown>)) {
      if (typeof v !== 'string') throw new HttpError(400, `metadata.${k} must be a string`);
      metadata[k] = v;
    }
  }
  const out: FlaggerPayload = { name, namespace, metadata };
  const phase = str('phase');
  const checksum = str('checksum');
  if (phase !== undefined) out.phase = phase;
  if (checksum !== undefined) out.checksum = checksum;
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `the body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseQuery(url: URL): { weight?: number; phase?: Phase } {
  const out: { weight?: number; phase?: Phase } = {};
  const weight = url.searchParams.get('weight');
  const phase = url.searchParams.get('phase');
  if (weight !== null && phase !== null) throw new HttpError(400, 'give weight or phase, not both');
  if (weight !== null) {
    const w = Number(weight);
    if (weight.trim() === '' || !Number.isFinite(w) || w < 0 || w > 100)
      throw new HttpError(400, `weight must be a percent in 0..100, got ${JSON.stringify(weight)}`);
    out.weight = w;
  }
  if (phase !== null) {
    if (!(PHASES as readonly string[]).includes(phase))
      throw new HttpError(
        400,
        `phase must be one of ${PHASES.join(', ')}, got ${JSON.stringify(phase)}`,
      );
    out.phase = phase as Phase;
  }
  return out;
}

export async function createGateServer(opts: GateServerOptions): Promise<GateServer> {
  const tokens = opts.tokens.filter((t) => t.length > 0);
  if (tokens.length === 0) {
    throw new UmbraError(
      'CONFIG_INVALID',
      'the gate API needs at least one bearer token; it never serves without authentication',
      { context: { key: 'tokens' } },
    );
  }
  const accepted = tokens.map(digest);
  const log = opts.logger.child({ component: 'gate-api' });
  const requests = opts.registry ? gateRequestsCounter(opts.registry) : null;

  // Compared as digests of equal length, in constant time, against every accepted token.
  const authorized = (token: string | undefined): boolean => {
    if (!token) return false;
    const given = digest(token);
    let ok = false;
    for (const a of accepted) ok = timingSafeEqual(a, given) || ok;
    return ok;
  };
  const bearer = (req: IncomingMessage): string | undefined => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    return m?.[1];
  };

  const status = async (rollout: string): Promise<RolloutStatus> => {
    const s = await opts.source.status(rollout);
    if (!s) throw new HttpError(404, `no rollout named ${JSON.stringify(rollout)}`);
    return s;
  };

  const flagger = async (
    hook: FlaggerHook,
    payload: FlaggerPayload,
  ): Promise<{ status: number; body: unknown }> => {
    const rollout = flaggerRollout(payload);
    let s = await status(rollout);
    let answer = flaggerAnswer(hook, s);
    if (answer.needsGrant) {
      const g = await opts.source.grantOnce(rollout, `flagger/${hook}`);
      s = g.status;
      answer = flaggerAnswer(hook, s, !g.granted);
    }
    if (hook === 'event') {
      log.info(
        { rollout, flaggerPhase: payload.phase, eventType: payload.metadata?.eventType },
        `flagger event: ${payload.metadata?.eventMessage ?? ''}`,
      );
    } else {
      log.info(
        {
          rollout,
          hook,
          status: answer.status,
          verdict: answer.verdict,
          flaggerPhase: payload.phase,
        },
        answer.message,
      );
    }
    return {
      status: answer.status,
      body: {
        rollout,
        hook,
        verdict: answer.verdict,
        allowed: answer.status <= 202,
        phase: s.state.phase,
        step: s.state.step,
        weight: s.state.weight,
        message: answer.message,
      },
    };
  };

  const route = async (
    req: IncomingMessage,
    url: URL,
  ): Promise<{ name: string; status: number; body: unknown }> => {
    const path = url.pathname;
    if (path === '/healthz') {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET');
      return { name: 'healthz', status: 200, body: { ok: true, leader: opts.source.isLeader() } };
    }
    if (path.startsWith('/flagger/')) {
      const hook = path.slice('/flagger/'.length);
      if (!(FLAGGER_HOOKS as readonly string[]).includes(hook))
        throw new HttpError(
          404,
          `no Flagger hook ${JSON.stringify(hook)}; hooks: ${FLAGGER_HOOKS.join(', ')}`,
        );
      if (req.method !== 'POST') throw new HttpError(405, 'Flagger hooks take POST');
      const text = await readBody(req);
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        // Authentication first: an unauthenticated caller learns nothing about the payload.
        if (!authorized(bearer(req))) throw new HttpError(401, 'a bearer token is required');
        throw new HttpError(400, 'the body is not JSON');
      }
      const token =
        bearer(req) ?? (raw as { metadata?: { token?: unknown } } | null)?.metadata?.token;
      if (!authorized(typeof token === 'string' ? token : undefined))
        throw new HttpError(
          401,
          'a bearer token is required (Authorization header or metadata.token)',
        );
      const payload = parseFlaggerPayload(raw);
      delete payload.metadata?.token;
      const out = await flagger(hook as FlaggerHook, payload);
      return { name: `flagger/${hook}`, ...out };
    }
    if (path.startsWith('/argo/rollouts/') || path === '/v1/verdict') {
      if (!authorized(bearer(req))) throw new HttpError(401, 'a bearer token is required');
      if (req.method !== 'GET') throw new HttpError(405, 'use GET');
      let rollout: string;
      try {
        rollout =
          path === '/v1/verdict'
            ? (url.searchParams.get('rollout') ?? '')
            : decodeURIComponent(path.slice('/argo/rollouts/'.length));
      } catch {
        throw new HttpError(400, 'the rollout name is not valid percent-encoding');
      }
      if (!rollout)
        throw new HttpError(
          400,
          'name the rollout: /argo/rollouts/<rollout> or /v1/verdict?rollout=<rollout>',
        );
      const q = parseQuery(url);
      const s = await status(rollout);
      // Always 200 with the verdict in the body: Argo reads a non-2xx answer as a measurement error.
      return {
        name: path === '/v1/verdict' ? 'v1/verdict' : 'argo',
        status: 200,
        body: argoVerdict(s, q),
      };
    }
    throw new HttpError(
      404,
      'not found: POST /flagger/<hook>, GET /argo/rollouts/<rollout>, GET /v1/verdict?rollout=, GET /healthz',
    );
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://gate.invalid');
    const send = (
      name: string,
      code: number,
      body: unknown,
      extra: Record<string, string> = {},
    ): void => {
      requests?.inc({ route: name, status: String(code) });
      res.writeHead(code, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        ...extra,
      });
      res.end(`${JSON.stringify(body)}\n`);
    };
    route(req, url).then(
      (r) => send(r.name, r.status, r.body),
      (err: unknown) => {
        const name = url.pathname.startsWith('/flagger/')
          ? 'flagger'
          : url.pathname.startsWith('/argo/')
            ? 'argo'
            : 'other';
        if (err instanceof HttpError) {
          send(
            name,
            err.status,
            { error: err.message },
            err.status === 401 ? { 'www-authenticate': 'Bearer realm="umbra"' } : {},
          );
          return;
        }
        // The store is down or similar: 503, which Flagger and Argo read as a failed check.
        const code =
          isUmbraError(err) && (err.retriable || err.code === 'STORE_UNAVAILABLE') ? 503 : 500;
        log.error({ err, path: url.pathname }, 'gate request failed');
        send(name, code, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  log.info({ url: `http://${host}:${port}` }, 'gate API listening');
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
