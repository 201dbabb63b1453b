/**
 * The closed loop on one machine, every part real: two HTTP model servers (stable and canary),
 * the router splitting live traffic between them and tapping every request to Kafka, the
 * replayer replaying the stable arm's events against the canary as a shadow into ClickHouse,
 * the promoter deciding on that evidence and publishing to Kafka, and the router following its
 * decisions. A load generator plays the users.
 *
 * The canary's own live answers are replayed against the stable model too (reverse shadow), so
 * evidence keeps coming when the canary serves everything (blue-green after the switch).
 *
 * Module: `startLoop()` (the closed-loop test runs exactly this). CLI (`npm run loop`):
 *   npm run loop                      a good canary: shadow → 20 → 50 → 100 %
 *   npm run loop -- --canary bad      a canary that regresses once it takes live traffic: back to 0 %
 *   npm run loop -- --strategy blue-green [--canary bad]
 *                                     shadow → preview 20 % → switch to green → watch → done
 *                                     (or back to blue)
 *   npm run loop -- --rate 100        requests per second (default 150)
 * Uses KAFKA_BROKERS when set, else starts a broker (deploy/local/kafka.ts); ClickHouse is the
 * embedded engine in a temp dir unless UMBRA_DATA_DIR is set.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { createLogger, silentLogger, type Logger } from '@umbra/core';
import { decodeRequestEvent } from '@umbra/core/avro';
import { createClickHouse, migrate, type ClickHouse } from '@umbra/core/clickhouse';
import { createKafka, type KafkaBus } from '@umbra/core/kafka';
import { createPromoter, type Promoter, type RecordedDecision } from '@umbra/promoter';
import {
  createReplayerService,
  generateTraffic,
  parseExperimentConfig,
  prng,
  type ReplayerService,
} from '@umbra/replayer';
import {
  baselineReplay,
  closeCandidate,
  regressedCandidate,
  type DemoInput,
  type DemoOutput,
} from '../../services/replayer/src/demo/models.ts';
import {
  parseRouterConfig,
  startRouterService,
  type Routing,
  type RouterService,
} from '@umbra/router';
import { startKafka, type LocalKafka } from './kafka.ts';

export const LOOP_MODEL = 'credit-risk';
export const STABLE_VERSION = 'v1';
export const CANARY_VERSION = 'v2';
export const LOOP_CANDIDATE = 'credit-risk-v2';

type Model = (x: DemoInput) => Promise<DemoOutput>;

export interface ModelServer {
  url: string;
  /** Requests answered. */
  readonly served: number;
  /** Swaps the model behind the server (a bad deploy, a feature pipeline breaking). */
  swap(model: Model): void;
  close(): Promise<void>;
}

/** A model behind POST /predict: JSON DemoInput in, JSON DemoOutput out. */
export async function startModelServer(model: Model): Promise<ModelServer> {
  let current = model;
  let served = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let input: DemoInput;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DemoInput;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"body is not JSON"}');
        return;
      }
      current(input).then(
        (out) => {
          served++;
          const text = JSON.stringify(out);
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: String(err) }));
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get served() {
      return served;
    },
    swap(m) {
      current = m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface LoopTiming {
  /** Shadow phase and each canary step last at least this long. */
  stepMs: number;
  /** How often the promoter evaluates. */
  intervalMs: number;
}

export type LoopStrategy = 'canary' | 'blue-green';

/**
 * The rollout the loop runs. canary: shadow, then 20 → 50 → 100 % of live traffic. blue-green:
 * shadow, a preview (green takes 20 %, blue vs green live arms compared), then all traffic to
 * green in one switch, watched on the reverse-shadow pairs, then done.
 */
export function loopRollout(
  rollout: string,
  experiment: string,
  timing: LoopTiming,
  strategy: LoopStrategy = 'canary',
): Record<string, unknown> {
  const d = (ms: number) => `${ms}ms`;
  return {
    rollout,
    experiment,
    candidate: LOOP_CANDIDATE,
    baseline: `${LOOP_MODEL}@${STABLE_VERSION}`,
    strategy:
      strategy === 'canary'
        ? {
            canary: {
              shadow: { minDuration: d(timing.stepMs) },
              steps: [20, 50, 100],
              bakeTime: d(timing.stepMs),
            },
          }
        : {
            blueGreen: {
              shadow: { minDuration: d(timing.stepMs) },
              preview: { weight: 20, minDuration: d(timing.stepMs) },
              watch: { duration: d(timing.stepMs) },
            },
          },
    gates: [
      // Per region too: a regression confined to one region must not hide in the overall rate.
      {
        name: 'agreement',
        metric: 'agreement',
        op: '>=',
        threshold: 0.95,
        perSegment: { keys: ['region'] },
      },
      { name: 'replay-errors', metric: 'candidate_error_rate', op: '<=', threshold: 0.02 },
      { name: 'live-errors', metric: 'canary_error_rate_diff', op: '<=', threshold: 0.02 },
    ],
    evidence: { minPairs: 300, minPerSegment: 40, minRequestsPerArm: 60 },
    rollback: { afterFailures: 2 },
    alpha: 0.05,
    interval: d(timing.intervalMs),
  };
}

export interface LoopOptions {
  brokers: string[];
  ch: ClickHouse;
  /** 'bad': the canary passes shadow, then regresses (apac labels, slow tail) once it serves live traffic. */
  canary: 'good' | 'bad';
  /** canary (default): weight steps; blue-green: one switch to green, back to blue on failure. */
  strategy?: LoopStrategy;
  /** Requests per second from the load generator. */
  rate?: number;
  timing?: LoopTiming;
  /** Unique per run by default, so runs never read each other's topics or rollouts. */
  runId?: string;
  logger?: Logger;
  /** Called when the router's canary weight changes (it applies decisions from Kafka). */
  onRouting?: (routing: Routing, decision: RecordedDecision | null) => void;
  /** Called for every decision the promoter makes. */
  onDecision?: (decision: RecordedDecision) => void;
}

export interface Loop {
  runId: string;
  rollout: string;
  topics: { requests: string; deadLetters: string; decisions: string };
  router: RouterService;
  replayer: ReplayerService;
  promoter: Promoter;
  stable: ModelServer;
  canary: ModelServer;
  /** Load generator counters: responses by HTTP status, and failures to get any response. */
  load(): { sent: number; byStatus: Record<string, number>; failed: number };
  /** Resolves with the rollout's final phase (done, rolled-back, aborted). */
  finished: Promise<{ phase: string; decisions: RecordedDecision[] }>;
  stop(): Promise<void>;
}

const DEFAULT_TIMING: LoopTiming = { stepMs: 4000, intervalMs: 1500 };

function startLoad(
  url: string,
  rate: number,
  seed: number,
): { stop(): Promise<void>; stats: Loop['load'] } {
  const pool = new Pool(url, { connections: 32 });
  const rand = prng(seed);
  const traffic = generateTraffic({ count: Number.MAX_SAFE_INTEGER, seed });
  const byStatus: Record<string, number> = {};
  let sent = 0;
  let failed = 0;
  let running = true;
  const inFlight = new Set<Promise<void>>();
  const one = async (): Promise<void> => {
    const e = traffic.next().value as { input: string; attributes: Record<string, string> };
    sent++;
    try {
      const res = await pool.request({
        method: 'POST',
        path: '/predict',
        headers: {
          'content-type': 'application/json',
          'x-user-id': `user-${Math.floor(rand() * 2000)}`,
          'x-region': e.attributes.region ?? 'unknown',
          'x-client': e.attributes.client ?? 'unknown',
        },
        body: e.input,
      });
      await res.body.dump();
      byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
    } catch {
      failed++;
    }
  };
  const loop = (async () => {
    const started = performance.now();
    let n = 0;
    while (running) {
      // Open loop: requests go out on schedule whether or not earlier ones have answered.
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      for (; n < due && running; n++) {
        const p = one().finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
  })();
  return {
    stats: () => ({ sent, byStatus: { ...byStatus }, failed }),
    async stop() {
      running = false;
      await loop;
      await pool.close();
    },
  };
}

export async function startLoop(opts: LoopOptions): Promise<Loop> {
  const logger = opts.logger ?? silentLogger();
  const runId = opts.runId ?? randomUUID().slice(0, 8);
  const timing = opts.timing ?? DEFAULT_TIMING;
  const experiment = `loop-${runId}`;
  const strategy = opts.strategy ?? 'canary';
  const rollout = `${LOOP_CANDIDATE}-${strategy}-${runId}`;
  const topics = {
    requests: `umbra.loop.${runId}.requests`,
    deadLetters: `umbra.loop.${runId}.requests.dlq`,
    decisions: `umbra.loop.${runId}.decisions`,
  };
  const cleanup: (() => Promise<unknown>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const f of cleanup.reverse())
      await f().catch((err: unknown) => logger.warn({ err }, 'loop: stop step failed'));
    cleanup.length = 0;
  };
  try {
    const bus: KafkaBus = createKafka({
      brokers: opts.brokers,
      clientId: `umbra-loop-${runId}`,
      logger,
    });
    await migrate(opts.ch, { logger });
    await bus.ensureTopics([
      { topic: topics.requests, partitions: 3 },
      { topic: topics.deadLetters, partitions: 1 },
      { topic: topics.decisions, partitions: 1 },
    ]);

    const stable = await startModelServer(baselineReplay);
    cleanup.push(() => stable.close());
    const canary = await startModelServer(closeCandidate);
    cleanup.push(() => canary.close());

    const replayer = await createReplayerService({
      experiment: parseExperimentConfig(
        {
          experiment,
          source: { kafka: { topic: topics.requests, groupId: `umbra-replayer-${experiment}` } },
          baseline: {
            model: LOOP_MODEL,
            version: STABLE_VERSION,
            // The stable model replayed: A/A noise on its own events, and the pairs of the
            // events the canary served (reverse shadow).
            replay: {
              name: 'stable-replay',
              adapter: 'http',
              url: `${stable.url}/predict`,
              timeoutMs: 2000,
              concurrency: 32,
              model: { name: LOOP_MODEL, version: STABLE_VERSION },
            },
          },
          output: { task: 'classification', label: '$.label', score: '$.score' },
          candidates: [
            {
              name: LOOP_CANDIDATE,
              adapter: 'http',
              url: `${canary.url}/predict`,
              timeoutMs: 2000,
              concurrency: 32,
              model: { name: LOOP_MODEL, version: CANARY_VERSION },
            },
          ],
          segments: ['region', 'client'],
          store: { flushIntervalMs: 250 },
        },
        'loop experiment',
      ),
      baseDir: process.cwd(),
      ch: opts.ch,
      logger,
      kafka: {
        bus,
        topic: topics.requests,
        deadLetterTopic: topics.deadLetters,
        decode: (v, h) => decodeRequestEvent(v, h),
      },
    });
    cleanup.push(() => replayer.close());
    await replayer.startKafka();

    const decisions: RecordedDecision[] = [];
    let lastDecision: RecordedDecision | null = null;
    const router = await startRouterService({
      config: parseRouterConfig(
        {
          mode: strategy,
          weight: 0,
          listen: { port: 0 },
          stable: { url: stable.url, model: { name: LOOP_MODEL, version: STABLE_VERSION } },
          canary: { url: canary.url, model: { name: LOOP_MODEL, version: CANARY_VERSION } },
          stickyKey: { header: 'x-user-id' },
          attributeHeaders: { region: 'x-region', client: 'x-client' },
          follow: { rollout },
          tap: { lingerMs: 50 },
        },
        'loop router',
      ),
      adminToken: randomUUID(),
      logger,
      kafka: { bus, topics: { requests: topics.requests, decisions: topics.decisions } },
    });
    cleanup.push(() => router.close());

    const promoter = createPromoter({
      ch: opts.ch,
      logger,
      bus,
      decisionsTopic: topics.decisions,
      leadership: false,
      instanceId: `umbra-loop-${runId}`,
      tickMs: 250,
    });
    cleanup.push(() => promoter.close());

    let settle: (v: { phase: string; decisions: RecordedDecision[] }) => void = () => undefined;
    const finished = new Promise<{ phase: string; decisions: RecordedDecision[] }>(
      (resolve) => (settle = resolve),
    );
    promoter.on('decision', ({ decision, state }) => {
      decisions.push(decision);
      lastDecision = decision;
      opts.onDecision?.(decision);
      if (['done', 'rolled-back', 'aborted'].includes(state.phase))
        settle({ phase: state.phase, decisions: [...decisions] });
    });
    // The router applies decisions from Kafka, not from the promoter's event: report what it routes.
    let shownWeight = -1;
    const watch = setInterval(() => {
      const routing = router.router.routing();
      if (routing.weight !== shownWeight) {
        shownWeight = routing.weight;
        opts.onRouting?.(routing, lastDecision);
      }
      // The bad canary regresses once it serves real users: the failure the loop must catch.
      if (opts.canary === 'bad' && routing.weight > 0) canary.swap(regressedCandidate);
    }, 100);
    cleanup.push(async () => clearInterval(watch));

    const load = startLoad(router.url, opts.rate ?? 150, 11);
    cleanup.push(() => load.stop());

    await promoter.start(loopRollout(rollout, experiment, timing, strategy), { source: 'loop' });
    await promoter.run();
    return {
      runId,
      rollout,
      topics,
      router,
      replayer,
      promoter,
      stable,
      canary,
      load: load.stats,
      finished,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const canary = flag('--canary') ?? 'good';
  if (canary !== 'good' && canary !== 'bad')
    throw new Error(`--canary: good or bad, got ${canary}`);
  const strategy = flag('--strategy') ?? 'canary';
  if (strategy !== 'canary' && strategy !== 'blue-green')
    throw new Error(`--strategy: canary or blue-green, got ${strategy}`);
  const rate = Number(flag('--rate') ?? 150);
  if (!(rate > 0))
    throw new Error(`--rate: a positive number of requests per second, got ${flag('--rate')}`);
  const logger = createLogger({
    service: 'loop',
    level: process.env.UMBRA_LOG_LEVEL ?? 'warn',
    destination: process.stderr,
  });

  let kafka: LocalKafka | null = null;
  const brokers = process.env.KAFKA_BROKERS?.split(',') ?? [(kafka = await startKafka()).brokers];
  const dir = process.env.UMBRA_DATA_DIR ? null : await mkdtemp(path.join(tmpdir(), 'umbra-loop-'));
  const ch = await createClickHouse({
    dataDir: process.env.UMBRA_DATA_DIR ?? path.join(dir as string, 'db'),
    logger,
  });
  const t0 = Date.now();
  const at = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
  process.stdout.write(
    `umbra loop: broker ${brokers.join(',')}, ClickHouse ${ch.describe}, ${rate} req/s, ${strategy}, canary ${canary}\n`,
  );
  const loop = await startLoop({
    brokers,
    ch,
    canary,
    strategy,
    rate,
    logger,
    onDecision: (d) => {
      if (d.decision === 'continue') process.stdout.write(`${at()} promoter: ${d.summary}\n`);
    },
    onRouting: (routing, decision) =>
      process.stdout.write(
        `${at()} router: ` +
          (strategy === 'blue-green'
            ? `${routing.weight === 100 ? 'green' : 'blue'} serves`
            : `canary weight ${String(routing.weight).padStart(3)} %`) +
          (decision ? `  ← ${decision.decision} (${decision.summary})` : '') +
          '\n',
      ),
  });
  process.stdout.write(
    `${at()} router on ${loop.router.url}; rollout ${loop.rollout} started (shadow first)\n`,
  );
  const stop = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('interrupted'));
    process.once('SIGTERM', () => resolve('interrupted'));
  });
  const outcome = await Promise.race([loop.finished.then((f) => f.phase), stop]);
  await sleep(1000); // let the router apply the final decision before the summary
  const load = loop.load();
  process.stdout.write(
    `${at()} rollout ${outcome}; router weight ${loop.router.router.routing().weight} %; ` +
      `requests ${load.sent} (${JSON.stringify(load.byStatus)}, ${load.failed} without a response); ` +
      `tap ${JSON.stringify(loop.router.tap?.stats())}\n`,
  );
  await loop.stop();
  await ch.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await kafka?.stop();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `umbra loop: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
