/**
 * A real Apache Kafka broker on loopback, without Docker: the jars come from Maven Central
 * through `mvn` (cached per version), the broker runs in KRaft combined mode in a fresh temp
 * dir on free ports. See shared/KAFKA-LOCAL.md for the facts this relies on.
 *
 * Module: `resolveKafka()`, `startKafka()`. CLI (`npm run kafka`):
 *   npm run kafka                       start, print KAFKA_BROKERS=..., run until SIGINT/SIGTERM
 *   npm run kafka -- --resolve-only     only fetch and cache the jars, print their directory
 *   npm run kafka -- --version 4.1.1    another Kafka version (also env KAFKA_VERSION)
 * A script stopping it signals the pid printed on stderr (or the process group): npm does not
 * pass a SIGTERM sent to npm itself on to the script.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { UmbraError } from '@umbra/core';
import { createKafka } from '@umbra/core/kafka';

export const DEFAULT_KAFKA_VERSION = '3.9.1';
const SLF4J_VERSION = '1.7.36';
const LOG4J2_VERSION = '2.24.3';
const DEPENDENCY_PLUGIN =
  'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies';
const START_DEADLINE_MS = 90_000;
const STOP_GRACE_MS = 20_000;
const RESOLVE_LOCK_WAIT_MS = 15 * 60_000;

export interface ResolvedKafka {
  version: string;
  /** The JVM classpath: every jar in `libsDir`, as Java's `dir/*` wildcard. */
  classpath: string;
  /** The cached directory holding those jars. */
  libsDir: string;
  /** True when this call ran Maven (first run for this version on this machine). */
  downloaded: boolean;
  resolveMs: number;
}

export interface LocalKafka {
  /** `127.0.0.1:<port>`, ready for KAFKA_BROKERS. */
  brokers: string;
  /** The broker's config and data (removed at stop unless started with `keepDir`). */
  dir: string;
  version: string;
  pid: number;
  /** From the call to readiness, including any download. */
  coldStartMs: number;
  /** Whether this start downloaded the jars, and how long resolving them took. */
  downloaded: boolean;
  resolveMs: number;
  /** The broker's log4j output. */
  logFile: string;
  stop(): Promise<void>;
}

function major(version: string): number {
  const m = /^(\d+)\.\d+\.\d+/.exec(version);
  if (!m)
    throw new UmbraError('BAD_ARGUMENT', `Kafka version must look like 3.9.1, got "${version}"`);
  return Number(m[1]);
}

function pickVersion(version: string | undefined): string {
  const v = version ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  major(v);
  return v;
}

function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(
    xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'),
    'umbra',
    'kafka',
  );
}

function dependency(groupId: string, artifactId: string, version: string): string {
  return `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
}

/** A pom that only lists the broker and the logging backend its version needs. */
export function kafkaPom(version: string): string {
  const deps = [dependency('org.apache.kafka', 'kafka_2.13', version)];
  // The logging backend is compile-only upstream, so it is never pulled transitively.
  if (major(version) >= 4) {
    for (const a of ['log4j-api', 'log4j-core', 'log4j-slf4j-impl'])
      deps.push(dependency('org.apache.logging.log4j', a, LOG4J2_VERSION));
  } else {
    deps.push(dependency('org.slf4j', 'slf4j-reload4j', SLF4J_VERSION));
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.umbra.local</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencyManagement>
    <dependencies>
      <!-- Maven's nearest-wins could otherwise pick an slf4j-api the backend does not bind to. -->
${dependency('org.slf4j', 'slf4j-api', SLF4J_VERSION)}
    </dependencies>
  </dependencyManagement>
  <dependencies>
${deps.join('\n')}
  </dependencies>
</project>
`;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a tool to completion, keeping its combined output; a missing tool is a clear error. */
function runTool(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(
          new UmbraError(
            'KAFKA_UNAVAILABLE',
            `\`${cmd}\` not found: the local Kafka broker needs it; install Java 17 and Maven`,
            {
              context: { cmd },
              cause: err,
            },
          ),
        );
      } else reject(err);
    });
    child.on('close', (code, signal) =>
      resolve({ code, signal, output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function javaBin(): string {
  const home = process.env.JAVA_HOME;
  return home ? path.join(home, 'bin', 'java') : 'java';
}

async function requireJava17(): Promise<void> {
  const r = await runTool(javaBin(), ['-version']);
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.output);
  const feature = m ? Number(m[1] === '1' ? m[2] : m[1]) : NaN;
  if (r.code !== 0 || !(feature >= 17)) {
    throw new UmbraError(
      'KAFKA_UNAVAILABLE',
      `Kafka needs Java 17 or newer; \`${javaBin()} -version\` said: ${tail(r.output, 3)} (install Java 17 and Maven)`,
    );
  }
}

async function jarsIn(dir: string): Promise<string[] | null> {
  try {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.jar')).sort();
    return names.map((n) => path.join(dir, n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The libs dir only ever appears by rename after a good Maven run, so it is complete when present. */
async function cachedJars(libsDir: string, version: string): Promise<string[] | null> {
  const jars = await jarsIn(libsDir);
  if (jars === null) return null;
  if (!jars.some((j) => path.basename(j) === `kafka_2.13-${version}.jar`)) {
    throw new UmbraError(
      'KAFKA_UNAVAILABLE',
      `the cached Kafka jars in ${libsDir} are incomplete; delete that directory and retry`,
    );
  }
  return jars;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the per-version lock (a directory: mkdir is atomic) so concurrent first runs do not
 * race one another in Maven's local repository; a lock whose owner died is broken.
 */
async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RESOLVE_LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => 'NaN'));
    const age = await stat(lockDir).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    // A lock without a pid file is being written right now, unless it is old.
    if (
      (Number.isInteger(owner) && !pidAlive(owner)) ||
      (!Number.isInteger(owner) && age > 30_000)
    ) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new UmbraError(
        'KAFKA_UNAVAILABLE',
        `timed out waiting for ${lockDir}, held by pid ${owner}`,
      );
    await sleep(500);
  }
  await writeFile(path.join(lockDir, 'pid'), String(process.pid));
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** Resolves Apache Kafka's jars from Maven Central into a per-version cache; only the first run downloads. */
export async function resolveKafka(opts: { version?: string } = {}): Promise<ResolvedKafka> {
  const started = Date.now();
  const version = pickVersion(opts.version);
  const versionDir = path.join(cacheRoot(), version);
  const libsDir = path.join(versionDir, 'libs');
  // The wildcard keeps the broker's command line short enough to read in `ps`.
  const done = (downloaded: boolean): ResolvedKafka => ({
    version,
    classpath: path.join(libsDir, '*'),
    libsDir,
    downloaded,
    resolveMs: Date.now() - started,
  });

  const cached = await cachedJars(libsDir, version);
  if (cached) return done(false);

  await mkdir(versionDir, { recursive: true });
  return withLock(path.join(versionDir, '.lock'), async () => {
    const raced = await cachedJars(libsDir, version);
    if (raced) return done(false);

    // Build beside the final place and rename: readers never see a half-filled libs dir.
    const work = await mkdtemp(path.join(versionDir, '.build-'));
    try {
      await writeFile(path.join(work, 'pom.xml'), kafkaPom(version));
      const out = path.join(work, 'libs');
      const r = await runTool('mvn', [
        '-q',
        '-B',
        '-f',
        path.join(work, 'pom.xml'),
        DEPENDENCY_PLUGIN,
        '-DincludeScope=runtime',
        `-DoutputDirectory=${out}`,
      ]);
      if (r.code !== 0) {
        throw new UmbraError(
          'KAFKA_UNAVAILABLE',
          `mvn could not resolve org.apache.kafka:kafka_2.13:${version}:\n${tail(r.output)}`,
          {
            retriable: true,
            context: { version, exitCode: r.code },
          },
        );
      }
      await rename(out, libsDir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const jars = await cachedJars(libsDir, version);
    if (!jars) throw new UmbraError('KAFKA_UNAVAILABLE', `no jars in ${libsDir} after mvn`);
    return done(true);
  });
}

/** Free loopback ports, chosen by the OS; all held open together so they differ. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A KRaft cluster id: 16 random bytes, base64url, not starting with '-' (the CLI would read an option). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

function serverProperties(o: {
  version: string;
  port: number;
  controllerPort: number;
  dataDir: string;
}): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${o.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': o.dataDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'auto.create.topics.enable': true,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
  };
  if (major(o.version) >= 4) {
    props['share.coordinator.state.topic.replication.factor'] = 1;
    props['share.coordinator.state.topic.min.isr'] = 1;
  }
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Logging config and the JVM flag that selects it: log4j 1 (reload4j) before 4.0, log4j2 after. */
async function writeLogConfig(
  dir: string,
  name: string,
  version: string,
  logFile: string,
): Promise<string> {
  if (major(version) >= 4) {
    const file = path.join(dir, `${name}.log4j2.properties`);
    await writeFile(
      file,
      [
        'status = warn',
        'appender.file.type = File',
        'appender.file.name = file',
        `appender.file.fileName = ${logFile}`,
        'appender.file.layout.type = PatternLayout',
        'appender.file.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = info',
        'rootLogger.appenderRef.file.ref = file',
        '',
      ].join('\n'),
    );
    return `-Dlog4j2.configurationFile=${file}`;
  }
  const file = path.join(dir, `${name}.log4j.properties`);
  await writeFile(
    file,
    [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${logFile}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      '',
    ].join('\n'),
  );
  return `-Dlog4j.configuration=file:${file}`;
}

const JVM_FLAGS = [
  '-Xms128m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
];

async function readTail(file: string, lines = 40): Promise<string> {
  return tail(await readFile(file, 'utf8').catch(() => ''), lines);
}

/** Polls until the broker serves metadata and creates and deletes a topic, or fails. */
async function waitReady(
  brokers: string,
  child: ChildProcess,
  exited: () => boolean,
  deadline: number,
): Promise<void> {
  // One short attempt per poll: the loop is the retry, not kafkajs.
  const bus = createKafka({
    brokers: [brokers],
    clientId: 'umbra-local-kafka-probe',
    connectionTimeoutMs: 1_000,
    requestTimeoutMs: 10_000,
    retry: { retries: 0 },
  });
  const probe = `__umbra_probe_${child.pid ?? 0}_${randomBytes(4).toString('hex')}`;
  let last: unknown = null;
  while (Date.now() < deadline && !exited()) {
    const admin = bus.admin();
    try {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) {
        await admin.ensureTopics([{ topic: probe, partitions: 1 }]);
        await admin.deleteTopics([probe]);
        return;
      }
    } catch (err) {
      last = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(250);
  }
  if (exited()) throw new Error('exited');
  throw new UmbraError(
    'KAFKA_UNAVAILABLE',
    `Kafka at ${brokers} not ready within ${START_DEADLINE_MS / 1000} s: ${String(last)}`,
    { retriable: true, cause: last },
  );
}

interface LiveBroker {
  stop(): Promise<void>;
  /** For process 'exit', where only synchronous work runs. */
  killAndForget(): void;
}

/**
 * Brokers this process started and has not stopped. Best effort against orphaned JVMs: on
 * SIGINT/SIGTERM they are stopped, on 'exit' killed. When another listener (a CLI, a test
 * runner) handles the signal, it decides whether the process ends; alone, we keep the default
 * and end the process with the same signal once the brokers are down.
 */
const liveBrokers = new Set<LiveBroker>();

function onSignal(signal: NodeJS.Signals): void {
  const alone = process.listenerCount(signal) === 1;
  void Promise.allSettled([...liveBrokers].map((b) => b.stop())).finally(() => {
    if (alone) process.kill(process.pid, signal);
  });
}

function onExit(): void {
  for (const b of liveBrokers) b.killAndForget();
}

function track(b: LiveBroker): void {
  if (liveBrokers.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('exit', onExit);
  }
  liveBrokers.add(b);
}

function untrack(b: LiveBroker): void {
  if (!liveBrokers.delete(b) || liveBrokers.size > 0) return;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', onExit);
}

/** Starts a single-node KRaft broker on loopback; resolves once it serves clients. */
export async function startKafka(
  opts: {
    version?: string;
    logDir?: string;
    /**
     * Start again from the `dir` of a broker stopped with `keepDir`: same ports, same topics and
     * data (fault tests take the broker down and bring it back).
     */
    dir?: string;
    /** Leave the directory in place at stop(), for a later start with `dir`. */
    keepDir?: boolean;
  } = {},
): Promise<LocalKafka> {
  const started = Date.now();
  await requireJava17();
  const resolved = await resolveKafka(opts.version === undefined ? {} : { version: opts.version });
  const { version, classpath } = resolved;

  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'umbra-kafka-')));
  const logDir = opts.logDir ?? dir;
  await mkdir(logDir, { recursive: true });
  const logFile = path.join(logDir, 'server.log');
  const stdoutFile = path.join(logDir, 'stdout.log');
  const removeDir = (): Promise<void> =>
    opts.keepDir ? Promise.resolve() : rm(dir, { recursive: true, force: true });

  let child: ChildProcess;
  try {
    const propsFile = path.join(dir, 'server.properties');
    let port: number;
    if (opts.dir) {
      const props = await readFile(propsFile, 'utf8');
      const m = /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+),/m.exec(props);
      if (!m)
        throw new UmbraError(
          'BAD_ARGUMENT',
          `${propsFile}: no PLAINTEXT listener to start again on`,
        );
      port = Number(m[1]);
    } else {
      const [p, controllerPort] = (await freePorts(2)) as [number, number];
      port = p;
      await writeFile(
        propsFile,
        serverProperties({ version, port, controllerPort, dataDir: path.join(dir, 'data') }),
      );
    }
    // The format step logs apart, so a failed start shows the broker's own last lines.
    const formatLogFlag = await writeLogConfig(
      dir,
      'format',
      version,
      path.join(dir, 'format.log'),
    );
    const logFlag = await writeLogConfig(dir, 'broker', version, logFile);

    // A restarted broker keeps its formatted storage (and cluster id).
    const format = opts.dir
      ? { code: 0, output: '' }
      : await runTool(
          javaBin(),
          [
            ...JVM_FLAGS,
            formatLogFlag,
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            '-t',
            clusterId(),
            '-c',
            propsFile,
            '--ignore-formatted',
          ],
          { cwd: dir },
        );
    if (format.code !== 0) {
      throw new UmbraError(
        'KAFKA_UNAVAILABLE',
        `formatting Kafka ${version} storage failed:\n${tail(format.output)}`,
        { context: { version } },
      );
    }

    const brokers = `127.0.0.1:${port}`;
    // The readiness deadline counts from the broker's start, not from a first-run download.
    const spawnedAt = Date.now();
    const out = openSync(stdoutFile, 'a');
    try {
      // Not detached: a Ctrl-C in a terminal reaches the broker too.
      child = spawn(
        javaBin(),
        [
          ...JVM_FLAGS,
          logFlag,
          `-Dkafka.logs.dir=${logDir}`,
          '-cp',
          classpath,
          'kafka.Kafka',
          propsFile,
        ],
        {
          cwd: dir,
          stdio: ['ignore', out, out],
        },
      );
    } finally {
      closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined)
      throw new UmbraError('KAFKA_UNAVAILABLE', `could not start ${javaBin()}`);

    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const exitedPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        resolve();
      });
    });
    child.once('error', () => undefined);

    const killNow = (): void => {
      if (exitInfo === null) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    let stopping: Promise<void> | null = null;
    const live: LiveBroker = {
      stop: () => stop(),
      killAndForget: () => {
        killNow();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    track(live);
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        if (exitInfo === null) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
          // The grace timer is cancelled on exit: a pending timer would keep the parent alive.
          const grace = new AbortController();
          const graceful = await Promise.race([
            exitedPromise.then(() => true),
            sleep(STOP_GRACE_MS, false, { signal: grace.signal }).catch(() => false),
          ]);
          grace.abort();
          if (!graceful) {
            killNow();
            await exitedPromise;
          }
        }
        untrack(live);
        await removeDir();
      })());

    const exitedEarly = exitedPromise.then(() => {
      throw new Error('exited');
    });
    exitedEarly.catch(() => undefined); // the broker exits at stop() too, long after the race
    try {
      await Promise.race([
        waitReady(brokers, child, () => exitInfo !== null, spawnedAt + START_DEADLINE_MS),
        exitedEarly,
      ]);
    } catch (err) {
      const early = exitInfo as { code: number | null; signal: NodeJS.Signals | null } | null;
      const logs = `${await readTail(logFile)}\n${await readTail(stdoutFile, 20)}`.trim();
      await stop();
      if (early !== null) {
        throw new UmbraError(
          'KAFKA_UNAVAILABLE',
          `Kafka ${version} exited during start (code ${early.code}, signal ${early.signal}); log tail:\n${logs}`,
          { context: { version } },
        );
      }
      throw new UmbraError('KAFKA_UNAVAILABLE', `${(err as Error).message}; log tail:\n${logs}`, {
        retriable: true,
        context: { version },
        cause: err,
      });
    }

    return {
      brokers,
      version,
      dir,
      pid,
      coldStartMs: Date.now() - started,
      downloaded: resolved.downloaded,
      resolveMs: resolved.resolveMs,
      logFile,
      stop,
    };
  } catch (err) {
    await removeDir();
    throw err;
  }
}

function parseArgs(argv: string[]): { resolveOnly: boolean; version?: string } {
  const out: { resolveOnly: boolean; version?: string } = { resolveOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--resolve-only') out.resolveOnly = true;
    else if (a === '--version') {
      const v = argv[++i];
      if (v === undefined)
        throw new UmbraError('BAD_ARGUMENT', '--version needs a value, e.g. --version 3.9.1');
      out.version = v;
    } else if (a.startsWith('--version=')) out.version = a.slice('--version='.length);
    else
      throw new UmbraError(
        'BAD_ARGUMENT',
        `unknown argument ${a}; use --resolve-only and/or --version X`,
      );
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.resolveOnly) {
    const r = await resolveKafka(args.version === undefined ? {} : { version: args.version });
    process.stderr.write(
      `Apache Kafka ${r.version}: ${r.downloaded ? 'resolved' : 'cached'} in ${(r.resolveMs / 1000).toFixed(1)} s\n`,
    );
    process.stdout.write(`${r.libsDir}\n`);
    return;
  }
  const kafka = await startKafka(args.version === undefined ? {} : { version: args.version });
  process.stdout.write(`KAFKA_BROKERS=${kafka.brokers}\n`);
  process.stderr.write(
    `Apache Kafka ${kafka.version} (pid ${kafka.pid}) ready in ${(kafka.coldStartMs / 1000).toFixed(1)} s; logs: ${kafka.logFile}; stop with Ctrl-C or kill ${process.pid}\n`,
  );
  await new Promise<void>((resolve) => {
    const shutdown = (): void => {
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      resolve();
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  await kafka.stop();
  process.stderr.write('Kafka stopped\n');
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
