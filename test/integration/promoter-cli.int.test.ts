/**
 * `umbra rollout` as an operator runs it: each command in its own child process on one chDB data
 * directory (one engine per process, so this process never opens it), with the real clock.
 * The commands are registered exactly as main.ts does, through registerRollout.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canarySpecYaml } from '../../services/promoter/src/test-fixtures.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROLLOUT = 'cli-it';
// By path: the children run in a temp directory, where the bare name 'tsx' resolves to nothing.
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const COMMANDER = pathToFileURL(
  createRequire(join(ROOT, 'services/cli/package.json')).resolve('commander'),
).href;

const CLI = `
import commander from ${JSON.stringify(COMMANDER)};
import { registerRollout } from ${JSON.stringify(join(ROOT, 'services/cli/src/commands/rollout.ts'))};
import { fail } from ${JSON.stringify(join(ROOT, 'services/cli/src/runtime.ts'))};
const program = new commander.Command().name('umbra').option('--umbra-config <file>').option('--log-level <level>');
registerRollout(program);
program.parseAsync(process.argv.slice(1), { from: 'user' }).catch(fail);
`;

// Seeds good pairs into the window of the rollout's current step (as a replayer would have).
const SEED = `
import { createClickHouse, queryRows } from ${JSON.stringify(join(ROOT, 'services/core/src/clickhouse/index.ts'))};
import { seedPairs } from ${JSON.stringify(join(ROOT, 'services/promoter/src/test-fixtures.ts'))};
const ch = await createClickHouse({ dataDir: process.env.UMBRA_DATA_DIR });
const [row] = await queryRows(ch, "SELECT JSONExtractInt(state, 'stepStartedAt') AS from_ms FROM rollout_state FINAL WHERE rollout = {r:String} AND entry = 'state'", { r: process.argv[1] });
const from = Number(row.from_ms) + 1;
await seedPairs(ch, { experiment: 'exp-cli', from, to: from + 200, count: 800, batch: 'cli-' + from });
await ch.close();
`;

let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(code: string, args: string[]): Promise<Run> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    UMBRA_DATA_DIR: join(dir, 'db'),
    UMBRA_LOG_LEVEL: 'warn',
  };
  // No broker: these commands run as the sole promoter.
  delete env.KAFKA_BROKERS;
  delete env.CLICKHOUSE_URL;
  delete env.UMBRA_CONFIG;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, '--input-type=module', '-e', code, ...args],
      { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

const umbra = (...args: string[]) => node(CLI, args);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-rollout-cli-'));
  // Short clocks so the real clock moves the rollout; the evidence decides, not the minutes.
  writeFileSync(
    join(dir, 'rollout.yaml'),
    canarySpecYaml({
      rollout: ROLLOUT,
      experiment: 'exp-cli',
      shadow: '1ms',
      bake: '1ms',
      interval: '1s',
      perSegment: true,
    }),
  );
  writeFileSync(
    join(dir, 'bad.yaml'),
    'rollout: x\nexperiment: e\ncandidate: c\nbaseline: b\nstrategy: {}\ngates: []\nwindow: 5m\n',
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('umbra rollout', () => {
  it('start prints the new rollout in shadow; a bad spec exits 2 naming the fields', async () => {
    const r = await umbra('rollout', 'start', '--spec', 'rollout.yaml');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `rollout    ${ROLLOUT}: fraud-v2 replaces fraud (canary, experiment exp-cli)`,
    );
    expect(r.stdout).toContain('phase      SHADOW, step 0, candidate weight 0 %');
    expect(r.stdout).toContain(
      'plan       [shadow] → canary 5 % → canary 25 % → canary 50 % → done',
    );
    expect(r.stdout).toContain('decision   none yet');

    const bad = await umbra('rollout', 'start', '--spec', 'bad.yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^umbra: bad\.yaml: .*window: unknown key/);
    expect(bad.stderr).toContain('gates: at least one gate');
  });

  it('evaluate decides on the evidence and prints the decision with every gate', async () => {
    const seeded = await node(SEED, [ROLLOUT]);
    expect(seeded).toMatchObject({ code: 0, stderr: '' });
    const r = await umbra('rollout', 'evaluate', '--spec', 'rollout.yaml');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^decision {3}PROMOTE at \S+ by \S+ \(id \S+\)$/m);
    expect(r.stdout).toContain('shadow → canary 5 %');
    expect(r.stdout).toMatch(
      /^gate\s+segment\s+value\s+interval\/p\s+n\s+threshold\s+outcome\s+reason$/m,
    );
    expect(r.stdout).toMatch(
      /^agreement\s+overall\s+0\.9950\s+\[\S+, \S+\]\s+800\s+>= 0\.9\s+pass\s+pass: /m,
    );
    expect(r.stdout).toMatch(
      /^agreement\s+region=eu\s+.*\s+400\s+>= 0\.9\s+pass\s+region=eu: pass: .*Bonferroni over 2 segments/m,
    );
    expect(r.stdout).toMatch(/^p99-latency\s+overall\s+1\.000\s+share \[/m);
  });

  it('status shows phase, step, weight, the last decision and its reasons as a table', async () => {
    const r = await umbra('rollout', 'status', '--rollout', ROLLOUT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('phase      CANARY 5 %, step 1, candidate weight 5 %');
    expect(r.stdout).toContain(
      'plan       shadow → [canary 5 %] → canary 25 % → canary 50 % → done',
    );
    expect(r.stdout).toMatch(/^decision {3}PROMOTE/m);
    expect(r.stdout).toMatch(/^errors\s+overall\s+0\s+\[0, \S+\]\s+800\s+<= 0\.05\s+pass/m);
    expect(r.stdout).toMatch(/^bake-time\s+overall/m);

    const json = await umbra('rollout', 'status', '--rollout', ROLLOUT, '--format', 'json');
    const doc = JSON.parse(json.stdout) as {
      state: { phase: string; step: number; weight: number };
      lastDecision: { decision: string; reasons: unknown[] };
      history: unknown[];
    };
    expect(doc.state).toMatchObject({ phase: 'canary', step: 1, weight: 5 });
    expect(doc.lastDecision.decision).toBe('promote');
    expect(doc.lastDecision.reasons.length).toBe(6);
    expect(doc.history).toHaveLength(1);
  });

  it('abort stops the rollout; status lists it aborted; unknown rollouts exit 1', async () => {
    const r = await umbra(
      'rollout',
      'abort',
      '--rollout',
      ROLLOUT,
      '--reason',
      'pager: p99 alarms in eu',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^decision {3}ROLLBACK/m);
    expect(r.stdout).toContain('canary 5 % → aborted');
    expect(r.stdout).toContain('method     operator abort (no statistical test)');
    expect(r.stdout).toContain('pager: p99 alarms in eu');

    const list = await umbra('rollout', 'status');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${ROLLOUT}\\s+aborted\\s+1\\s+0 %\\s+rollback`, 'm'));

    const again = await umbra('rollout', 'abort', '--rollout', ROLLOUT, '--reason', 'twice');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `umbra: rollout ${ROLLOUT} is already aborted; nothing to abort`,
    );

    const missing = await umbra('rollout', 'status', '--rollout', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'umbra: no rollout named "nope"; umbra rollout status lists them\n',
    );

    const both = await umbra('rollout', 'status', '--rollout', ROLLOUT, '--spec', 'rollout.yaml');
    expect(both.code).toBe(2);
  });

  it('serve runs the loop and the gate API until SIGTERM', async () => {
    writeFileSync(join(dir, 'gate-token'), '# gate API tokens\nserve-token-1\n');
    await umbra('rollout', 'start', '--spec', 'rollout.yaml'); // the aborted rollout starts over
    const port = await freePort();
    const env: Record<string, string | undefined> = {
      ...process.env,
      UMBRA_DATA_DIR: join(dir, 'db'),
      UMBRA_LOG_LEVEL: 'warn',
    };
    delete env.KAFKA_BROKERS;
    delete env.CLICKHOUSE_URL;
    delete env.UMBRA_CONFIG;
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        '--input-type=module',
        '-e',
        CLI,
        'rollout',
        'serve',
        '--token-file',
        'gate-token',
        '--gate-port',
        String(port),
      ],
      { cwd: dir, env },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const up = await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) break;
        if (Date.now() > deadline) throw new Error(`serve did not come up: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const verdict = await fetch(`${url}/argo/rollouts/${ROLLOUT}?weight=0`, {
        headers: { authorization: 'Bearer serve-token-1' },
      });
      expect(verdict.status).toBe(200);
      expect(await verdict.json()).toMatchObject({
        rollout: ROLLOUT,
        phase: 'shadow',
        promote: false,
        inconclusive: true,
      });
      expect((await fetch(`${url}/argo/rollouts/${ROLLOUT}`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});
