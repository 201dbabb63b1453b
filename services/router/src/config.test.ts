import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from './config.ts';

const arms = {
  stable: { url: 'http://127.0.0.1:9001', model: { name: 'fraud', version: '7' } },
  canary: { url: 'http://127.0.0.1:9002', model: { name: 'fraud', version: '8' } },
};

describe('router config', () => {
  it('fills the defaults a first config leaves out', () => {
    const c = parseRouterConfig(arms);
    expect(c).toMatchObject({
      listen: { host: '127.0.0.1', port: 8080 },
      mode: 'canary',
      weight: 0,
      attributeHeaders: {},
      tap: { enabled: true, sampleRate: 1, maxBuffer: 10_000, batchSize: 500, lingerMs: 100 },
    });
    expect(c.follow).toBeUndefined();
  });

  it('names every bad field and says what is expected', () => {
    const bad = () =>
      parseRouterConfig(
        {
          ...arms,
          canary: { url: 'ftp://x', model: { name: 'fraud' } },
          weight: 101,
          stickyKey: {},
          tap: { sampleRate: 0, bufferSize: 5 },
        },
        'router.yaml',
      );
    expect(bad).toThrow(/^router\.yaml: /);
    expect(bad).toThrow(/canary\.url: expected an http:\/\/ or https:\/\/ URL/);
    expect(bad).toThrow(/canary\.model\.version: /);
    expect(bad).toThrow(/weight: /);
    expect(bad).toThrow(/stickyKey: give header, jsonField or both/);
    expect(bad).toThrow(/tap\.sampleRate: must be > 0/);
    expect(bad).toThrow(/tap\.bufferSize: unknown key/);
  });
});
