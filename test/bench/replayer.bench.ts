/**
 * Replayer throughput on a real Kafka broker, next to a plain consumer on the same topic in the
 * same run:
 *
 *   raw           the core kafkajs adapter in a new group: consume every event and decode it
 *   loop          the same consumer doing by hand the work the replayer cannot avoid: call the two
 *                 candidate functions, compare each output with the baseline's, build the pairs
 *   in-process    createReplayerService with two `module` candidates that answer at once, storing
 *                 to embedded chDB (the goal: >= 80 % of raw); the same with a no-op writer shows
 *                 how much of the gap is chDB's insert and how much the pipeline
 *   http          one `http` candidate on a model server in its own process answering after a
 *                 fixed 20 ms, concurrency 64 (the goal: >= 90 % of 64 / 20 ms = 3 200 events/s);
 *                 next to it, in the same run, raw undici keeping 64 requests in flight to the same
 *                 server (what this machine allows at that moment) and the replayer with a no-op writer
 *
 *   npx tsx test/bench/replayer.bench.ts [--events 50000] [--http-events 40000]
 *       [--only raw,loop,chdb,noop,http-raw,http,http-noop] [--store '{"batchPairs":4000}'] [--chunk 1000] [--no-record]
 *
 * --store and --chunk override the experiment's `store` section and the runner's chunk size, to
 * try settings; the recorded runs use the defaults.
 *
 * Starts a broker with deploy/local/kafka.ts unless KAFKA_BROKERS is set. A case's time runs from
 * the first message its consumer decodes to the commit that covers the topic's last offset (for
 * the replayer that commit comes after every pair is stored); the group join before the first
 * message is printed apart. Prints a table and appends it to test/bench/results/replayer.md.
 * Times are wall-clock on a shared machine; nothing is asserted.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startKafka } from '../../deploy/local/kafka.ts';
import { silentLogger, type RequestEvent } from '@umbra/core';
import { decodeRequestEvent, encodeRequestEvent } from '@umbra/core/avro';
import { createComparator, parseOutput } from '@umbra/core/domain';
import { createClickHouse, migrate, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { createKafka, type BusConsumer, type KafkaBus, type OutMessage } from '@umbra/core/kafka';
import {
  createReplayerService,
  generateTraffic,
  parseExperimentConfig,
  type PairWriter,
} from '@umbra/replayer';
import { Pool } from 'undici';
import { spawnModelServer } from '../support/model-server.ts';
import { fixedCandidate } from './replayer-models.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results', 'replayer.md');
const MODELS = join(HERE, 'replayer-models.ts');
const PARTITIONS = 3;
const HTTP_LATENCY_MS = 20;
const HTTP_CONCURRENCY = 64;
const CASE_DEADLINE_MS = 15 * 60_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const EVENTS = Number(arg('--events') ?? 50_000);
const HTTP_EVENTS = Number(arg('--http-events') ?? 40_000);
const ONLY = new Set((arg('--only') ?? 'raw,loop,chdb,noop,http-raw,http,http-noop').split(','));
const STORE = JSON.parse(arg('--store') ?? '{}') as Record<string, unknown>;
const CHUNK = arg('--chunk') ? Number(arg('--chunk')) : undefined;
const RECORD = !process.argv.includes('--no-record');

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

interface CaseResult {
  name: string;
  events: number;
  /** First decoded message to the commit of the last offset. */
  seconds: number;
  /** From starting the consumer to its first decoded message (group join and first fetch). */
  joinSeconds: number;
  /** CPU time of this process (all its threads, chDB's included) over the same span. */
  cpuSeconds: number;
  eventLoopP99Ms: number;
  notes: string[];
}

/**
 * Watches one consumer through the bus it is given: when it joins, when it decodes its first
 * message, and when its commits cover every partition's end offset.
 */
function probe(bus: KafkaBus, topic: string, ends: ReadonlyMap<number, bigint>) {
  const committed = new Map<number, bigint>();
  const state = { startedAt: 0, firstAt: 0, doneAt: 0, cpuAtFirst: process.cpuUsage(), cpu: 0 };
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const deadline = setTimeout(
    () => fail(new Error(`no final commit on ${topic} within ${CASE_DEADLINE_MS} ms`)),
    CASE_DEADLINE_MS,
  );
  const watched: KafkaBus = {
    ...bus,
    consumer(opts) {
      const c: BusConsumer = bus.consumer(opts);
      c.on('CRASH', ({ error, restart }) => {
        if (!restart) fail(error);
        else console.warn(`consumer crashed, restarting: ${error.message}`);
      });
      c.on('COMMIT_OFFSETS', ({ offsets }) => {
        // kafkajs hands the partition over as a string here, whatever the type says.
        for (const o of offsets)
          if (o.topic === topic) committed.set(Number(o.partition), BigInt(o.offset));
        if (state.doneAt === 0 && [...ends].every(([p, end]) => (committed.get(p) ?? -1n) >= end)) {
          state.doneAt = performance.now();
          state.cpu = cpuSeconds(process.cpuUsage(state.cpuAtFirst));
          clearTimeout(deadline);
          finish();
        }
      });
      return c;
    },
  };
  const decode = (
    value: Buffer | null,
    headers: Record<string, Buffer | undefined>,
  ): Promise<RequestEvent> => {
    if (state.firstAt === 0) {
      state.firstAt = performance.now();
      state.cpuAtFirst = process.cpuUsage();
    }
    return decodeRequestEvent(value, headers);
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  return {
    bus: watched,
    decode,
    start() {
      state.startedAt = performance.now();
      loop.enable();
    },
    async finished(): Promise<
      Pick<CaseResult, 'seconds' | 'joinSeconds' | 'cpuSeconds' | 'eventLoopP99Ms'>
    > {
      await done;
      loop.disable();
      return {
        seconds: (state.doneAt - state.firstAt) / 1000,
        joinSeconds: (state.firstAt - state.startedAt) / 1000,
        cpuSeconds: state.cpu,
        eventLoopP99Ms: loop.percentile(99) / 1e6,
      };
    },
  };
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

async function produce(
  bus: KafkaBus,
  topic: string,
  count: number,
  seed: number,
): Promise<Map<number, bigint>> {
  await bus.ensureTopics([
    { topic, partitions: PARTITIONS },
    { topic: `${topic}.dlq`, partitions: 1 },
  ]);
  const producer = bus.producer();
  await producer.connect();
  const started = performance.now();
  let batch: OutMessage[] = [];
  for (const event of generateTraffic({ count, seed })) {
    const { value, headers } = encodeRequestEvent(event, { format: 'raw', version: 2 });
    batch.push({ key: event.eventId, value, headers });
    if (batch.length === 2_000) {
      await producer.send(topic, batch);
      batch = [];
    }
  }
  if (batch.length) await producer.send(topic, batch);
  await producer.disconnect();
  const seconds = (performance.now() - started) / 1000;
  const admin = bus.admin();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0);
  if (total !== count) throw new Error(`${topic} holds ${total} events, expected ${count}`);
  console.log(
    `produced ${fmt(count)} events to ${topic} (${PARTITIONS} partitions: ${offsets.map((o) => o.high).join(', ')}) in ${seconds.toFixed(2)} s`,
  );
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}

/** The baseline: the core adapter's consumer decoding every event, as the replayer's runner reads them. */
async function rawConsume(
  bus: KafkaBus,
  topic: string,
  ends: Map<number, bigint>,
  name: string,
  work?: (events: RequestEvent[]) => void,
): Promise<CaseResult> {
  const p = probe(bus, topic, ends);
  // Same fetch size and partition concurrency as the replayer's runner.
  const consumer = p.bus.consumer({
    groupId: unique('bench-raw'),
    topics: [topic],
    fromBeginning: true,
    maxBytesPerPartition: 2 * 1024 * 1024,
  });
  let decoded = 0;
  p.start();
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async (batch, ctl) => {
      const messages = batch.messages;
      for (let i = 0; i < messages.length; i += 1_000) {
        const chunk = messages.slice(i, i + 1_000);
        const events = await Promise.all(chunk.map((m) => p.decode(m.value, m.headers)));
        work?.(events);
        decoded += chunk.length;
        await ctl.heartbeat();
      }
      if (messages.length) {
        ctl.resolveOffset(messages[messages.length - 1]!.offset);
        await ctl.commitOffsetsIfNecessary();
      }
    },
  });
  const timing = await p.finished();
  await consumer.disconnect();
  if (decoded < EVENTS) throw new Error(`raw consumer decoded ${decoded} of ${EVENTS}`);
  return { name, events: EVENTS, ...timing, notes: [] };
}

/**
 * What replaying an event against two in-process candidates needs at the least, written inline:
 * parse the input, call each function, encode its output, compare it with the baseline output
 * (the same comparator the replayer uses) and build the pair record.
 */
function handReplay(): { work: (events: RequestEvent[]) => void; pairs: () => number } {
  const { output } = parseExperimentConfig({
    experiment: 'loop',
    baseline: { model: 'credit-risk' },
    output: { task: 'classification', label: '$.label', score: '$.score' },
    candidates: [{ name: 'x', adapter: 'module', path: MODELS }],
  });
  const comparator = createComparator(output);
  const kept: unknown[] = [];
  let pairs = 0;
  return {
    pairs: () => pairs,
    work(events) {
      kept.length = 0;
      for (const event of events) {
        const baseline = parseOutput(event.output);
        JSON.parse(event.input); // the module adapter hands candidates the parsed input
        for (const candidate of ['fixed-a', 'fixed-b']) {
          const started = performance.now();
          const candidateOutput = JSON.stringify(fixedCandidate());
          const candidateLatencyMs = performance.now() - started;
          kept.push({
            experiment: 'loop',
            candidate,
            eventId: event.eventId,
            eventTime: event.eventTime,
            attributes: event.attributes,
            baselineOutput: event.output,
            candidateOutput,
            candidateLatencyMs,
            ...comparator.compareParsed(baseline, parseOutput(candidateOutput)),
            replayedAt: Date.now(),
          });
          pairs++;
        }
      }
    },
  };
}

interface ReplayerCase {
  name: string;
  bus: KafkaBus;
  topic: string;
  ends: Map<number, bigint>;
  events: number;
  ch: ClickHouse;
  candidates: unknown[];
  writer?: PairWriter;
}

async function replayerRun(c: ReplayerCase): Promise<CaseResult> {
  const experiment = unique('bench').replace(/[^A-Za-z0-9._-]/g, '');
  const groupId = `umbra-replayer.${experiment}`;
  const p = probe(c.bus, c.topic, c.ends);
  const service = await createReplayerService({
    experiment: parseExperimentConfig({
      experiment,
      source: { kafka: { groupId, fromBeginning: true } },
      baseline: { model: 'credit-risk' },
      output: { task: 'classification', label: '$.label', score: '$.score' },
      candidates: c.candidates,
      ...(Object.keys(STORE).length ? { store: STORE } : {}),
    }),
    baseDir: HERE,
    ch: c.ch,
    logger: silentLogger(),
    ...(c.writer ? { writer: c.writer } : {}),
    kafka: {
      bus: p.bus,
      topic: c.topic,
      deadLetterTopic: `${c.topic}.dlq`,
      decode: p.decode,
      ...(CHUNK ? { chunkSize: CHUNK } : {}),
    },
  });
  let pairs = 0;
  let storeMs = 0;
  const writes: number[] = [];
  service.replayer.sink.on('flush', (f) => {
    pairs += f.pairs;
    storeMs += f.durationMs;
    writes.push(f.pairs);
  });
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  service.replayer.on('outcome', (o) => {
    latencies.push(o.latencyMs);
    statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
  });

  p.start();
  await service.startKafka();
  const timing = await p.finished();
  await service.close();

  const admin = c.bus.admin();
  const lag = await admin.fetchGroupLag(groupId, c.topic);
  await admin.disconnect();
  if (!lag.every((l) => l.lag === '0'))
    throw new Error(`${c.name}: group lag after the run ${JSON.stringify(lag)}`);
  const expected = c.events * c.candidates.length;
  if (pairs !== expected)
    throw new Error(`${c.name}: ${pairs} pairs written, expected ${expected}`);
  if (!c.writer) {
    const rows = await queryRows<{ n: number }>(
      c.ch,
      'SELECT count() AS n FROM shadow_pairs WHERE experiment = {e:String}',
      { e: experiment },
    );
    if (Number(rows[0]!.n) !== expected)
      throw new Error(
        `${c.name}: ${Number(rows[0]!.n)} pairs in shadow_pairs, expected ${expected}`,
      );
  }

  latencies.sort((a, b) => a - b);
  const q = (f: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0;
  const sum = latencies.reduce((s, v) => s + v, 0);
  const notes = [
    `${writes.length} store writes of ${fmt(Math.min(...writes))}–${fmt(Math.max(...writes))} pairs (median ${fmt(writes.sort((a, b) => a - b)[writes.length >> 1] ?? 0)}), ` +
      `${(storeMs / 1000).toFixed(2)} s inside the writer` +
      (c.writer ? '' : ` (${fmt(pairs / Math.max(storeMs / 1000, 1e-9))} pairs/s while writing)`),
    `candidate latency mean ${(sum / latencies.length).toFixed(2)} ms, p50 ${q(0.5).toFixed(2)}, p99 ${q(0.99).toFixed(2)}; ` +
      `mean calls in flight ${(sum / 1000 / timing.seconds).toFixed(1)}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  ];
  return { name: c.name, events: c.events, ...timing, notes };
}

/**
 * The HTTP baseline: undici keeping HTTP_CONCURRENCY requests in flight to the same model server,
 * with the same bodies, no Kafka and no replayer: what the machine allows at that moment.
 */
async function rawHttp(
  url: string,
  inputs: string[],
  total: number,
  label: string,
): Promise<CaseResult> {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections: HTTP_CONCURRENCY, pipelining: 1 });
  const headers = { 'content-type': 'application/json' };
  const latencies: number[] = [];
  let next = 0;
  const call = async (i: number): Promise<void> => {
    const started = performance.now();
    const res = await pool.request({
      path: pathname,
      method: 'POST',
      headers,
      body: inputs[i % inputs.length]!,
    });
    JSON.parse(await res.body.text());
    latencies.push(performance.now() - started);
  };
  const loops = async (count: number): Promise<void> => {
    next = 0;
    await Promise.all(
      Array.from({ length: HTTP_CONCURRENCY }, async () => {
        while (next < count) await call(next++);
      }),
    );
  };
  await loops(HTTP_CONCURRENCY * 8); // warm up: sockets, JIT
  latencies.length = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await loops(total);
  const seconds = (performance.now() - started) / 1000;
  const cpuUsed = cpuSeconds(process.cpuUsage(cpu));
  loop.disable();
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (f: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0;
  const sum = latencies.reduce((a, b) => a + b, 0);
  return {
    name: `raw undici, ${HTTP_CONCURRENCY} requests in flight to the same ${HTTP_LATENCY_MS} ms server (${label})`,
    events: total,
    seconds,
    joinSeconds: 0,
    cpuSeconds: cpuUsed,
    eventLoopP99Ms: loop.percentile(99) / 1e6,
    notes: [
      `latency mean ${(sum / latencies.length).toFixed(2)} ms, p50 ${q(0.5).toFixed(2)}, p99 ${q(0.99).toFixed(2)}; mean requests in flight ${(sum / 1000 / seconds).toFixed(1)}`,
    ],
  };
}

interface Row {
  result: CaseResult;
  ratio: number | null;
  ratioOf: string;
  goal: string;
  met: string;
}

function table(rows: Row[]): string {
  const lines = [
    '| case | events | seconds | events/s | ratio | goal | met? |',
    '|---|---:|---:|---:|---:|---|---|',
    ...rows.map(
      ({ result: r, ratio, ratioOf, goal, met }) =>
        `| ${r.name} | ${fmt(r.events)} | ${r.seconds.toFixed(2)} | ${fmt(r.events / r.seconds)} | ${ratio === null ? '—' : `${(ratio * 100).toFixed(1)} % ${ratioOf}`} | ${goal} | ${met} |`,
    ),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const fromEnv = process.env.KAFKA_BROKERS;
  const broker = fromEnv ? null : await startKafka();
  const brokers = (fromEnv ?? broker!.brokers).split(',');
  const tmp = mkdtempSync(join(os.tmpdir(), 'umbra-bench-replayer-'));
  let ch: ClickHouse | null = null;
  let server: Awaited<ReturnType<typeof spawnModelServer>> | null = null;
  const rows: Row[] = [];
  const results: CaseResult[] = [];
  try {
    console.log(
      `broker ${brokers.join(',')}${broker ? ` (Kafka ${broker.version}, started by the bench, pid ${broker.pid})` : ' (KAFKA_BROKERS)'}`,
    );
    const bus = createKafka({ brokers, clientId: 'umbra-bench-replayer' });
    const topic = unique('bench-requests');
    const topicEnds = await produce(bus, topic, EVENTS, 1);
    ch = await createClickHouse({ dataDir: join(tmp, 'db') });
    await migrate(ch);
    console.log(`store: ${ch.describe}`);

    const run = async (r: Promise<CaseResult>): Promise<CaseResult> => {
      const result = await r;
      results.push(result);
      console.log(
        `${result.name}: ${fmt(result.events)} events in ${result.seconds.toFixed(2)} s = ${fmt(result.events / result.seconds)} events/s ` +
          `(join ${result.joinSeconds.toFixed(2)} s, CPU ${result.cpuSeconds.toFixed(2)} s, event loop p99 ${result.eventLoopP99Ms.toFixed(1)} ms; load ${loadavg()})`,
      );
      for (const n of result.notes) console.log(`  ${n}`);
      return result;
    };

    const inProcess = [
      { name: 'fixed-a', adapter: 'module', path: MODELS, export: 'fixedCandidate' },
      { name: 'fixed-b', adapter: 'module', path: MODELS, export: 'fixedCandidate' },
    ];
    const raws: CaseResult[] = [];
    let chdb: CaseResult | null = null;
    let noop: CaseResult | null = null;
    if (ONLY.has('raw'))
      raws.push(await run(rawConsume(bus, topic, topicEnds, 'raw consume + decode (1st)')));
    let loop: CaseResult | null = null;
    if (ONLY.has('loop')) {
      const hand = handReplay();
      loop = await run(
        rawConsume(
          bus,
          topic,
          topicEnds,
          'hand-written loop: consume + decode + 2 calls, compare, pair',
          hand.work,
        ),
      );
      if (hand.pairs() < 2 * EVENTS) throw new Error(`hand loop made ${hand.pairs()} pairs`);
    }
    if (ONLY.has('chdb')) {
      chdb = await run(
        replayerRun({
          name: 'replayer, 2 in-process candidates, chDB store',
          bus,
          topic,
          ends: topicEnds,
          events: EVENTS,
          ch,
          candidates: inProcess,
        }),
      );
    }
    if (ONLY.has('noop')) {
      noop = await run(
        replayerRun({
          name: 'replayer, 2 in-process candidates, no-op writer',
          bus,
          topic,
          ends: topicEnds,
          events: EVENTS,
          ch,
          candidates: inProcess,
          writer: { async write() {} },
        }),
      );
    }
    if (ONLY.has('raw'))
      raws.push(await run(rawConsume(bus, topic, topicEnds, 'raw consume + decode (2nd)')));

    // The ratio is against the faster raw run: the conservative reading on a noisy machine.
    const raw = raws.length
      ? raws.reduce((a, b) => (b.events / b.seconds > a.events / a.seconds ? b : a))
      : null;
    const rawRate = raw ? raw.events / raw.seconds : null;
    for (const r of raws)
      rows.push({
        result: r,
        ratio: r === raw ? 1 : null,
        ratioOf: r === raw ? '(baseline)' : '',
        goal: '—',
        met: '—',
      });
    if (loop) {
      const ratio = rawRate ? loop.events / loop.seconds / rawRate : null;
      rows.push({
        result: loop,
        ratio,
        ratioOf: 'of raw',
        goal: '(least work of a replay)',
        met: '—',
      });
    }
    const loopRate = loop ? loop.events / loop.seconds : null;
    const vsLoop = (r: CaseResult) =>
      loopRate ? `; ${((100 * r.events) / r.seconds / loopRate).toFixed(1)} % of the loop` : '';
    if (chdb) {
      const ratio = rawRate ? chdb.events / chdb.seconds / rawRate : null;
      rows.push({
        result: chdb,
        ratio,
        ratioOf: `of raw${vsLoop(chdb)}`,
        goal: '≥ 80 % of raw',
        met: ratio === null ? '?' : ratio >= 0.8 ? 'yes' : 'no',
      });
    }
    if (noop) {
      const ratio = rawRate ? noop.events / noop.seconds / rawRate : null;
      rows.push({
        result: noop,
        ratio,
        ratioOf: `of raw${vsLoop(noop)}`,
        goal: '(diagnostic)',
        met: '—',
      });
    }

    const httpCases = ['http-raw', 'http', 'http-noop'].filter((c) => ONLY.has(c));
    if (httpCases.length) {
      const ideal = (HTTP_CONCURRENCY * 1000) / HTTP_LATENCY_MS;
      const idealOf = `of ${fmt(ideal)}/s`;
      server = await spawnModelServer({
        failRate: 0,
        stallRate: 0,
        stallMs: 0,
        latencyMs: HTTP_LATENCY_MS,
      });
      const inputs = [...generateTraffic({ count: 10_000, seed: 2 })].map((e) => e.input);
      const rawHttpRuns: CaseResult[] = [];
      const rawHttpRun = async (label: string) => {
        if (ONLY.has('http-raw'))
          rawHttpRuns.push(
            await run(rawHttp(server!.url, inputs, Math.round(HTTP_EVENTS / 2), label)),
          );
      };
      await rawHttpRun('1st');
      const replayed: { result: CaseResult; noopWriter: boolean }[] = [];
      const replayerCases = httpCases.filter((c) => c !== 'http-raw');
      if (replayerCases.length) {
        const httpTopic = unique('bench-requests-http');
        const httpEnds = await produce(bus, httpTopic, HTTP_EVENTS, 2);
        const candidates = [
          {
            name: 'http-fixed',
            adapter: 'http',
            url: server.url,
            outputPath: '$.prediction',
            concurrency: HTTP_CONCURRENCY,
            pool: { connections: HTTP_CONCURRENCY },
          },
        ];
        for (const which of replayerCases) {
          const noopWriter = which === 'http-noop';
          const result = await run(
            replayerRun({
              name: `replayer, http candidate ${HTTP_LATENCY_MS} ms × concurrency ${HTTP_CONCURRENCY}, ${noopWriter ? 'no-op writer' : 'chDB store'}`,
              bus,
              topic: httpTopic,
              ends: httpEnds,
              events: HTTP_EVENTS,
              ch,
              candidates,
              ...(noopWriter ? { writer: { async write() {} } } : {}),
            }),
          );
          replayed.push({ result, noopWriter });
        }
      }
      await rawHttpRun('2nd');

      const rate = (r: CaseResult) => r.events / r.seconds;
      const rawHttpRate = rawHttpRuns.length ? Math.max(...rawHttpRuns.map(rate)) : null;
      for (const r of rawHttpRuns)
        rows.push({
          result: r,
          ratio: rate(r) / ideal,
          ratioOf: idealOf,
          goal: '(this machine now)',
          met: '—',
        });
      for (const { result, noopWriter } of replayed) {
        const ratio = rate(result) / ideal;
        rows.push({
          result,
          ratio,
          ratioOf: `${idealOf}${rawHttpRate ? `; ${((100 * rate(result)) / rawHttpRate).toFixed(1)} % of raw undici` : ''}`,
          goal: noopWriter ? '(diagnostic)' : '≥ 90 % of concurrency / latency',
          met: noopWriter ? '—' : ratio >= 0.9 ? 'yes' : 'no',
        });
      }
    }

    const loadAtEnd = loadavg();
    const cpu = os.cpus();
    const header = [
      `- ${startedAt.toISOString()}, Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores`,
      `- load average (1/5/15 min) at start ${loadAtStart}, at end ${loadAtEnd}: the machine is shared, numbers are noisy`,
      `- broker: Apache Kafka ${broker ? `${broker.version} on loopback, started by the bench` : `at KAFKA_BROKERS=${fromEnv}`}; topic of ${PARTITIONS} partitions, Avro RequestEvent v2 raw + header; store: ${ch.describe}`,
    ];
    const notes = results.map(
      (r) =>
        `- ${r.name}: join + first fetch ${r.joinSeconds.toFixed(2)} s (not counted), CPU ${r.cpuSeconds.toFixed(2)} s over ${r.seconds.toFixed(2)} s ` +
        `(${((100 * r.cpuSeconds) / r.seconds).toFixed(0)} % of one core), event loop p99 ${r.eventLoopP99Ms.toFixed(1)} ms` +
        r.notes.map((n) => `; ${n}`).join(''),
    );
    const text = table(rows);
    console.log(`\n${text}\n\n${header.join('\n')}\n${notes.join('\n')}`);

    if (!RECORD) return;
    if (!existsSync(RESULTS)) {
      writeFileSync(
        RESULTS,
        [
          '# Replayer benchmark',
          '',
          'Recorded by `npx tsx test/bench/replayer.bench.ts` (see its header for the method). A case runs from the first message',
          'its consumer decodes to the commit covering the last offset of the topic; for the replayer that commit follows the',
          'store of every pair. "raw" is the core Kafka adapter decoding every event in a new group on the same topic and',
          'broker; the ratio is against the faster of the two raw runs. "hand-written loop" is that consumer also doing the',
          'least work of a replay inline (two candidate calls, two comparisons, two pair records). For the http candidate the',
          'ideal is concurrency / latency = 64 / 20 ms; "raw undici" keeps 64 requests in flight to the same model server',
          'with the same bodies, before and after the replayer runs: what the machine allowed then. Newest runs at the bottom.',
          '',
        ].join('\n'),
      );
    }
    appendFileSync(
      RESULTS,
      `\n## ${startedAt.toISOString()} — \`${['npx tsx test/bench/replayer.bench.ts', ...process.argv.slice(2)].join(' ')}\`\n\n${text}\n\n${header.join('\n')}\n${notes.join('\n')}\n`,
    );
    console.log(`\nappended to ${RESULTS}`);
  } finally {
    await server?.close();
    await ch?.close();
    await broker?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
