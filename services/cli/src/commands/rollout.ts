import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  createRegistry,
  serveMetrics,
  UmbraError,
  type Logger,
} from '@umbra/core';
import { migrate, type ClickHouse } from '@umbra/core/clickhouse';
import {
  createGateServer,
  createPromoter,
  parseSpecText,
  renderDecision,
  renderStatus,
  renderTable,
  type Promoter,
  type PromoterOptions,
  type RolloutStatus,
} from '@umbra/promoter';
import { openClickHouse, openKafka, startup, type GlobalOptions } from '../runtime.ts';

interface TargetOptions {
  spec?: string;
  rollout?: string;
}

/** The spec file's text, read once; unreadable files are CONFIG_NOT_FOUND (exit 2). */
export function readSpecFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new UmbraError(
      'CONFIG_NOT_FOUND',
      `${path}: cannot read the rollout spec (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause, context: { path } },
    );
  }
}

/** The rollout a command is about: --rollout NAME, or the `rollout` of --spec FILE. */
export function targetRollout(opts: TargetOptions, required = true): string | undefined {
  if (opts.spec !== undefined && opts.rollout !== undefined) {
    throw new UmbraError('BAD_ARGUMENT', 'give --spec or --rollout, not both', {
      context: { flag: '--rollout' },
    });
  }
  if (opts.rollout !== undefined) {
    const name = opts.rollout.trim();
    if (!name)
      throw new UmbraError('BAD_ARGUMENT', '--rollout must not be empty', {
        context: { flag: '--rollout' },
      });
    return name;
  }
  if (opts.spec !== undefined) return parseSpecText(readSpecFile(opts.spec), opts.spec).rollout;
  if (required)
    throw new UmbraError('BAD_ARGUMENT', 'name the rollout: --spec FILE or --rollout NAME', {
      context: { flag: '--rollout' },
    });
  return undefined;
}

/** Bearer tokens from a file: one per line, blank lines and # comments ignored. */
export function readTokens(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new UmbraError(
      'CONFIG_NOT_FOUND',
      `${path}: cannot read the gate token file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause, context: { path } },
    );
  }
  const tokens = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (tokens.length === 0)
    throw new UmbraError(
      'CONFIG_INVALID',
      `${path}: no token in the file (one bearer token per line)`,
      { context: { path } },
    );
  return tokens;
}

interface Session {
  ch: ClickHouse;
  promoter: Promoter;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Opens ClickHouse (migrated) and a promoter. `lead`: the command acts on rollouts, so with Kafka
 * configured it joins the leader group and acts only if it is given the lead.
 */
async function open(
  cmd: Command,
  opts: { lead: boolean; extra?: Partial<PromoterOptions>; started?: ReturnType<typeof startup> },
): Promise<Session> {
  const { config, logger } =
    opts.started ?? startup(cmd.optsWithGlobals<GlobalOptions>(), 'promoter');
  const ch = await openClickHouse(config, logger);
  try {
    await migrate(ch, { logger });
    const bus = openKafka(config, logger, 'promoter');
    const promoter = createPromoter({
      ch,
      logger,
      ...(bus ? { bus } : {}),
      decisionsTopic: config.kafka?.topics.decisions ?? 'umbra.decisions',
      // Reading and starting need no lead; only evaluate acts as a group member.
      ...(opts.lead ? {} : { leadership: false }),
      ...opts.extra,
    });
    return {
      ch,
      promoter,
      logger,
      async close() {
        await promoter.close();
        await ch.close();
      },
    };
  } catch (e) {
    await ch.close();
    throw e;
  }
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function listRollouts(all: RolloutStatus[]): string {
  if (all.length === 0) return 'no rollouts yet: umbra rollout start --spec rollout.yaml';
  return renderTable(
    ['rollout', 'phase', 'step', 'weight', 'last decision', 'candidate', 'baseline'],
    all.map((s) => [
      s.rollout,
      s.state.phase,
      String(s.state.step),
      `${s.state.weight} %`,
      s.lastDecision
        ? `${s.lastDecision.decision} (${new Date(s.lastDecision.evaluatedAt).toISOString()})`
        : '—',
      s.state.candidate,
      s.state.baseline,
    ]),
  );
}

export function registerRollout(program: Command): void {
  const rollout = program
    .command('rollout')
    .description(
      'move a candidate to production through gates: start, status, evaluate, abort, serve (loop + gate API for Flagger and Argo Rollouts)',
    );

  rollout
    .command('start')
    .description(
      'start a rollout from its spec (shadow first); starting the same spec again is a no-op',
    )
    .requiredOption(
      '--spec <rollout.yaml>',
      'the rollout spec: candidate, baseline, strategy, gates, evidence',
    )
    .action(async (opts: { spec: string }, cmd: Command) => {
      const text = readSpecFile(opts.spec);
      parseSpecText(text, opts.spec); // bad specs exit 2 before anything is opened
      const s = await open(cmd, { lead: false });
      try {
        const status = await s.promoter.start(text, { source: opts.spec });
        print(renderStatus(status, await s.promoter.history(status.rollout, 10)));
      } finally {
        await s.close();
      }
    });

  rollout
    .command('status')
    .description(
      'where a rollout is, its last decision and the evidence of every gate; without a rollout, list them all',
    )
    .option('--spec <rollout.yaml>', 'the rollout of this spec')
    .option('--rollout <name>', 'the rollout by name')
    .option('--history <n>', 'show this many past decisions', '10')
    .option('--format <format>', 'table | json', 'table')
    .action(async (opts: TargetOptions & { history: string; format: string }, cmd: Command) => {
      const name = targetRollout(opts, false);
      const limit = Number(opts.history);
      if (!Number.isInteger(limit) || limit < 0 || limit > 1000)
        throw new UmbraError(
          'BAD_ARGUMENT',
          `--history: a whole number in 0..1000, got ${JSON.stringify(opts.history)}`,
          { context: { flag: '--history' } },
        );
      if (opts.format !== 'table' && opts.format !== 'json')
        throw new UmbraError(
          'BAD_ARGUMENT',
          `--format: table or json, got ${JSON.stringify(opts.format)}`,
          { context: { flag: '--format' } },
        );
      const s = await open(cmd, { lead: false });
      try {
        if (name === undefined) {
          const all = await s.promoter.list();
          print(
            opts.format === 'json'
              ? JSON.stringify(
                  all.map(({ spec: _spec, specYaml: _yaml, ...rest }) => rest),
                  null,
                  2,
                )
              : listRollouts(all),
          );
          return;
        }
        const status = await s.promoter.status(name);
        if (!status)
          throw new UmbraError(
            'NOT_FOUND',
            `no rollout named ${JSON.stringify(name)}; umbra rollout status lists them`,
            { context: { rollout: name } },
          );
        const history = limit > 0 ? await s.promoter.history(name, limit) : [];
        if (opts.format === 'json') {
          const { spec: _spec, ...rest } = status;
          print(JSON.stringify({ ...rest, history }, null, 2));
        } else print(renderStatus(status, history));
      } finally {
        await s.close();
      }
    });

  rollout
    .command('evaluate')
    .description(
      'evaluate a rollout now and apply the decision (with Kafka configured: only if this process is given the lead)',
    )
    .option('--spec <rollout.yaml>', 'the rollout of this spec')
    .option('--rollout <name>', 'the rollout by name')
    .option('--wait-lead <seconds>', 'how long to wait for the leader group to answer', '30')
    .action(async (opts: TargetOptions & { waitLead: string }, cmd: Command) => {
      const name = targetRollout(opts) as string;
      const waitMs = Number(opts.waitLead) * 1000;
      if (!(waitMs > 0))
        throw new UmbraError(
          'BAD_ARGUMENT',
          `--wait-lead: seconds > 0, got ${JSON.stringify(opts.waitLead)}`,
          { context: { flag: '--wait-lead' } },
        );
      const s = await open(cmd, { lead: true });
      try {
        await s.promoter.run({ schedule: false }); // joins the group only: this command evaluates one rollout
        const lead = await (async () => {
          const deadline = Date.now() + waitMs;
          while (!s.promoter.isLeader() && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 200));
          return s.promoter.isLeader();
        })();
        if (!lead) {
          throw new UmbraError(
            'STORE_CONFLICT',
            `another promoter leads the umbra-promoter group and evaluates ${name} on its schedule; see umbra rollout status --rollout ${name}`,
            {
              context: { rollout: name },
            },
          );
        }
        const decision = await s.promoter.evaluate(name);
        print(renderDecision(decision));
      } finally {
        await s.close();
      }
    });

  rollout
    .command('abort')
    .description(
      'stop a rollout now: the candidate goes to 0 % (recorded as a rollback decision and published)',
    )
    .option('--spec <rollout.yaml>', 'the rollout of this spec')
    .option('--rollout <name>', 'the rollout by name')
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .action(async (opts: TargetOptions & { reason: string }, cmd: Command) => {
      const name = targetRollout(opts) as string;
      if (!opts.reason.trim())
        throw new UmbraError(
          'BAD_ARGUMENT',
          '--reason must not be empty: the audit trail says why',
          { context: { flag: '--reason' } },
        );
      const s = await open(cmd, { lead: false });
      try {
        const decision = await s.promoter.abort(name, opts.reason);
        print(renderDecision(decision));
      } finally {
        await s.close();
      }
    });

  rollout
    .command('serve')
    .description(
      'run the promoter: evaluate every rollout on its interval while leading, and serve the gate API for Flagger and Argo Rollouts',
    )
    .option('--gate-port <port>', 'gate API port', '8480')
    .option('--gate-host <host>', 'gate API address', '127.0.0.1')
    .option(
      '--token-file <file>',
      'bearer tokens the gate API accepts, one per line (required unless --no-gate)',
    )
    .option('--no-gate', 'run the evaluation loop only')
    .action(
      async (
        opts: { gatePort: string; gateHost: string; tokenFile?: string; gate: boolean },
        cmd: Command,
      ) => {
        const port = Number(opts.gatePort);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UmbraError(
            'BAD_ARGUMENT',
            `--gate-port: 0..65535, got ${JSON.stringify(opts.gatePort)}`,
            { context: { flag: '--gate-port' } },
          );
        if (opts.gate && !opts.tokenFile)
          throw new UmbraError(
            'BAD_ARGUMENT',
            '--token-file is required for the gate API (or pass --no-gate)',
            { context: { flag: '--token-file' } },
          );
        const tokens = opts.gate && opts.tokenFile ? readTokens(opts.tokenFile) : [];
        const started = startup(cmd.optsWithGlobals<GlobalOptions>(), 'promoter');
        const { config } = started;
        const registry = createRegistry('promoter');
        const s = await open(cmd, { lead: true, extra: { registry }, started });
        const metricsServer =
          config.metrics.port !== undefined
            ? await serveMetrics(registry, {
                port: config.metrics.port,
                host: config.metrics.host,
                health: () => ({ ok: true, detail: { leader: s.promoter.isLeader() } }),
              })
            : null;
        const gate = opts.gate
          ? await createGateServer({
              source: s.promoter,
              tokens,
              logger: s.logger,
              registry,
              host: opts.gateHost,
              port,
            })
          : null;
        await s.promoter.run();
        s.logger.info(
          {
            gate: gate?.url,
            metrics: metricsServer?.url,
            kafka: config.kafka ? 'leader election on' : 'no Kafka: sole leader',
          },
          'promoter serving; SIGTERM or Ctrl-C stops',
        );
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        s.logger.info('stopping: finishing the evaluation in hand, leaving the leader group');
        await gate?.close();
        await s.close();
        await metricsServer?.close();
      },
    );
}
