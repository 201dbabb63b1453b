/**
 * What the reference router adds to a request, at a fixed request rate (open loop):
 *
 *   direct        the load generator calls the stable backend itself (the baseline)
 *   bare proxy    the least a Node reverse proxy does (the floor of any router written in Node)
 *   router        the same load through the router at weight 50, tap off
 *   router + tap  the same with the tap writing every request to a real Kafka broker (and to an
 *                 unreachable one: the buffer fills and drops, responses must not notice)
 *
 * Besides latency, each proxy reports its own CPU per request (warm-up included), which a shared
 * machine disturbs far less than it disturbs p99.
 *
 *   npx tsx test/bench/router.bench.ts [--rate 1000] [--seconds 10] [--no-tap] [--no-record]
 *                                      [--only <text>]   (only the cases whose name has <text>; not recorded)
 *                                      [--cpu-prof <dir>] (a V8 CPU profile of each proxy process into <dir>)
 *                                      [--tap-linger <ms>] [--tap-batch <n>] (tap options other than the defaults)
 *
 * The backends (two node:http servers answering JSON at once) and the router each run in a child
 * process of their own, so the load generator's event loop measures neither. Requests are sent
 * on a schedule, not when the previous one answers, and latency runs from the scheduled send
 * time, so a stall shows up in p99 instead of silently lowering the rate. Starts a broker with
 * deploy/local/kafka.ts for the tap case unless KAFKA_BROKERS is set. Prints a table and appends
 * it to test/bench/results/router.md. Times are wall-clock on a shared machine; nothing is asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startKafka } from '../../deploy/local/kafka.ts';
import { createKafka } from '@umbra/core/kafka';
import { createTap } from '@umbra/core/tap';
import { createRouter } from '@umbra/router';
import { closedPort, startBackend } from '../../services/router/src/test-backends.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results', 'router.md');
const SELF = fileURLToPath(import.meta.url);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---- child processes ----

async function serveBackends(): Promise<void> {
  const stable = await startBackend('stable');
  const canary = await startBackend('canary');
  console.log(`READY=${JSON.stringify({ stable: stable.url, canary: canary.url })}`);
  process.once('SIGTERM', () => {
    void Promise.all([stable.close(), canary.close()]).then(() => process.exit(0));
  });
}

/**
 * The floor: the least a Node reverse proxy does (node:http server, undici pool, body relayed
 * whole), no routing, tap, metrics or headers work. What the router costs above this is ours.
 */
async function serveBareProxy(config: { stable: string }): Promise<void> {
  const pool = new Pool(config.stable, { connections: 64 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pool
        .request({ method: 'POST', path: req.url ?? '/', body: Buffer.concat(chunks) })
        .then(async (up) => {
          const body = Buffer.from(await up.body.arrayBuffer());
          res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cpuAtReady = process.cpuUsage();
  console.log(`READY=${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}`);
  process.once('SIGTERM', () => {
    const cpu = process.cpuUsage(cpuAtReady);
    console.log(`CPU=${(cpu.user + cpu.system) / 1000}`);
    server.close();
    server.closeAllConnections();
    void pool.close().then(() => process.exit(0));
  });
}

async function serveRouter(config: {
  stable: string;
  canary: string;
  brokers?: string;
  topic?: string;
  tapLingerMs?: string;
  tapBatchSize?: string;
}): Promise<void> {
  const tap =
    config.brokers && config.topic
      ? createTap({
          bus: createKafka({ brokers: config.brokers.split(','), clientId: 'umbra-router-bench' }),
          topic: config.topic,
          ...(config.tapLingerMs ? { lingerMs: Number(config.tapLingerMs) } : {}),
          ...(config.tapBatchSize ? { batchSize: Number(config.tapBatchSize) } : {}),
        })
      : undefined;
  const router = createRouter({
    stable: config.stable,
    canary: config.canary,
    mode: 'canary',
    weight: 50,
    models: { stable: { name: 'bench', version: '1' }, canary: { name: 'bench', version: '2' } },
    attributeHeaders: { region: 'x-region' },
    adminToken: 'bench',
    ...(tap ? { tap } : {}),
  });
  const { url } = await router.listen(0, '127.0.0.1');
  console.log(`READY=${JSON.stringify({ url })}`);
  const cpuAtReady = process.cpuUsage();
  process.once('SIGTERM', () => {
    void (async () => {
      // CPU of the router process from ready to stop (warm-up included): robust to a noisy machine.
      const cpu = process.cpuUsage(cpuAtReady);
      console.log(`CPU=${(cpu.user + cpu.system) / 1000}`);
      await router.close();
      if (tap) {
        await tap.flush(30_000);
        console.log(`TAP=${JSON.stringify(tap.stats())}`);
        await tap.close();
      }
      process.exit(0);
    })();
  });
}

// ---- the load generator ----

interface Child {
  ready: Record<string, string>;
  lines: string[];
  stop(): Promise<void>;
}

async function spawnChild(args: string[], profileDir?: string): Promise<Child> {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, '--import', 'tsx', SELF, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const ready = await new Promise<Record<string, string>>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('READY=')) resolve(JSON.parse(line.slice(6)) as Record<string, string>);
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`bench child ${args.join(' ')} exited with ${code}`)),
    );
  });
  return {
    ready,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface Run {
  sent: number;
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Sends `rate` requests per second for `seconds`, on schedule, and measures each one. */
async function load(url: string, rate: number, seconds: number): Promise<Run> {
  const pool = new Pool(url, { connections: 256, pipelining: 1 });
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const total = Math.round(rate * seconds);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      pool
        .request({
          method: 'POST',
          path: '/predict',
          headers: { 'content-type': 'application/json', 'x-region': i % 2 === 0 ? 'eu' : 'us' },
          body: JSON.stringify({ amount: i, features: [0.1, 0.2, 0.3, 0.4] }),
        })
        .then(async (res) => {
          await res.body.dump();
          latencies.push(performance.now() - due);
          if (res.statusCode === 200) ok++;
          else failed++;
        })
        .catch(() => {
          failed++;
        }),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    sent: total,
    ok,
    failed,
    seconds: elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  const rate = Number(arg('--rate') ?? 1000);
  const seconds = Number(arg('--seconds') ?? 10);
  const withTap = !process.argv.includes('--no-tap');
  const only = arg('--only');
  // A partial run (while profiling one case) is not a result worth recording.
  const record = !process.argv.includes('--no-record') && only === undefined;
  const load1 = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

  const backends = await spawnChild(['--child', 'backends']);
  const kafka = withTap && !process.env.KAFKA_BROKERS ? await startKafka() : undefined;
  const brokers = process.env.KAFKA_BROKERS ?? kafka?.brokers;
  const topic = `umbra.bench.router.${Date.now().toString(36)}`;
  if (withTap && brokers) {
    await createKafka({
      brokers: brokers.split(','),
      clientId: 'umbra-router-bench-setup',
    }).ensureTopics([{ topic, partitions: 3 }]);
  }

  // Tap options other than the defaults, for trying batch sizes (a run with them says so).
  const tapTuning: Record<string, string> = {
    ...(arg('--tap-linger') ? { tapLingerMs: arg('--tap-linger')! } : {}),
    ...(arg('--tap-batch') ? { tapBatchSize: arg('--tap-batch')! } : {}),
  };
  const rows: Array<{ name: string; run: Run; note: string; cpuUsPerRequest: number | null }> = [];
  let tapStats = '';
  try {
    const cases: Array<{ name: string; child?: string; config?: Record<string, string> }> = [
      { name: 'direct (stable backend, 1st)' },
      {
        name: 'bare node:http + undici proxy (floor)',
        child: 'bare',
        config: { stable: backends.ready.stable! },
      },
      {
        name: 'router, tap off',
        config: { stable: backends.ready.stable!, canary: backends.ready.canary! },
      },
      ...(withTap && brokers
        ? [
            {
              name: 'router, tap on',
              config: {
                stable: backends.ready.stable!,
                canary: backends.ready.canary!,
                brokers,
                topic,
                ...tapTuning,
              },
            },
            {
              // Nothing listens there: the tap fills its buffer and drops; responses must not care.
              name: 'router, tap on, Kafka down',
              config: {
                stable: backends.ready.stable!,
                canary: backends.ready.canary!,
                brokers: `127.0.0.1:${await closedPort()}`,
                topic,
              },
            },
          ]
        : []),
      // Again at the end: the first run often meets a broker still warming up.
      { name: 'direct (stable backend, 2nd)' },
    ];
    for (const c of cases.filter((k) => !only || k.name.includes(only) || k.name.startsWith('direct'))) {
      const router = c.config
        ? await spawnChild(['--child', c.child ?? 'router', JSON.stringify(c.config)], arg('--cpu-prof'))
        : undefined;
      const url = router?.ready.url ?? backends.ready.stable!;
      // Warm-up: connections, JIT, the tap's first Kafka connection.
      await load(url, rate, Math.min(2, seconds));
      const run = await load(url, rate, seconds);
      await router?.stop();
      const tapLine = router?.lines.find((l) => l.startsWith('TAP='));
      if (tapLine) tapStats += `${tapStats ? '; ' : ''}${c.name}: ${tapLine.slice(4)}`;
      const cpuLine = router?.lines.find((l) => l.startsWith('CPU='));
      // Per request the router served (warm-up + measured run).
      const cpuUsPerRequest = cpuLine
        ? (Number(cpuLine.slice(4)) * 1000) / (run.sent + Math.round(rate * Math.min(2, seconds)))
        : null;
      rows.push({
        name: c.name,
        run,
        cpuUsPerRequest,
        note: tapLine ? `tap stats (warm-up included) ${tapLine.slice(4)}` : '',
      });
      console.log(`${c.name}: ${JSON.stringify(run)}`);
    }
  } finally {
    await backends.stop();
    await kafka?.stop();
  }

  // The baseline is the quieter of the two direct runs (lower p99).
  const directs = rows.filter((r) => r.name.startsWith('direct')).map((r) => r.run);
  const base = directs.reduce((a, b) => (b.p99 < a.p99 ? b : a));
  const fmt = (n: number, d = 2) => n.toFixed(d);
  const table = [
    '| case | requests | ok | failed | achieved req/s | throughput vs direct | p50 ms | p99 ms | max ms | added p50 ms | added p99 ms | router CPU µs/request |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ name, run, cpuUsPerRequest }) => {
      const rps = run.ok / run.seconds;
      const ratio = rps / (base.ok / base.seconds);
      const added = run === base ? ['—', '—'] : [fmt(run.p50 - base.p50), fmt(run.p99 - base.p99)];
      return `| ${name} | ${run.sent} | ${run.ok} | ${run.failed} | ${fmt(rps, 0)} | ${fmt(ratio * 100, 1)} % | ${fmt(run.p50)} | ${fmt(run.p99)} | ${fmt(run.max)} | ${added[0]} | ${added[1]} | ${cpuUsPerRequest === null ? '—' : fmt(cpuUsPerRequest, 0)} |`;
    }),
  ].join('\n');
  const goalLine = (): string[] => {
    const tapOn = rows.find((r) => r.name === 'router, tap on');
    if (!tapOn) return [];
    const added = tapOn.run.p99 - base.p99;
    return [
      `- goal: added p99 ≤ 2 ms at 2 000 req/s, tap on. This run (${rate} req/s): added p99 ${fmt(added)} ms: ${rate >= 2000 && added <= 2 ? 'met' : 'not met'}`,
    ];
  };
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const stamp = new Date().toISOString();
  const text = [
    `## ${stamp} — \`npx tsx test/bench/router.bench.ts --rate ${rate} --seconds ${seconds}${withTap ? '' : ' --no-tap'}${tapTuning.tapLingerMs ? ` --tap-linger ${tapTuning.tapLingerMs}` : ''}${tapTuning.tapBatchSize ? ` --tap-batch ${tapTuning.tapBatchSize}` : ''}\``,
    '',
    table,
    '',
    `- Node ${process.version}, ${cpu}, ${os.cpus().length} cores; load average at start ${load1}, at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}: the machine is shared, numbers are noisy`,
    `- open loop at ${rate} req/s for ${seconds} s after a warm-up; latency from each request's scheduled send time; backends, router and load generator in three processes on loopback`,
    ...(tapStats
      ? [
          `- tap: Avro RequestEvent v2 to a real broker (Apache Kafka on loopback, topic of 3 partitions), or to a closed port for "Kafka down"; stats at router close, warm-up included: ${tapStats}`,
        ]
      : []),
    ...goalLine(),
    '',
  ].join('\n');
  console.log(`\n${text}`);
  if (record) {
    if (!existsSync(RESULTS)) {
      writeFileSync(
        RESULTS,
        '# Router benchmark\n\nRecorded by `npx tsx test/bench/router.bench.ts` (see its header for the method): the latency and throughput the reference router adds over calling the backend directly, with the tap off and on. Newest runs at the bottom.\n\n',
      );
    }
    appendFileSync(RESULTS, `${text}\n`);
  }
}

const child = arg('--child');
if (child === 'backends') await serveBackends();
else if (child === 'bare')
  await serveBareProxy(JSON.parse(process.argv[process.argv.indexOf('bare') + 1]!) as { stable: string });
else if (child === 'router')
  await serveRouter(
    JSON.parse(process.argv[process.argv.indexOf('router') + 1]!) as {
      stable: string;
      canary: string;
      brokers?: string;
      topic?: string;
      tapLingerMs?: string;
      tapBatchSize?: string;
    },
  );
else await main();
