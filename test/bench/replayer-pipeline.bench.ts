/**
 * The replayer's own path without Kafka: pre-generated events through `runIterable` with two
 * `module` candidates that answer at once, into a no-op writer or embedded chDB. For profiling
 * the hot path (`node --cpu-prof --import tsx test/bench/replayer-pipeline.bench.ts`); the
 * recorded numbers come from replayer.bench.ts on a real broker.
 *
 *   npx tsx test/bench/replayer-pipeline.bench.ts [--events 50000] [--rounds 3] [--store noop|chdb]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@umbra/core';
import { createClickHouse, migrate, type ClickHouse } from '@umbra/core/clickhouse';
import {
  createReplayerService,
  generateTraffic,
  parseExperimentConfig,
  runIterable,
} from '@umbra/replayer';

const HERE = dirname(fileURLToPath(import.meta.url));
const MODELS = join(HERE, 'replayer-models.ts');
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const EVENTS = Number(arg('--events') ?? 50_000);
const ROUNDS = Number(arg('--rounds') ?? 3);
const STORE = arg('--store') ?? 'noop';

const events = [...generateTraffic({ count: EVENTS, seed: 1 })];
const tmp = mkdtempSync(join(os.tmpdir(), 'umbra-bench-pipeline-'));
let ch: ClickHouse | null = null;
try {
  ch = await createClickHouse({ dataDir: join(tmp, 'db') });
  if (STORE === 'chdb') await migrate(ch);
  for (let round = 1; round <= ROUNDS; round++) {
    const service = await createReplayerService({
      experiment: parseExperimentConfig({
        experiment: `pipeline-${round}`,
        baseline: { model: 'credit-risk' },
        output: { task: 'classification', label: '$.label', score: '$.score' },
        candidates: [
          { name: 'fixed-a', adapter: 'module', path: MODELS, export: 'fixedCandidate' },
          { name: 'fixed-b', adapter: 'module', path: MODELS, export: 'fixedCandidate' },
        ],
      }),
      baseDir: HERE,
      ch,
      logger: silentLogger(),
      ...(STORE === 'noop' ? { writer: { async write() {} } } : {}),
    });
    let storeMs = 0;
    service.replayer.sink.on('flush', (f) => (storeMs += f.durationMs));
    const cpu = process.cpuUsage();
    const started = performance.now();
    await runIterable(service.replayer, events);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await service.close();
    const cpuS = (used.user + used.system) / 1e6;
    console.log(
      `round ${round} (${STORE}): ${EVENTS} events in ${seconds.toFixed(2)} s = ${Math.round(EVENTS / seconds)} events/s; ` +
        `CPU ${cpuS.toFixed(2)} s = ${((cpuS / EVENTS) * 1e6).toFixed(1)} µs/event; ${(storeMs / 1000).toFixed(2)} s in the writer`,
    );
  }
} finally {
  await ch?.close();
  rmSync(tmp, { recursive: true, force: true });
}
