/**
 * Pairs for the report integration tests, and a seeder to run in a child process (chDB is one
 * engine per process, so a test that runs the CLI as a child must not hold the engine itself).
 *
 *   node --import tsx test/integration/report-fixtures.ts <dataDir> <experiment> <nowMs>
 *
 * Three arms over the 30 minutes before `now`: `cand-close` agrees with the baseline on all but
 * one pair at the same latency; `cand-regressed` flips labels towards "decline" in apac and is
 * three times slower; `baseline` is the A/A noise replay. Deterministic: same input, same rows.
 */
import { pathToFileURL } from 'node:url';
import type { ShadowPair } from '../../services/core/src/domain/index.ts';
import { createClickHouse, insertRows, migrate, shadowPairToRow, type ClickHouse, type ShadowPairRow } from '../../services/core/src/clickhouse/index.ts';

export const SEED_EXPERIMENT = 'report-it';
export const REGIONS = ['eu', 'us', 'apac'] as const;
export const CLIENTS = ['web', 'ios'] as const;

export interface SeedCounts {
  close: number;
  regressed: number;
  noise: number;
}

// 1000 close pairs: enough for zero errors to bound the error rate below the 0.5 % allowance.
export const DEFAULT_COUNTS: SeedCounts = { close: 1000, regressed: 600, noise: 300 };

/** A stable number in [0, 1) per (i, salt): the same rows on every run. */
function unit(i: number, salt: number): number {
  let t = (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
  return ((t ^ (t >>> 15)) >>> 0) / 4294967296;
}

function label(score: number): string {
  return score < 0.5 ? 'approve' : 'decline';
}

export function reportPairs(opts: { experiment?: string; now: number; counts?: SeedCounts }): ShadowPairRow[] {
  const experiment = opts.experiment ?? SEED_EXPERIMENT;
  const counts = opts.counts ?? DEFAULT_COUNTS;
  const span = 30 * 60_000;
  const rows: ShadowPairRow[] = [];
  const arms: Array<{ candidate: string; role: ShadowPair['role']; count: number }> = [
    { candidate: 'cand-close', role: 'candidate', count: counts.close },
    { candidate: 'cand-regressed', role: 'candidate', count: counts.regressed },
    { candidate: 'baseline', role: 'noise', count: counts.noise },
  ];
  for (const arm of arms) {
    for (let i = 0; i < arm.count; i++) {
      const region = REGIONS[i % REGIONS.length]!;
      const client = CLIENTS[Math.floor(i / REGIONS.length) % CLIENTS.length]!;
      const eventTime = opts.now - span + Math.floor((i / arm.count) * (span - 60_000));
      const baselineScore = Math.round(unit(i, 1) * 1e4) / 1e4;
      const baselineLatency = 10 + 20 * unit(i, 2) + (unit(i, 3) < 0.02 ? 40 : 0);
      let candidateScore = baselineScore;
      let candidateLatency = baselineLatency;
      if (arm.candidate === 'cand-close' && i === 7) candidateScore = baselineScore < 0.5 ? 0.75 : 0.25;
      if (arm.candidate === 'cand-regressed') {
        candidateLatency = baselineLatency * 3;
        // apac: most approvals turn into declines, one direction only.
        if (region === 'apac' && unit(i, 4) < 0.6) candidateScore = Math.min(1, baselineScore + 0.5);
      }
      const b = label(baselineScore);
      const c = label(candidateScore);
      const diff: string[] = [];
      if (b !== c) diff.push('$.label');
      if (candidateScore !== baselineScore) diff.push('$.score');
      const pair: ShadowPair = {
        experiment,
        candidate: arm.candidate,
        role: arm.role,
        eventId: `ev-${i}`,
        eventTime,
        arm: 'stable',
        baselineModel: 'credit-risk',
        baselineVersion: '1',
        attributes: { region, client },
        task: 'classification',
        baselineOutput: JSON.stringify({ label: b, score: baselineScore }),
        candidateOutput: JSON.stringify({ label: c, score: candidateScore }),
        baselineLatencyMs: Math.round(baselineLatency * 100) / 100,
        candidateLatencyMs: Math.round(candidateLatency * 100) / 100,
        baselineStatus: 'ok',
        candidateStatus: 'ok',
        candidateError: null,
        served: 'baseline',
        baselineError: null,
        agree: b === c,
        baselineLabel: b,
        candidateLabel: c,
        baselineValue: baselineScore,
        candidateValue: candidateScore,
        absError: Math.abs(candidateScore - baselineScore),
        relError: baselineScore === 0 ? null : Math.abs(candidateScore - baselineScore) / baselineScore,
        withinTolerance: null,
        baselineRanking: [],
        candidateRanking: [],
        topkOverlap: null,
        jaccard: null,
        rbo: null,
        diffPaths: diff,
        replayedAt: eventTime + 50,
      };
      rows.push(shadowPairToRow(pair));
    }
  }
  return rows;
}

/** Creates the tables and inserts the pairs into an open engine. */
export async function seedReportPairs(ch: ClickHouse, opts: { experiment?: string; now: number; counts?: SeedCounts }): Promise<number> {
  await migrate(ch);
  const rows = reportPairs(opts);
  await insertRows(ch, 'shadow_pairs', rows);
  return rows.length;
}

// Run as a script: seed a data directory, then exit so the engine is free for the next process.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dataDir, experiment, nowText] = process.argv.slice(2);
  if (!dataDir || !experiment || !nowText) {
    process.stderr.write('usage: report-fixtures.ts <dataDir> <experiment> <nowMs>\n');
    process.exit(2);
  }
  const ch = await createClickHouse({ dataDir });
  try {
    const rows = await seedReportPairs(ch, { experiment, now: Number(nowText) });
    process.stdout.write(`seeded ${rows} pairs\n`);
  } finally {
    await ch.close();
  }
}
