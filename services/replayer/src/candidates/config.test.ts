import { describe, expect, it } from 'vitest';
import { isUmbraError, type UmbraError } from '@umbra/core';
import { parseCandidateConfig, parseCandidateConfigs } from './config.ts';

function configError(raw: unknown, list = false): UmbraError {
  try {
    if (list) parseCandidateConfigs(raw);
    else parseCandidateConfig(raw);
  } catch (e) {
    if (isUmbraError(e, 'CONFIG_INVALID')) return e;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

const paths = (e: UmbraError): string[] => (e.context.problems as { path: string }[]).map((p) => p.path);

describe('candidate config', () => {
  it('fills defaults and freezes the result', () => {
    const c = parseCandidateConfig({ name: 'fraud-v2', adapter: 'http', url: 'http://127.0.0.1:9000/predict' });

    expect(c).toEqual({
      name: 'fraud-v2',
      adapter: 'http',
      url: 'http://127.0.0.1:9000/predict',
      timeoutMs: 2000,
      concurrency: 16,
      retry: { attempts: 2, backoffMs: 50, maxBackoffMs: 1000, onTimeout: false },
      sampleRate: 1,
      method: 'POST',
      headers: {},
      body: 'input',
      outputPath: '$',
      pool: { keepAliveTimeoutMs: 4000 },
    });
    expect(Object.isFrozen(c) && Object.isFrozen(c.retry)).toBe(true);
    expect(parseCandidateConfig(c)).toEqual(c);
  });

  it('names unknown keys with their full path', () => {
    const e = configError({ name: 'a', adapter: 'http', url: 'http://x', retries: 3, retry: { attemps: 1 } });

    expect(paths(e).sort()).toEqual(['candidate.retries', 'candidate.retry.attemps']);
    expect(e.message).toContain('candidate.retry.attemps: unknown key');
  });

  it('names bad values and the allowed range', () => {
    const e = configError({ name: 'Bad Name', adapter: 'http', url: 'ftp://x', sampleRate: 1.5, concurrency: 0, outputPath: 'result' });

    expect(paths(e).sort()).toEqual(['candidate.concurrency', 'candidate.name', 'candidate.outputPath', 'candidate.sampleRate', 'candidate.url']);
    expect(e.message).toMatch(/candidate\.sampleRate: .*1/);
  });

  it('names the adapter when it is unknown, and fields specific to one adapter', () => {
    expect(paths(configError({ name: 'a', adapter: 'grpc' }))).toEqual(['candidate.adapter']);
    expect(paths(configError({ name: 'a', adapter: 'kserve-v2', url: 'http://x' }))).toEqual(['candidate.model']);
    expect(paths(configError({ name: 'a', adapter: 'module', path: 'm.ts', url: 'http://x' }))).toEqual(['candidate.url']);
    expect(paths(configError({ name: 'a', adapter: 'kserve-v2', url: 'http://x', model: { name: 'm' }, datatypes: { f: 'FLOAT' } }))).toEqual([
      'candidate.datatypes.f',
    ]);
  });

  it('checks retry bounds and body template placeholders', () => {
    expect(paths(configError({ name: 'a', adapter: 'http', url: 'http://x', retry: { backoffMs: 500, maxBackoffMs: 100 } }))).toEqual([
      'candidate.retry.maxBackoffMs',
    ]);
    expect(paths(configError({ name: 'a', adapter: 'http', url: 'http://x', body: { template: { rows: ['$input.a[x]'] } } }))).toEqual([
      'candidate.body.template.rows[0]',
    ]);
  });

  it('indexes list errors and rejects duplicate names', () => {
    const e = configError(
      [
        { name: 'a', adapter: 'module', path: 'm.ts' },
        { name: 'a', adapter: 'module', path: 'n.ts', timeoutMs: -1 },
      ],
      true,
    );

    expect(paths(e).sort()).toEqual(['candidates[1].name', 'candidates[1].timeoutMs']);
  });
});
