import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.ts';
import { pinoLogCreator } from './logging.ts';

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger({
    service: 't',
    level: 'info',
    destination: {
      write: (s: string | Uint8Array) => {
        lines.push(JSON.parse(String(s)) as { level: number; msg: string });
        return true;
      },
    } as NodeJS.WritableStream,
  });
  return { lines, log: pinoLogCreator(logger)(logLevel.WARN) };
}

const entry = (error: string) => ({
  namespace: 'Connection',
  level: logLevel.ERROR,
  label: 'ERROR',
  log: {
    timestamp: 't',
    logger: 'kafkajs',
    message: 'Response FindCoordinator(key: 10, version: 2)',
    error,
  },
});

describe('kafkajs logs', () => {
  it('keeps real errors as errors and a busy broker that kafkajs retries at info', () => {
    const { lines, log } = capture();
    log(entry("The coordinator is loading and hence can't process requests"));
    log(entry('The group coordinator is not available'));
    log(entry('Not authorized to access topics: [Topic authorization failed]'));
    expect(lines.map((l) => l.level)).toEqual([30, 30, 50]);
  });
});
