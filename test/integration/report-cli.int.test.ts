/**
 * `umbra report` as a user runs it: the real CLI in a child process on a chDB data directory
 * seeded by another child (chDB is one engine per process, so this process opens the engine
 * only at the end, once no child uses the directory).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows } from '../../services/core/src/clickhouse/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UMBRA = join(ROOT, 'services/cli/bin/umbra.js');
const SEED = join(ROOT, 'test/integration/report-fixtures.ts');
// The children run in a temp dir, where a bare `--import tsx` would not resolve.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const EXPERIMENT = 'report-cli-it';

let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, UMBRA_DATA_DIR: join(dir, 'db'), UMBRA_LOG_LEVEL: 'warn', ...extraEnv };
  // The report command needs no broker; make sure none is configured from the outside.
  delete env.KAFKA_BROKERS;
  delete env.CLICKHOUSE_URL;
  delete env.UMBRA_CONFIG;
  return new Promise((resolvePromise) => {
    // cwd is the temp dir, so no umbra.yaml of the repository is picked up.
    execFile(process.execPath, [...(file.endsWith('.ts') ? ['--import', TSX] : []), file, ...args], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const umbra = (...args: string[]) => run(UMBRA, args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-report-cli-'));
  const seeded = await run(SEED, [join(dir, 'db'), EXPERIMENT, String(Date.now())]);
  expect(seeded.stderr).toBe('');
  expect(seeded).toMatchObject({ code: 0, stdout: 'seeded 1900 pairs\n' });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface JsonDoc {
  experiment: string;
  window: { from: number; to: number };
  generatedAt: string;
  candidates: Array<{
    candidate: string;
    role: string;
    verdict: { status: string; summary: string };
    metrics: Array<{
      report: string;
      metric: string;
      segment: { key: string; value: string } | null;
      value: number | null;
      n: number;
      interval: { lower: number; upper: number; level: number } | null;
      p: { raw: number | null; adjusted: number | null } | null;
      method: string;
    }>;
  }>;
}

describe('umbra report', () => {
  it('--format json prints one document whose every metric has value, n, interval or p, method and segment', async () => {
    const r = await umbra('report', '--experiment', EXPERIMENT, '--since', '2h', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as JsonDoc;
    expect(doc.experiment).toBe(EXPERIMENT);
    expect(doc.window.to - doc.window.from).toBe(2 * 3_600_000);
    expect(doc.candidates.map((c) => c.candidate).sort()).toEqual(['baseline', 'cand-close', 'cand-regressed']);
    expect(doc.candidates.find((c) => c.candidate === 'baseline')?.role).toBe('noise');
    let withEvidence = 0;
    for (const c of doc.candidates) {
      expect(c.metrics.length).toBeGreaterThan(0);
      for (const m of c.metrics) {
        expect(Object.keys(m)).toEqual(expect.arrayContaining(['value', 'n', 'interval', 'p', 'method', 'segment']));
        expect(typeof m.n).toBe('number');
        expect(m.method.length).toBeGreaterThan(0);
        if (m.interval) expect(m.interval.level).toBe(0.95);
        if (m.interval || m.p) withEvidence++;
      }
      // Segments default to the attribute keys present in the window.
      const keys = new Set(c.metrics.flatMap((m) => (m.segment ? [m.segment.key] : [])));
      expect([...keys].sort()).toEqual(['client', 'region']);
    }
    expect(withEvidence).toBeGreaterThan(0);

    const agreement = (candidate: string) => doc.candidates.find((c) => c.candidate === candidate)!.metrics.find((m) => m.metric === 'agreement_rate' && m.segment === null)!;
    expect(agreement('cand-close')).toMatchObject({ value: 999 / 1000, n: 1000, interval: { level: 0.95 } });
    expect(agreement('cand-regressed').value).toBeLessThan(0.95);
    expect(doc.candidates.find((c) => c.candidate === 'cand-regressed')!.verdict.status).toBe('worse');
  });

  it('--format table prints the verdict lines and the worst segments', async () => {
    const r = await umbra('report', '--experiment', EXPERIMENT, '--candidate', 'cand-regressed', '--from', new Date(Date.now() - 7_200_000).toISOString(), '--segments', 'region');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^experiment report-cli-it — window /);
    expect(r.stdout).toMatch(/■ cand-regressed\n {2}WORSE: agreement \d+\.\d\d % \[\d+\.\d\d, \d+\.\d\d\] n=600/);
    expect(r.stdout).not.toContain('■ cand-close');
    // apac is where the candidate flips labels: it heads the worst segments.
    const worst = r.stdout.slice(r.stdout.indexOf('worst segments'));
    expect(worst.split('\n')[3]).toMatch(/^\s+region=apac\s/);
  });

  it('--format html writes a file and prints its absolute path', async () => {
    const out = join(dir, 'out.html');
    const r = await umbra('report', '--experiment', EXPERIMENT, '--since', '2h', '--format', 'html', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${resolve(out)}\n`);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<!doctype html>');
    expect(html).toContain('data-candidate="cand-regressed"');

    const byDefault = await umbra('report', '--experiment', EXPERIMENT, '--since', '2h', '--format', 'html');
    expect(byDefault.code).toBe(0);
    const path = byDefault.stdout.trim();
    expect(path).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/umbra-report-${EXPERIMENT}-\\d{8}T\\d{6}Z\\.html$`));
    expect(existsSync(path)).toBe(true);
  });

  it('an unknown experiment fails with exit 1 and the list of known experiments', async () => {
    const r = await umbra('report', '--experiment', 'nope', '--format', 'json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`umbra: unknown experiment "nope"; known experiments: ${EXPERIMENT}\n`);
  });

  it('an unknown candidate fails with exit 1 and the candidates there are', async () => {
    const r = await umbra('report', '--experiment', EXPERIMENT, '--candidate', 'cand-nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`umbra: experiment "${EXPERIMENT}" has no candidate "cand-nope"; its candidates: baseline, cand-close, cand-regressed\n`);
  });

  it('bad arguments fail with exit 2 and a message naming the flag, before opening anything', async () => {
    const cases: Array<[string[], string]> = [
      [['--format', 'pdf'], 'umbra: --format: unknown format "pdf"; use one of table, json, html\n'],
      [['--from', '2025-11-27T10:00:00Z', '--to', '2025-11-27T09:00:00Z'], 'umbra: --from: 2025-11-27T10:00:00.000Z is not before --to 2025-11-27T09:00:00.000Z; the window must not be empty\n'],
      [['--since', 'an hour'], 'umbra: --since: "an hour" is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. 30m, 1h, 24h, 7d\n'],
      [['--from', 'yesterday'], 'umbra: --from: "yesterday" is not an ISO 8601 time; use e.g. 2025-11-27T09:00:00Z\n'],
    ];
    for (const [args, message] of cases) {
      const r = await umbra('report', '--experiment', EXPERIMENT, ...args);
      expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ args, code: 2, stderr: message, stdout: '' });
    }
    const missing = await umbra('report', '--format', 'json');
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'umbra: --experiment is required: the experiment to report on, e.g. umbra report --experiment NAME\n' });
  });

  // Last: this process opens the engine, so no child may use the directory after it.
  it('stored every reported metric in comparison_reports', async () => {
    const ch = await createClickHouse({ dataDir: join(dir, 'db') });
    try {
      const rows = await queryRows<{ runs: number; metrics: number; candidates: number }>(
        ch,
        `SELECT uniqExact(run_id) AS runs, count() AS metrics, uniqExact(candidate) AS candidates
         FROM comparison_reports WHERE experiment = {experiment:String}`,
        { experiment: EXPERIMENT },
      );
      // One run id per command that reported: json, table, html twice.
      expect(Number(rows[0]!.runs)).toBe(4);
      expect(Number(rows[0]!.candidates)).toBe(3);
      expect(Number(rows[0]!.metrics)).toBeGreaterThan(0);
    } finally {
      await ch.close();
    }
  });
});
