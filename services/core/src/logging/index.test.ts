import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.ts';

describe('createLogger', () => {
  it('writes JSON with the service and redacts secrets at any depth we configure', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const log = createLogger({ service: 'replayer', destination: out });
    log.child({ topic: 'umbra.requests' }).info(
      {
        clickhouse: { url: 'http://h', password: 'hunter2' },
        kafka: { sasl: { username: 'u', password: 'p' } },
        candidate: { headers: { authorization: 'Bearer abc' } },
        token: 't0k',
      },
      'started',
    );
    await new Promise((r) => setImmediate(r));
    type Line = {
      service: string;
      topic: string;
      msg: string;
      token: string;
      clickhouse: { password: string };
      kafka: { sasl: unknown };
      candidate: { headers: { authorization: string } };
    };
    const line = JSON.parse(chunks.join('')) as Line;
    expect(line.service).toBe('replayer');
    expect(line.topic).toBe('umbra.requests');
    expect(line.msg).toBe('started');
    expect(line.clickhouse.password).toBe('[redacted]');
    expect(line.kafka.sasl).toBe('[redacted]');
    expect(line.candidate.headers.authorization).toBe('[redacted]');
    expect(line.token).toBe('[redacted]');
    expect(chunks.join('')).not.toMatch(/hunter2|Bearer abc|t0k/);
  });
});
