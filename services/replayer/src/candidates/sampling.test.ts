import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sampled, sampleKey } from './sampling.ts';

describe('sampled', () => {
  it('is deterministic for an event id, rate and salt', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `evt-${i}`);
    const first = ids.map((id) => sampled(id, 0.3, 'fraud-v2'));
    expect(ids.map((id) => sampled(id, 0.3, 'fraud-v2'))).toEqual(first);
    // Pinned: a change of hash would silently resample every running experiment.
    expect([sampleKey('', ''), sampleKey('evt-1', ''), sampleKey('evt-1', 'fraud-v2')].map((k) => k.toFixed(8))).toEqual([
      '0.02137250',
      '0.56686165',
      '0.95261909',
    ]);
  });

  it('samples within 0.1 ± 0.005 of 100 000 sequential and random ids', () => {
    for (const make of [(i: number) => `evt-${i}`, () => randomUUID()]) {
      let hits = 0;
      for (let i = 0; i < 100_000; i++) if (sampled(make(i), 0.1, 'cand-a')) hits++;
      expect(Math.abs(hits / 100_000 - 0.1)).toBeLessThan(0.005);
    }
  });

  it('nests: an event sampled at a rate is sampled at every higher rate', () => {
    for (let i = 0; i < 10_000; i++) {
      const id = `evt-${i}`;
      if (sampled(id, 0.05, 's')) expect(sampled(id, 0.2, 's')).toBe(true);
    }
  });

  it('keeps everything at rate 1, nothing at rate 0', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `e${i}`);
    expect(ids.every((id) => sampled(id, 1))).toBe(true);
    expect(ids.some((id) => sampled(id, 0))).toBe(false);
  });

  it('gives different candidates (salts) different subsets', () => {
    let both = 0;
    for (let i = 0; i < 100_000; i++) if (sampled(`evt-${i}`, 0.1, 'a') && sampled(`evt-${i}`, 0.1, 'b')) both++;
    // Independent subsets overlap on about rate^2 of events.
    expect(Math.abs(both / 100_000 - 0.01)).toBeLessThan(0.002);
  });

  it('hashes the UTF-8 bytes of salt, NUL, id (reproducible outside JavaScript)', () => {
    // Reference: the same hash over bytes produced by Buffer's UTF-8 encoder.
    const reference = (id: string, salt: string): number => {
      let h = 0x811c9dc5;
      for (const b of Buffer.from(`${salt}\0${id}`, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return (h >>> 0) / 0x1_0000_0000;
    };
    for (const [id, salt] of [
      ['evt-1', 'fraud-v2'],
      ['ü-é-中文', 'c'],
      ['😀 emoji', ''],
      ['lone \ud800 surrogate', 's'],
      [randomUUID(), 'cand-a'],
    ] as const) {
      expect(sampleKey(id, salt)).toBe(reference(id, salt));
    }
  });
});
