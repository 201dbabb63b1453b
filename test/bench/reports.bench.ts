/**
 * Report benchmark: the full report set (agreement, latency and drift for the candidate and its
 * A/A run, plus the canary report; every metric, every segment) over 1 M and 10 M pairs generated
 * inside the embedded engine, next to scipy computing the same statistics on the same rows.
 *
 *   npx tsx test/bench/reports.bench.ts [--sizes 1000000,10000000] [--no-scipy]
 *
 * Prints a table and writes test/bench/results/reports.md. Times are wall-clock on this machine;
 * nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createClickHouse, migrate, queryRows, runStatement, toDateTime64, type ClickHouse } from '../../services/core/src/clickhouse/index.ts';
import { rollUpPairs, rollUpRequests, runCanaryReport, runReport, type Report } from '../../services/comparator/src/reports/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const DAY = 86_400_000;
const SEGMENT_KEYS = ['region', 'client', 'input_class'];
const CANARY_KEYS = ['region', 'client'];
const RUNS = 3;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const sizes = (arg('--sizes') ?? '1000000,10000000').split(',').map(Number);
const withScipy = !process.argv.includes('--no-scipy');

const sql = (file: string) => readFileSync(join(HERE, file), 'utf8');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

function scipyAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import numpy, scipy'], { stdio: 'ignore' }).status === 0;
}

async function exportRows(ch: ClickHouse, file: string, query: string, params: Record<string, unknown>): Promise<void> {
  const result = await ch.client.exec({ query, query_params: params });
  await pipeline(result.stream, createWriteStream(file));
}

interface SizeResult {
  pairs: number;
  requests: number;
  parts: number;
  generateMs: number;
  rollUpMs: number;
  rollUpRows: number;
  breakdown: Record<string, number>;
  fullMs: number[];
  emptyMs: number;
  rawMs: number;
  rawBreakdown: Record<string, number>;
  metricRows: number;
  sampleMods: Record<string, unknown>;
  scipy?: { total_s: number; pair_reports_s: number; canary_s: number; load_s: number; statistics: number; scipy: string; numpy: string } | string;
}

async function fullReport(ch: ClickHouse, start: number, useRollups: boolean, reports?: ('agreement' | 'latency' | 'drift')[]): Promise<Report[]> {
  const pairReports = runReport(ch, {
    experiment: 'bench',
    from: start,
    to: start + DAY,
    segmentKeys: SEGMENT_KEYS,
    referenceWindow: { from: start, to: start + DAY / 4 },
    useRollups,
    ...(reports ? { reports } : {}),
  });
  if (reports) return pairReports;
  // As the comparator does (withLiveArms): the canary statement beside the pair reports'.
  const [pairs, canary] = await Promise.all([pairReports, canaryReport(ch, start, useRollups)]);
  return [...pairs, canary];
}

function canaryReport(ch: ClickHouse, start: number, useRollups: boolean): Promise<Report> {
  return runCanaryReport(ch, { experiment: 'bench', model: 'bench-model', from: start, to: start + DAY, segmentKeys: CANARY_KEYS, useRollups });
}

/** Each report alone, best of RUNS: the machine is shared, the minimum is the least disturbed. */
async function byReport(ch: ClickHouse, start: number, useRollups: boolean, runs: number): Promise<Record<string, number>> {
  const breakdown: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    for (const kind of ['agreement', 'latency', 'drift'] as const) {
      const ms = (await timed(() => fullReport(ch, start, useRollups, [kind]))).ms;
      breakdown[kind] = Math.min(breakdown[kind] ?? Infinity, ms);
    }
    const canaryMs = (await timed(() => canaryReport(ch, start, useRollups))).ms;
    breakdown.canary = Math.min(breakdown.canary ?? Infinity, canaryMs);
  }
  return breakdown;
}

async function benchSize(ch: ClickHouse, size: number, python: boolean): Promise<SizeResult> {
  const start = Math.floor(Date.now() / DAY) * DAY - 2 * DAY; // inside the tables' 90-day TTL
  await runStatement(ch, 'TRUNCATE TABLE shadow_pairs');
  await runStatement(ch, 'TRUNCATE TABLE request_events');
  const events = Math.round(size / 1.1); // plus an A/A pair for every tenth event
  const gen = await timed(async () => {
    await runStatement(ch, sql('reports-data.sql'), { events, start: toDateTime64(start) });
    await runStatement(ch, sql('reports-requests.sql'), { requests: size, start: toDateTime64(start) });
  });
  const [counts] = await queryRows<{ pairs: number; parts: number }>(
    ch,
    "SELECT (SELECT count() FROM shadow_pairs) AS pairs, (SELECT count() FROM system.parts WHERE table = 'shadow_pairs' AND active) AS parts",
  );
  const pairs = Number(counts?.pairs);
  console.log(`\n${pairs.toLocaleString('en')} pairs + ${size.toLocaleString('en')} requests generated in ${seconds(gen.ms)} (${counts?.parts} parts)`);
  // A near-empty day two days earlier, one pair per candidate and one request per arm, for the
  // floor measured at the end; rolled up with the rest. (A day with no pair at all would also
  // read every pair's candidate column to name the candidates it reports with n = 0.)
  const empty = start - 2 * DAY;
  const shift = { start: toDateTime64(start), shift: (start - empty) / 1000 };
  const seeds = [
    ['shadow_pairs', "experiment = 'bench'", 'candidate'],
    ['request_events', "model_name = 'bench-model'", 'arm'],
  ] as const;
  for (const [table, stream, by] of seeds) {
    await runStatement(
      ch,
      // (the REPLACE alias would shadow event_time in a WHERE at the same level)
      `INSERT INTO ${table} SELECT * REPLACE (event_time - toIntervalSecond({shift:UInt32}) AS event_time)
       FROM (SELECT * FROM ${table} WHERE ${stream} AND event_time >= {start:DateTime64(3)} AND event_time < {start:DateTime64(3)} + INTERVAL 1 HOUR
             ORDER BY event_time LIMIT 1 BY ${by})`,
      shift,
    );
  }

  // The raw path: every report reads shadow_pairs / request_events (what the comparator does
  // for windows with no rolled hours). Once: it is the slow "before".
  const raw = await timed(() => fullReport(ch, start, false));
  console.log(`  raw path, full report set: ${seconds(raw.ms)} (${raw.value.reduce((s, r) => s + r.metrics.length, 0)} metric rows)`);
  const rawBreakdown = await byReport(ch, start, false, 1);
  console.log(`  raw path by report: ${Object.entries(rawBreakdown).map(([k, v]) => `${k} ${seconds(v)}`).join(', ')}`);

  // The comparator's scheduled work: roll the (sealed) hours of the day up.
  const roll = await timed(() => rollUpPairs(ch, { experiment: 'bench', segmentKeys: SEGMENT_KEYS }));
  const rollRequests = await timed(() => rollUpRequests(ch, { model: 'bench-model', segmentKeys: CANARY_KEYS }));
  const [rolled] = await queryRows<{ rows: number }>(ch, 'SELECT (SELECT count() FROM pair_rollups) + (SELECT count() FROM request_rollups) AS rows');
  console.log(
    `  roll-up of ${roll.value.rolled.length} hours and ${roll.value.days.length} days: pairs ${seconds(roll.ms)}, requests ${seconds(rollRequests.ms)} (${rolled?.rows} rollup rows)`,
  );

  const fullMs: number[] = [];
  let last: Report[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await timed(() => fullReport(ch, start, true));
    fullMs.push(run.ms);
    last = run.value;
    console.log(`  full report set with roll-ups, run ${i + 1}: ${seconds(run.ms)} (${run.value.reduce((s, r) => s + r.metrics.length, 0)} metric rows)`);
  }
  const breakdown = await byReport(ch, start, true, RUNS);
  console.log(`  with roll-ups by report (best of ${RUNS}): ${Object.entries(breakdown).map(([k, v]) => `${k} ${seconds(v)}`).join(', ')}`);

  const sampleMods: Record<string, unknown> = {};
  for (const m of [...(last[0]?.metrics ?? []), ...(last[last.length - 1]?.metrics ?? [])]) {
    if (m.segment_key !== '') continue;
    if (m.metric === 'latency_p99_candidate') sampleMods.quantiles = m.method;
    if (m.metric === 'latency_mann_whitney') sampleMods.canary = { method: m.method, n: m.n };
    if (m.metric === 'ks' && m.details.feature === 'output_value') sampleMods.drift = { sample_k: m.details.sample_k, n_cur: m.n, n_ref: m.details.n_ref };
  }

  const result: SizeResult = {
    pairs,
    requests: size,
    parts: Number(counts?.parts),
    generateMs: gen.ms,
    rollUpMs: roll.ms + rollRequests.ms,
    rollUpRows: Number(rolled?.rows),
    breakdown,
    fullMs,
    emptyMs: 0,
    rawMs: raw.ms,
    rawBreakdown,
    metricRows: last.reduce((s, r) => s + r.metrics.length, 0),
    sampleMods,
  };
  if (python) await scipyRun(ch, start, result);
  else result.scipy = 'scipy not available';
  // The same statements over the near-empty day: what the set costs before reading any data
  // (planning and per-statement work), the part no data layout removes.
  result.emptyMs = Infinity;
  let nearEmpty: Report[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await timed(() => fullReport(ch, empty, true));
    result.emptyMs = Math.min(result.emptyMs, run.ms);
    nearEmpty = run.value;
  }
  const ns = nearEmpty.map((r) => `${r.candidate} n=${r.metrics.find((m) => m.metric === 'agreement_rate' && m.segment_key === '')?.n ?? '-'}`);
  console.log(`  full report set on a day of one pair per candidate (best of 5): ${seconds(result.emptyMs)} (${ns.join(', ')})`);
  return result;
}

async function scipyRun(ch: ClickHouse, start: number, result: SizeResult): Promise<void> {
  const dir = join(os.tmpdir(), `umbra-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const pairsFile = join(dir, 'pairs.bin');
    const requestsFile = join(dir, 'requests.bin');
    await exportRows(ch, pairsFile, sql('reports-export-pairs.sql'), { start: toDateTime64(start) });
    await exportRows(ch, requestsFile, sql('reports-export-requests.sql'), { start: toDateTime64(start) });
    const py = spawnSync('python3', [join(HERE, 'reports_scipy.py'), pairsFile, requestsFile, String(DAY / 4)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (py.status !== 0) {
      result.scipy = `scipy run failed: ${py.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
    } else {
      result.scipy = JSON.parse(py.stdout.trim().split('\n').slice(-1)[0] ?? '{}') as SizeResult['scipy'];
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const s = result.scipy;
  console.log(typeof s === 'string' ? `  ${s}` : `  scipy ${s?.scipy}: ${s?.total_s.toFixed(2)} s (pair reports ${s?.pair_reports_s.toFixed(2)} s, canary ${s?.canary_s.toFixed(2)} s; loading the rows ${s?.load_s.toFixed(2)} s not counted)`);
}

function markdown(results: SizeResult[], ch: ClickHouse): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const lines = [
    '# Report benchmark',
    '',
    `Recorded ${new Date().toISOString()} by \`npx tsx test/bench/reports.bench.ts\`.`,
    '',
    `- Node ${process.version}, ${ch.describe} (ClickHouse ${ch.version})`,
    `- CPU: ${cpu}, ${os.cpus().length} cores; load average at the end ${load} (1/5/15 min: the machine is shared, numbers are noisy)`,
    '',
    'What is timed: `runReport` (agreement, latency and drift for candidate `cand-a` and the A/A run `baseline-aa`, segments',
    '`region` × 4, `client` × 3, `input_class` × 2, window = one UTC day, reference window = its first 6 h) plus',
    '`runCanaryReport` (`region`, `client`) on as many request events as pairs; every metric and segment, as stored.',
    'Pairs are generated in SQL (`test/bench/reports-data.sql`) and read as inserted (FINAL merges the parts at read time).',
    '',
    '- **raw path**: `useRollups: false`, every report scans `shadow_pairs FINAL` (exact quantiles of a ≤ 1 M hash sample,',
    '  drift on a `hash % mod` sample): what the comparator does for a window with no rolled hours. One run.',
    '- **roll-up**: `rollUpPairs` and `rollUpRequests`, the scheduled work (24 hour rolls from `shadow_pairs FINAL` and',
    '  `request_events FINAL`, then the day rows merged from them), timed once; not part of a report.',
    '- **with roll-ups**: the same reports reading `pair_rollups` (one day row per candidate and combination of segment values',
    '  for the window, 6 × 24 hour rows for the reference window); min / median / max of 3, per report best of 3.',
    '  The canary report reads `request_rollups` (one day row per arm and combination of segment values): Mann-Whitney and',
    '  quantiles from 1e-3 log-bucket histograms of every ok request instead of a ≤ 200 k hash sample.',
    '- **near-empty window**: the same full set over a day holding one pair per candidate and one request per arm (best',
    '  of 5): planning and per-statement work, the floor under the roll-up times that no data layout removes.',
    '- scipy computes the same statistics exactly on every row (`test/bench/reports_scipy.py`, data exported from the',
    '  engine; loading not counted).',
    '',
    '| pairs | raw path: full set | agreement | latency | drift | canary | roll-up (scheduled) | with roll-ups: full set, min / median / max | agreement | latency | drift | canary | near-empty window: full set | scipy | metric rows | quantiles / drift sample / canary |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const s = r.scipy;
    const scipy = typeof s === 'string' || s === undefined ? (s ?? '') : `${s.total_s.toFixed(2)} s`;
    const b = r.breakdown;
    const rb = r.rawBreakdown;
    lines.push(
      `| ${r.pairs.toLocaleString('en')} | ${seconds(r.rawMs)} | ${seconds(rb.agreement ?? 0)} | ${seconds(rb.latency ?? 0)} | ${seconds(rb.drift ?? 0)} | ${seconds(rb.canary ?? 0)} | ${seconds(r.rollUpMs)} (${r.rollUpRows} rows) | ${[...r.fullMs].sort((a, b) => a - b).map(seconds).join(' / ')} | ${seconds(b.agreement ?? 0)} | ${seconds(b.latency ?? 0)} | ${seconds(b.drift ?? 0)} | ${seconds(b.canary ?? 0)} | ${seconds(r.emptyMs)} | ${scipy} | ${r.metricRows} | ${JSON.stringify(r.sampleMods).replace(/\|/g, '/')} |`,
    );
  }
  const versions = results.map((r) => r.scipy).find((s) => typeof s === 'object');
  if (versions && typeof versions === 'object') lines.push('', `scipy ${versions.scipy}, numpy ${versions.numpy}.`);
  lines.push('', 'Generation (not part of the report time): ' + results.map((r) => `${r.pairs.toLocaleString('en')} pairs in ${seconds(r.generateMs)}`).join(', ') + '.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const python = withScipy && scipyAvailable();
  if (!python) console.log('scipy not available: timing umbra only');
  const ch = await createClickHouse({ dataDir: ':memory:' });
  try {
    await migrate(ch);
    console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, ${ch.describe}`);
    const results: SizeResult[] = [];
    for (const size of sizes) results.push(await benchSize(ch, size, python));
    const out = join(HERE, 'results', 'reports.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, markdown(results, ch));
    console.log(`\nwrote ${out}`);
  } finally {
    await ch.close();
  }
}

await main();
