import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isUmbraError } from '../errors.ts';
import { loadUmbraConfig } from './umbra.ts';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'umbra-config-')), 'umbra.yaml');
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('loadUmbraConfig', () => {
  it('defaults to the embedded engine with no file and no env', () => {
    const config = loadUmbraConfig({ env: {} });
    expect(config.clickhouse.url).toBeUndefined();
    expect(config.clickhouse.dataDir).toBe('./.umbra/db');
    expect(config.kafka).toBeUndefined();
    expect(Object.isFrozen(config.clickhouse)).toBe(true);
  });

  it('lets the environment override the file', () => {
    const path = file('clickhouse:\n  dataDir: /tmp/x\nkafka:\n  brokers: ["a:1"]\n');
    const config = loadUmbraConfig({
      file: path,
      env: { KAFKA_BROKERS: 'b:2, c:3', CLICKHOUSE_URL: 'http://127.0.0.1:8123', UMBRA_METRICS_PORT: '9464' },
    });
    expect(config.kafka?.brokers).toEqual(['b:2', 'c:3']);
    expect(config.kafka?.topics.requests).toBe('umbra.requests');
    expect(config.clickhouse.url).toBe('http://127.0.0.1:8123');
    expect(config.clickhouse.dataDir).toBe('/tmp/x');
    expect(config.metrics.port).toBe(9464);
  });

  it('names the bad field and what was expected', () => {
    const path = file('clickhouse:\n  retentionDays: ninety\n');
    const e = errorOf(() => loadUmbraConfig({ file: path, env: {} }));
    expect(isUmbraError(e, 'CONFIG_INVALID')).toBe(true);
    expect(e.message).toContain('clickhouse.retentionDays: expected number, received string');
  });

  it('refuses unknown keys, naming them', () => {
    const path = file('clickhouse:\n  dataDri: /tmp/x\n');
    const e = errorOf(() => loadUmbraConfig({ file: path, env: {} }));
    expect(e.message).toContain('clickhouse.dataDri: unknown key');
  });

  it('reports a YAML syntax error with its line', () => {
    const path = file('clickhouse:\n  url: [\n');
    const e = errorOf(() => loadUmbraConfig({ file: path, env: {} }));
    expect(isUmbraError(e, 'CONFIG_INVALID')).toBe(true);
    expect(e.message).toMatch(/line \d+: not valid YAML/);
  });

  it('reports a missing file', () => {
    const e = errorOf(() => loadUmbraConfig({ file: '/nonexistent/umbra.yaml', env: {} }));
    expect(isUmbraError(e, 'CONFIG_NOT_FOUND')).toBe(true);
  });
});
