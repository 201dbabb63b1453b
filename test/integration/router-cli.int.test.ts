/**
 * `umbra route` as a user runs it, on the real broker: a router config file and a token file,
 * requests through the router land on the configured arms and as RequestEvents on the requests
 * topic, the admin endpoint wants the token, a decision on the decisions topic moves the weight,
 * SIGTERM stops it cleanly. A bad config fails at start naming the field, exit 2.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodePromotionDecision } from '@umbra/core/avro';
import type { BusConsumer } from '@umbra/core/kafka';
import { startBackend, type Backend } from '../../services/router/src/test-backends.ts';
import { readTopicEvents, testBus, uniqueName, waitFor } from '../support/kafka.ts';
import type {} from '../global-setup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UMBRA = join(ROOT, 'services/cli/bin/umbra.js');
const dir = mkdtempSync(join(tmpdir(), 'umbra-route-'));
const { bus } = testBus('umbra-router-cli-test');
const requests = uniqueName('umbra.test.route.requests');
const decisions = uniqueName('umbra.test.route.decisions');
const rollout = 'fraud-v2-canary';
const token = randomUUID();
const consumers: BusConsumer[] = [];
let stable: Backend;
let canary: Backend;
let child: ChildProcess | null = null;

const env = () => ({
  ...process.env,
  KAFKA_BROKERS: inject('kafkaBrokers'),
  UMBRA_LOG_LEVEL: 'warn',
});

beforeAll(async () => {
  stable = await startBackend('stable');
  canary = await startBackend('canary');
  writeFileSync(join(dir, 'tokens'), `# admin\n${token}\n`);
  writeFileSync(
    join(dir, 'umbra.yaml'),
    `kafka:\n  brokers: ["placeholder:9092"]\n  topics: { requests: ${requests}, decisions: ${decisions} }\n`,
  );
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  await stable.close();
  await canary.close();
  const admin = bus.admin();
  await admin.deleteTopics([requests, decisions]).catch(() => undefined);
  await admin.disconnect();
});

describe('umbra route', () => {
  it('refuses a bad config at start, naming the field, exit 2', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      `stable: { url: ${stable.url}, model: { name: fraud, version: '1' } }\ncanary: { url: not-a-url, model: { name: fraud, version: '2' } }\nweight: 120\n`,
    );
    const r = await promisify(execFile)(
      process.execPath,
      [UMBRA, 'route', '--config', join(dir, 'bad.yaml'), '--token-file', join(dir, 'tokens')],
      { cwd: dir, env: env() },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('canary.url: expected an http:// or https:// URL');
    expect(r.stderr).toContain('weight: ');
  });

  it('routes, taps to Kafka, guards the admin endpoint, follows decisions, stops on SIGTERM', async () => {
    writeFileSync(
      join(dir, 'router.yaml'),
      [
        'listen: { port: 0 }',
        'mode: canary',
        'weight: 0',
        `stable: { url: ${stable.url}, model: { name: fraud, version: '1' } }`,
        `canary: { url: ${canary.url}, model: { name: fraud, version: '2' } }`,
        'stickyKey: { header: x-user-id }',
        'attributeHeaders: { region: x-region }',
        `follow: { rollout: ${rollout} }`,
        'tap: { lingerMs: 5 }',
      ].join('\n'),
    );
    const proc = spawn(
      process.execPath,
      [
        UMBRA,
        '--umbra-config',
        join(dir, 'umbra.yaml'),
        'route',
        '--config',
        join(dir, 'router.yaml'),
        '--token-file',
        join(dir, 'tokens'),
      ],
      { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await waitFor(
      'the router to listen',
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`umbra route exited ${proc.exitCode}: ${stderr}`);
        return /umbra router on (http:\/\/\S+)/.exec(stdout)?.[1];
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );

    const send = async (i: number) => {
      const res = await request(`${url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': `u${i}`, 'x-region': 'eu' },
        body: JSON.stringify({ i }),
      });
      const body = (await res.body.json()) as { backend: string };
      expect(res.statusCode).toBe(200);
      return body.backend;
    };
    for (let i = 0; i < 20; i++) expect(await send(i)).toBe('stable');

    const noToken = await request(`${url}/_umbra/routing`);
    expect(noToken.statusCode).toBe(401);
    await noToken.body.dump();

    // The promoter's decision, as it publishes it: the router moves to 100 % canary.
    const { value, headers } = await encodePromotionDecision({
      decisionId: randomUUID(),
      rollout,
      experiment: 'fraud',
      candidate: 'fraud-v2',
      baseline: 'fraud@1',
      strategy: 'canary',
      phase: 'canary',
      step: 3,
      weight: 50,
      decision: 'promote',
      nextStep: 4,
      nextWeight: 100,
      reasons: [],
      specHash: 'h',
      decidedBy: 'test',
      decidedAt: Date.now(),
    });
    const producer = bus.producer();
    await producer.connect();
    await producer.send(decisions, [{ key: rollout, value, headers }]);
    await producer.disconnect();
    const routing = await waitFor(
      'the decision to be applied',
      async () => {
        const res = await request(`${url}/_umbra/routing`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const r = (await res.body.json()) as { weight: number; lastDecision: unknown };
        return r.weight === 100 ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(routing.lastDecision).toMatchObject({ decision: 'promote', nextWeight: 100 });
    for (let i = 20; i < 30; i++) expect(await send(i)).toBe('canary');

    const events = await readTopicEvents(bus, requests, 30, consumers);
    expect(events.filter((e) => e.arm === 'stable')).toHaveLength(20);
    expect(events.filter((e) => e.arm === 'canary')).toHaveLength(10);
    expect(events.every((e) => e.attributes.region === 'eu')).toBe(true);

    proc.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code, stderr).toBe(0);
  }, 180_000);
});
