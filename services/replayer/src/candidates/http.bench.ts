/**
 * Throughput of the http candidate against a local 0 ms server, next to raw undici on the
 * same server in the same run. The server runs in a child process so it does not share the
 * client's event loop; client CPU per invoke is printed too, because on small machines the
 * server's share of the CPU makes invokes/s noisy.
 *
 *   npx tsx services/replayer/src/candidates/http.bench.ts [requests=20000] [concurrency=64] [rounds=5]
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { createCandidateClient } from './factory.ts';
import { makeEvent } from './fixtures/servers.ts';

const BODY = JSON.stringify({ label: 'ok', score: 0.42 });

function serve(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
      res.end(BODY);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  process.on('disconnect', () => server.close());
}

interface Sample {
  rps: number;
  cpuUs: number;
}

async function run(total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<Sample> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await call(next++);
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rps: total / seconds, cpuUs: (used.user + used.system) / total };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const concurrency = Number(process.argv[3] ?? 64);
  const rounds = Number(process.argv[4] ?? 5);
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
  const origin = `http://127.0.0.1:${port}`;
  const events = Array.from({ length: 1024 }, (_, i) => makeEvent({ amount: i, country: 'DE' }, `evt-${i}`));
  const input = (i: number): string => events[i % 1024]?.input ?? '{}';

  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const headers = { 'content-type': 'application/json' };
  const client = await createCandidateClient({ name: 'bench', adapter: 'http', url: `${origin}/predict`, concurrency, outputPath: '$.label' });
  const shutdown = new AbortController();

  const paths: [string, (i: number) => Promise<unknown>][] = [
    [
      'undici Pool.request (raw)',
      async (i) => JSON.parse(await (await pool.request({ path: '/predict', method: 'POST', headers, body: input(i) })).body.text()),
    ],
    [
      'undici Pool.request + fresh AbortSignal',
      async (i) => {
        const signal = new AbortController().signal;
        return JSON.parse(await (await pool.request({ path: '/predict', method: 'POST', headers, body: input(i), signal })).body.text());
      },
    ],
    ['umbra http candidate (timeout, retry, limit)', (i) => client.invoke(events[i % 1024] ?? makeEvent({}), shutdown.signal)],
  ];

  // Warm up (JIT, sockets), then alternate the paths each round so drift hits all alike.
  for (const [, call] of paths) await run(5000, concurrency, call);
  const samples = new Map<string, Sample[]>(paths.map(([label]) => [label, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [label, call] of paths) samples.get(label)?.push(await run(total, concurrency, call));
  }
  await client.close();
  await pool.close();
  child.disconnect();

  const rows = paths.map(([label]) => {
    const s = samples.get(label) ?? [];
    return { label, rps: median(s.map((x) => x.rps)), cpuUs: median(s.map((x) => x.cpuUs)) };
  });
  const slowest = Math.min(...rows.map((r) => r.rps));
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}; ` +
      `${total} invokes per run, concurrency ${concurrency}, median of ${rounds} rounds; server in a child process`,
  );
  console.table(
    rows.map((r) => ({
      path: r.label,
      'invokes/s': Math.round(r.rps),
      'x slowest': (r.rps / slowest).toFixed(2),
      'client CPU µs/invoke': Math.round(r.cpuUs),
    })),
  );
}

if (process.argv.includes('--server')) serve();
else await main();
