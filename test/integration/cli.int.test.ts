import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createClickHouse, queryRows } from '@umbra/core/clickhouse';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UMBRA = join(ROOT, 'services/cli/bin/umbra.js');
const MODELS = join(ROOT, 'services/replayer/src/demo/models.ts');
const run = promisify(execFile);

/** Runs the real CLI as a user would, in `cwd`, and returns its output and exit code. */
async function umbra(cwd: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [UMBRA, ...args], {
      cwd,
      env: { ...process.env, KAFKA_BROKERS: '', UMBRA_LOG_LEVEL: 'warn', ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('the umbra command, as a user types it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-cli-'));
  const env = { UMBRA_DATA_DIR: join(dir, 'db') };

  it('prints help', async () => {
    const r = await umbra(dir, ['--help']);
    expect(r.code).toBe(0);
    for (const command of ['migrate', 'replay', 'demo', 'generate', 'report', 'compare', 'rollout', 'route']) expect(r.stdout).toContain(command);
  });

  it('creates the tables, and a second migrate changes nothing and says so', async () => {
    const first = await umbra(dir, ['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('applied 001_shadow_pairs.sql');
    const second = await umbra(dir, ['migrate'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/up to date, nothing changed \(\d+ migrations already applied\)/);
    console.log(`umbra migrate, twice: "${first.stdout.trim().split('\n').pop()}" then "${second.stdout.trim()}"`);
  });

  it('refuses a broken config with one line naming the field, exit 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'clickhouse:\n  retentionDays: ninety\n');
    const r = await umbra(dir, ['--umbra-config', bad, 'migrate'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('clickhouse.retentionDays: expected number, received string');
  });

  it('refuses an experiment with an unknown key, naming it', async () => {
    const exp = join(dir, 'bad-experiment.yaml');
    writeFileSync(exp, `experiment: x\nbaseline: { model: m }\noutput: { task: classification, label: $.label }\ncandidates:\n  - { name: c, adapter: module, path: ${MODELS}, timeout: 5 }\n`);
    const r = await umbra(dir, ['replay', '--config', exp, '--file', 'nothing.ndjson'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('candidates[0].timeout: unknown key');
  });

  it('replays NDJSON and Avro capture files into shadow_pairs', async () => {
    const gen1 = await umbra(dir, ['generate', '--count', '400', '--seed', '1', '--out', 'a.ndjson']);
    const gen2 = await umbra(dir, ['generate', '--count', '300', '--seed', '2', '--out', 'b.avro', '--schema-version', '1']);
    expect(gen1.code, gen1.stderr).toBe(0);
    expect(gen2.code, gen2.stderr).toBe(0);
    writeFileSync(
      join(dir, 'experiment.yaml'),
      [
        'experiment: cli-capture',
        'baseline: { model: credit-risk }',
        'output: { task: classification, label: $.label, score: $.score }',
        'candidates:',
        `  - { name: close, adapter: module, path: ${MODELS}, export: closeCandidate, concurrency: 64 }`,
        'segments: [region]',
        '',
      ].join('\n'),
    );
    for (const file of ['a.ndjson', 'b.avro']) {
      const r = await umbra(dir, ['replay', '--config', 'experiment.yaml', '--file', file], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`replayed ${file === 'a.ndjson' ? 400 : 300} events from ${file.replace('.', '\\.')}`));
    }
    const ch = await createClickHouse({ dataDir: join(dir, 'db') });
    try {
      const rows = await queryRows<{ n: number; events: number }>(ch, `SELECT count() AS n, uniqExact(event_id) AS events FROM shadow_pairs FINAL WHERE experiment = 'cli-capture'`);
      expect(Number(rows[0]!.n)).toBe(700);
      expect(Number(rows[0]!.events)).toBe(700);
    } finally {
      await ch.close();
    }
  });

  it('runs the comparator once over the replayed pairs: rows stored, sealed hours rolled up', async () => {
    const r = await umbra(dir, ['compare', '--once', '--window', '24h'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cli-capture: 1 report\(s\), \d+ metric rows stored in [\d.]+ s$/m);
    const ch = await createClickHouse({ dataDir: join(dir, 'db') });
    try {
      const stored = await queryRows<{ n: number }>(ch, `SELECT count() AS n FROM comparison_reports WHERE experiment = 'cli-capture'`);
      expect(Number(stored[0]!.n)).toBeGreaterThan(0);
      // The generated events span the last hour, so at least one sealed hour exists to roll up.
      const rolled = await queryRows<{ n: number }>(ch, `SELECT count() AS n FROM pair_rollup_hours WHERE experiment = 'cli-capture'`);
      expect(Number(rolled[0]!.n)).toBeGreaterThan(0);
    } finally {
      await ch.close();
    }
    const bad = await umbra(dir, ['compare', '--once', '--every', 'soon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--every');
  });
});
