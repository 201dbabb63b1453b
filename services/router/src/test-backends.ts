/** Two real node:http model backends on loopback, for the router's tests and benchmark. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  url: string;
  /** Requests this backend answered. */
  hits: number;
  close(): Promise<void>;
}

/**
 * Answers `{"backend": name, "echo": <request body>}`; `/fail` answers 503 with a JSON error and
 * a header of its own, so pass-through of backend errors can be checked; `/big` (600 KB with a
 * length) and `/chunked` (no length) exercise the streamed relay.
 */
export async function startBackend(name: string): Promise<Backend> {
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.hits++;
      if (req.url === '/fail') {
        res.writeHead(503, { 'content-type': 'application/json', 'x-backend-error': name });
        res.end(JSON.stringify({ error: 'overloaded', backend: name }));
        return;
      }
      if (req.url === '/big') {
        // Over the router's whole-body limit: relayed as a stream.
        const big = JSON.stringify({ backend: name, pad: 'x'.repeat(600 * 1024) });
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(big),
        });
        res.end(big);
        return;
      }
      if (req.url === '/chunked') {
        // No length: the router streams it through as it comes.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"backend":${JSON.stringify(name)},`);
        setTimeout(() => res.end('"parts":3}'), 5);
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const answer = JSON.stringify({
        backend: name,
        echo: text.length > 0 ? (JSON.parse(text) as unknown) : null,
      });
      // With its length, as model servers answer.
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(answer),
        'x-backend': name,
      });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return state.hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nothing listens on (bound, read, released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
