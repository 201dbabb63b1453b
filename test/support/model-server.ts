import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { baselineModel, type DemoInput } from '../../services/replayer/src/demo/models.ts';

/** 32-bit FNV-1a of a string mapped to [0, 1): which requests fail is decided by their content. */
export function unitHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 4294967296;
}

export interface ModelServer {
  url: string;
  calls: number;
  /** Inputs (canonical JSON) the server answered with 500 / stalled past the timeout. */
  failed: Set<string>;
  stalled: Set<string>;
  close(): Promise<void>;
}

/**
 * A real HTTP model server on loopback serving the demo baseline model. `failRate` of inputs are
 * always answered 500, `stallRate` stall for `stallMs` (past the candidate's timeout), chosen by
 * a hash of the input so retries and replays hit the same inputs.
 */
export async function startModelServer(opts: { failRate: number; stallRate: number; stallMs: number; latencyMs?: number }): Promise<ModelServer> {
  const state = { calls: 0, failed: new Set<string>(), stalled: new Set<string>() };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.calls++;
      const body = Buffer.concat(chunks).toString('utf8');
      const u = unitHash(body);
      if (u < opts.failRate) {
        state.failed.add(body);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('model crashed');
        return;
      }
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ prediction: baselineModel(JSON.parse(body) as DemoInput) }));
      if (u < opts.failRate + opts.stallRate) {
        state.stalled.add(body);
        setTimeout(() => {
          if (!res.destroyed) answer();
        }, opts.stallMs);
        return;
      }
      if (opts.latencyMs) setTimeout(answer, opts.latencyMs);
      else answer();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/predict`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  });
}

/**
 * The same server in its own process, as a model server is: the replayer under test does not
 * share its event loop with it. Resolves with its URL; `close` ends it by its pid.
 */
export async function spawnModelServer(opts: { failRate: number; stallRate: number; stallMs: number; latencyMs?: number }): Promise<{ url: string; close(): Promise<void> }> {
  const main = new URL('./model-server-main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', main, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('URL='));
      if (line) resolve(line.slice(4).trim());
    });
    child.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
