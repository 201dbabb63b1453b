import { describe, expect, it } from 'vitest';
import { bucketOf, onCanary } from './split.ts';

const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe('sticky split', () => {
  it('puts a key on the same arm every time', () => {
    for (const k of keys.slice(0, 100)) {
      expect(bucketOf(k)).toBe(bucketOf(k));
      expect(bucketOf(k)).toBeGreaterThanOrEqual(0);
      expect(bucketOf(k)).toBeLessThan(100);
    }
  });

  it('sends 25 % ± 1.5 % of 10 000 keys to the canary at weight 25', () => {
    const share = keys.filter((k) => onCanary(k, 25)).length / keys.length;
    expect(Math.abs(share - 0.25)).toBeLessThanOrEqual(0.015);
  });

  it('keeps the share within tolerance at every step and edge weight', () => {
    for (const w of [1, 5, 10, 50, 90]) {
      const share = keys.filter((k) => onCanary(k, w)).length / keys.length;
      expect(Math.abs(share - w / 100)).toBeLessThanOrEqual(0.015);
    }
    expect(keys.some((k) => onCanary(k, 0))).toBe(false);
    expect(keys.every((k) => onCanary(k, 100))).toBe(true);
  });

  it('is monotone: as the weight goes 5 → 50 no key moves canary → stable', () => {
    const steps = [5, 10, 20, 35, 50];
    let before = new Set(keys.filter((k) => onCanary(k, steps[0]!)));
    for (const w of steps.slice(1)) {
      const now = new Set(keys.filter((k) => onCanary(k, w)));
      expect([...before].filter((k) => !now.has(k))).toEqual([]);
      expect(now.size).toBeGreaterThan(before.size);
      before = now;
    }
  });

  it('spreads near-identical keys (no clustering of sequential ids)', () => {
    const deciles = new Array<number>(10).fill(0);
    for (const k of keys) deciles[Math.floor(bucketOf(k) / 10)]!++;
    for (const n of deciles) expect(Math.abs(n - 1_000)).toBeLessThan(120);
  });
});
