import { UmbraError } from '@umbra/core';
import type { ReportThresholds } from './types.ts';

export const DEFAULT_THRESHOLDS: Readonly<ReportThresholds> = Object.freeze({
  relThreshold: 0.2,
  absThreshold: 0.0003,
  ksExactMaxProduct: 1_000_000,
  maxQuantileSample: 1_000_000,
  maxDriftSample: 20_000,
  maxCanarySample: 200_000,
});

export interface Window {
  from: number;
  to: number;
}

/** A DateTime64(3) query parameter as Unix seconds with milliseconds: exact and independent of any time zone. */
export function timeParam(epochMs: number): string {
  return (Math.round(epochMs) / 1000).toFixed(3);
}

export function checkWindow(name: string, w: Window): void {
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to)) {
    throw new UmbraError('BAD_ARGUMENT', `${name} needs finite epoch-ms bounds, got from=${w.from} to=${w.to}`, { context: { ...w } });
  }
  if (w.from > w.to) {
    throw new UmbraError('BAD_ARGUMENT', `${name} starts after it ends: from=${w.from} > to=${w.to}`, { context: { ...w } });
  }
  if (w.from < 0) throw new UmbraError('BAD_ARGUMENT', `${name} starts before 1970: from=${w.from}`, { context: { ...w } });
}

export function checkName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new UmbraError('BAD_ARGUMENT', `${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

export function checkSegmentKeys(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const k of keys) {
    checkName('segment key', k);
    if (seen.has(k)) throw new UmbraError('BAD_ARGUMENT', `segment key ${JSON.stringify(k)} is listed twice`);
    seen.add(k);
  }
  return [...keys];
}

export function resolveThresholds(t: Partial<ReportThresholds> = {}): ReportThresholds {
  const out = { ...DEFAULT_THRESHOLDS };
  for (const [key, value] of Object.entries(t) as [keyof ReportThresholds, unknown][]) {
    if (!(key in DEFAULT_THRESHOLDS)) throw new UmbraError('BAD_ARGUMENT', `unknown report threshold ${JSON.stringify(key)}`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UmbraError('BAD_ARGUMENT', `report threshold ${key} must be a finite number >= 0, got ${JSON.stringify(value)}`);
    }
    if (key.startsWith('max') && value < 1) throw new UmbraError('BAD_ARGUMENT', `report threshold ${key} must be >= 1, got ${value}`);
    out[key] = value;
  }
  return out;
}

/** The modulus of the deterministic sample cityHash64(event_id) % mod = 0 that keeps about `cap` of `count` rows. */
export function sampleModFor(count: number, cap: number): number {
  return count <= cap ? 1 : Math.ceil(count / cap);
}
