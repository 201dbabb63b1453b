/**
 * Coverage under peeking: how often an interval checked at every look ever excludes the true
 * proportion. A confidence sequence keeps this at or below α; a fixed-sample interval looked at
 * 100 times does not. Used by the unit tests and by run.ts for the results file.
 */
import {
  differenceCS,
  mixtureFor,
  proportionSequence,
  type BetaMixture,
} from '../stats/confidence-sequence.ts';
import { binomial, createRng } from './simulate.ts';
import { wilson } from '@umbra/core/domain';

/** z of a two-sided 95 % interval, Φ⁻¹(0.975). */
const Z95 = 1.959963984540054;

/** The Wilson score interval of the reports (core's `wilson`); the harness always has n > 0. */
export function wilsonInterval(k: number, n: number, z = Z95): { lower: number; upper: number } {
  return wilson(k, n, z)!;
}

export interface PeekingOptions {
  /** True proportion. */
  p: number;
  /** Mixing prior of the sequence (default: centred on p, as a gate at threshold p would be). */
  prior?: BetaMixture;
  sequences: number;
  looks: number;
  /** Observations between looks. */
  lookEvery: number;
  alpha: number;
  seed: number;
}

export interface PeekingResult {
  p: number;
  sequences: number;
  looks: number;
  lookEvery: number;
  alpha: number;
  /** Share of sequences whose confidence sequence excluded p at some look. */
  sequenceMiss: number;
  /** Same for the Wilson interval recomputed at every look (the naive way). */
  wilsonMiss: number;
  /** Wilson looked at once, at the end: its nominal fixed-sample error, for reference. */
  wilsonMissAtEnd: number;
}

export function peekingCoverage(o: PeekingOptions): PeekingResult {
  if (Math.abs(o.alpha - 0.05) > 1e-12)
    throw new RangeError(
      'peekingCoverage compares with the 95 % Wilson interval: alpha must be 0.05',
    );
  const rng = createRng(o.seed);
  const prior = o.prior ?? mixtureFor(o.p);
  let sequenceMiss = 0;
  let wilsonMiss = 0;
  let wilsonMissAtEnd = 0;
  for (let s = 0; s < o.sequences; s++) {
    let k = 0;
    let n = 0;
    let csOut = false;
    let wilsonOut = false;
    for (let look = 0; look < o.looks; look++) {
      k += binomial(rng, o.lookEvery, o.p);
      n += o.lookEvery;
      if (!csOut) {
        const seq = proportionSequence(k, n, prior);
        csOut = o.p < seq.bound(o.alpha, 'lower') || o.p > seq.bound(o.alpha, 'upper');
      }
      const w = wilsonInterval(k, n);
      const out = o.p < w.lower || o.p > w.upper;
      if (out) wilsonOut = true;
      if (look === o.looks - 1 && out) wilsonMissAtEnd++;
    }
    if (csOut) sequenceMiss++;
    if (wilsonOut) wilsonMiss++;
  }
  return {
    p: o.p,
    sequences: o.sequences,
    looks: o.looks,
    lookEvery: o.lookEvery,
    alpha: o.alpha,
    sequenceMiss: sequenceMiss / o.sequences,
    wilsonMiss: wilsonMiss / o.sequences,
    wilsonMissAtEnd: wilsonMissAtEnd / o.sequences,
  };
}

/** Same, for the difference of two independent arms (canary vs stable). */
export function differencePeekingCoverage(o: {
  p1: number;
  p2: number;
  n1PerLook: number;
  n2PerLook: number;
  sequences: number;
  looks: number;
  alpha: number;
  prior: BetaMixture;
  seed: number;
}): { miss: number } {
  const rng = createRng(o.seed);
  const d = o.p1 - o.p2;
  let miss = 0;
  for (let s = 0; s < o.sequences; s++) {
    let k1 = 0;
    let k2 = 0;
    for (let look = 1; look <= o.looks; look++) {
      k1 += binomial(rng, o.n1PerLook, o.p1);
      k2 += binomial(rng, o.n2PerLook, o.p2);
      const cs = differenceCS(k1, look * o.n1PerLook, k2, look * o.n2PerLook, o.alpha, o.prior);
      if (d < cs.lower || d > cs.upper) {
        miss++;
        break;
      }
    }
  }
  return { miss: miss / o.sequences };
}
