/**
 * Micro benchmark of compare(), one row per task: `npx tsx services/core/src/domain/compare/compare.bench.ts`.
 * The raw baseline is the floor any comparison pays: JSON.parse of both outputs, in the same run.
 * Prints the best of several rounds in calls/s; nothing is asserted (timings belong in recorded runs, not in tests).
 */
import { cpus } from 'node:os';
import { compare, createComparator } from './compare.ts';
import type { OutputSpec } from './spec.ts';

const N = 1024; // distinct pairs per task, so no single input stays hot in every cache
const ROUNDS = 7;
const ROUND_MS = 200;

/** Deterministic pseudo-random numbers (mulberry32), so every run sees the same pairs. */
function random(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  name: string;
  spec: OutputSpec;
  pair: (next: () => number) => [string, string];
}

const labels = ['cat', 'dog', 'bird', 'fish'];
const pick = <T>(xs: readonly T[], next: () => number): T =>
  xs[Math.floor(next() * xs.length)] as T;

const cases: Case[] = [
  {
    name: 'classification',
    spec: { task: 'classification', label: '$.label', score: '$.score', scoreTolerance: 0.01 },
    pair: (next) => {
      const label = pick(labels, next);
      const score = next();
      const flip = next() < 0.1;
      return [
        JSON.stringify({ label, score }),
        JSON.stringify({
          label: flip ? pick(labels, next) : label,
          score: Math.min(1, score + (next() - 0.5) * 0.02),
        }),
      ];
    },
  },
  {
    name: 'regression',
    spec: { task: 'regression', value: '$.value' },
    pair: (next) => {
      const v = next() * 1000;
      return [
        JSON.stringify({ value: v }),
        JSON.stringify({ value: v * (1 + (next() - 0.5) * 0.04) }),
      ];
    },
  },
  {
    name: 'ranking (k=10 of 20 objects)',
    spec: { task: 'ranking', ranking: '$.items', idField: 'id', k: 10 },
    pair: (next) => {
      const ids = Array.from({ length: 20 }, (_, i) => `doc-${i}`);
      const b = ids.map((id) => ({ id, score: next() }));
      const c = [...b]
        .sort(() => next() - 0.45)
        .map((x) => ({ id: x.id, score: x.score + next() * 0.01 }));
      return [JSON.stringify({ items: b }), JSON.stringify({ items: c })];
    },
  },
  {
    name: 'structured (nested, ~20 fields)',
    spec: { task: 'structured', ignorePaths: ['$.requestId'], ignoreArrayOrder: false },
    pair: (next) => {
      const doc = (noise: number): string =>
        JSON.stringify({
          requestId: `r-${Math.floor(next() * 1e9)}`,
          entities: [
            { type: 'PER', text: 'Ada', span: [0, 3], conf: 0.97 + noise },
            { type: 'ORG', text: 'ACME', span: [10, 14], conf: 0.88 },
          ],
          sentiment: { label: 'pos', score: 0.71 + noise },
          lang: 'en',
          tokens: 42,
        });
      return [doc(0), doc(next() < 0.5 ? 0 : 1e-3)];
    },
  },
];

/** Calls per second of `fn`: the best of ROUNDS timed rounds, which is the least disturbed by other load. */
function measure(fn: (i: number) => unknown): number {
  for (let i = 0; i < 20_000; i += 1) fn(i % N); // warm up the JIT
  let best = 0;
  let sink = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    let calls = 0;
    let elapsed = 0;
    const start = performance.now();
    while (elapsed < ROUND_MS) {
      for (let i = 0; i < 1024; i += 1) {
        if (fn((calls + i) % N) !== undefined) sink += 1;
      }
      calls += 1024;
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (calls / elapsed) * 1000);
  }
  if (sink < 0) console.log(sink); // keeps the results observable
  return best;
}

const rows: string[][] = [];
for (const c of cases) {
  const next = random(42);
  const pairs = Array.from({ length: N }, () => c.pair(next));
  const comparator = createComparator(c.spec);
  const raw = measure((i) => {
    const [b, cand] = pairs[i] as [string, string];
    return [JSON.parse(b), JSON.parse(cand)];
  });
  const viaComparator = measure((i) => {
    const [b, cand] = pairs[i] as [string, string];
    return comparator.compare(b, cand);
  });
  const viaCompare = measure((i) => {
    const [b, cand] = pairs[i] as [string, string];
    return compare(c.spec, b, cand);
  });
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  rows.push([
    c.name,
    fmt(viaComparator),
    fmt(viaCompare),
    fmt(raw),
    (viaComparator / raw).toFixed(2),
  ]);
}

const header = [
  'task',
  'createComparator calls/s',
  'compare() calls/s',
  '2×JSON.parse /s',
  'ratio',
];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
);
const line = (r: string[]): string =>
  r
    .map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
    )
    .join('  ');
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${N} distinct pairs per task, best of ${ROUNDS} rounds of ${ROUND_MS} ms`,
);
console.log(line(header));
for (const r of rows) console.log(line(r));
