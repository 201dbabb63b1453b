/**
 * The promoter as a service: rollouts start from a spec, the leader evaluates each one every
 * `spec.interval` on evidence from ClickHouse, and every decision goes to the audit trail
 * (promotion_decisions), then into the rollout's state (rollout_state), then onto the decisions
 * topic as an Avro PromotionDecision. All state lives in ClickHouse: a restarted promoter, or a
 * new leader, continues each rollout where the last write left it.
 *
 * Order of writes in an evaluation, and why:
 *   1. audit row: a state never moves without a trail entry saying why;
 *   2. state, only if its version is still the one read (an abort or another writer wins);
 *   3. message: published once the state says so; a failed publish is retried on the next tick,
 *      so consumers get each decision at least once (dedupe by decision_id).
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { isUmbraError, UmbraError, type Logger, type Registry } from '@umbra/core';
import {
  encodePromotionDecision,
  type EncodeOptions,
  type PromotionDecisionMessage,
} from '@umbra/core/avro';
import type { ClickHouse } from '@umbra/core/clickhouse';
import type { BusProducer, KafkaBus } from '@umbra/core/kafka';
import {
  abort as abortState,
  applyDecision,
  evaluate as evaluateRollout,
  initialState,
  isTerminal,
  parseRolloutSpec,
  rolloutPlan,
  specHash,
  type LiveTrafficHolder,
  type RolloutSpec,
  type RolloutState,
} from './domain/index.ts';
import { loadEvidence, servedModelName, type EvidenceOptions } from './evidence.ts';
import {
  kafkaLeadership,
  soleLeadership,
  type Leadership,
  type LeadershipChange,
} from './leader.ts';
import { createPromoterMetrics, type PromoterMetrics } from './metrics.ts';
import {
  createRolloutStore,
  grantEntry,
  newDecisionId,
  type DecisionRecord,
  type RecordedDecision,
  type RolloutStore,
  type StoredRollout,
} from './store.ts';

export const DEFAULT_DECISIONS_TOPIC = 'umbra.decisions';
/** How often the leader looks for rollouts whose interval has elapsed. */
export const DEFAULT_TICK_MS = 1_000;

export interface PromoterOptions {
  ch: ClickHouse;
  logger: Logger;
  /** Leadership (consumer group) and the decisions topic. Without it this promoter is the sole leader and publishes nothing. */
  bus?: KafkaBus;
  /** Default `umbra.decisions`. */
  decisionsTopic?: string;
  registry?: Registry;
  /** Leader election settings; `false` makes this promoter the sole leader even with a bus. */
  leadership?:
    | { topic?: string; groupId?: string; sessionTimeoutMs?: number; heartbeatIntervalMs?: number }
    | false;
  /** Recorded as decided_by. Default `<host>/<pid>`. */
  instanceId?: string;
  /** Epoch ms; tests pass their own clock. */
  clock?: () => number;
  evidence?: EvidenceOptions;
  tickMs?: number;
  /** Avro framing of published decisions; default raw Avro with the schema header. */
  encode?: EncodeOptions;
}

/** A rollout as `status` shows it. */
export interface RolloutStatus {
  rollout: string;
  state: RolloutState;
  spec: Readonly<RolloutSpec>;
  specYaml: string;
  version: number;
  lastDecision: RecordedDecision | null;
  updatedBy: string;
  updatedAt: number;
  /** When the leader evaluates next; null once the rollout is finished. */
  nextEvaluationAt: number | null;
}

export interface PromoterEvents {
  decision: { decision: RecordedDecision; state: RolloutState };
  leadership: LeadershipChange;
  /** An evaluation or a publish failed; the loop goes on. */
  failure: { rollout: string; stage: 'evaluate' | 'publish'; error: unknown };
}

export interface Promoter {
  /**
   * Starts a rollout from its spec (YAML text or the parsed object). Starting the same spec again
   * is a no-op that returns the running rollout; a different spec under a running rollout's name
   * is refused (abort it first). A finished rollout may be started again.
   */
  start(spec: string | Record<string, unknown>, opts?: { source?: string }): Promise<RolloutStatus>;
  /** Evaluates now and applies the decision; leader only. */
  evaluate(rollout: string): Promise<RecordedDecision>;
  status(rollout: string): Promise<RolloutStatus | null>;
  /** Every rollout, unfinished ones only with `activeOnly`. */
  list(opts?: { activeOnly?: boolean }): Promise<RolloutStatus[]>;
  /** The latest decisions of a rollout from the audit trail, newest first. */
  history(rollout: string, limit?: number): Promise<DecisionRecord[]>;
  /** Stops a rollout by hand (weight 0, 'aborted'); works on any promoter, leader or not. */
  abort(rollout: string, reason: string): Promise<RecordedDecision>;
  /**
   * Records a one-time grant for the rollout's current step (e.g. Flagger's traffic increase);
   * true when this call granted it, false when it was granted before.
   */
  grantOnce(rollout: string, gate: string): Promise<{ granted: boolean; status: RolloutStatus }>;
  /**
   * Joins the leader group and, unless `schedule` is false, evaluates due rollouts while leading
   * (false: a one-off command that only needs to know whether it may act).
   */
  run(opts?: { schedule?: boolean }): Promise<void>;
  /** Stops the loop, waits for the evaluation in progress, leaves the group, disconnects. */
  close(): Promise<void>;
  isLeader(): boolean;
  readonly instanceId: string;
  on<E extends keyof PromoterEvents>(
    event: E,
    listener: (payload: PromoterEvents[E]) => void,
  ): () => void;
}

/** Parses a spec from YAML text; YAML and field errors are CONFIG_INVALID naming the source. */
export function parseSpecText(text: string, source = 'rollout spec'): Readonly<RolloutSpec> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new UmbraError(
      'CONFIG_INVALID',
      `${source}: not valid YAML (${(cause as Error).message.split('\n')[0]})`,
      { cause, context: { source } },
    );
  }
  return parseRolloutSpec(raw ?? {}, source);
}

/** The decision as the PromotionDecision Avro record. */
export function toDecisionMessage(
  d: RecordedDecision,
  spec: Pick<RolloutSpec, 'experiment' | 'candidate' | 'baseline'>,
  strategy: string,
): PromotionDecisionMessage {
  const finite = (x: number | null): number | null =>
    typeof x === 'number' && Number.isFinite(x) ? x : null;
  return {
    decisionId: d.decisionId,
    rollout: d.rollout,
    experiment: spec.experiment,
    candidate: spec.candidate,
    baseline: spec.baseline,
    strategy,
    phase: d.phase,
    step: d.step,
    weight: d.weight,
    decision: d.decision,
    nextStep: d.nextStep,
    nextWeight: d.nextWeight,
    reasons: d.reasons.map((r) => ({
      gate: r.gate,
      metric: r.metric,
      segment: r.segment ? `${r.segment.key}=${r.segment.value}` : '',
      value: finite(r.value),
      lower: finite(r.lower),
      upper: finite(r.upper),
      pValue: finite(r.pValue),
      n: Math.max(0, Math.round(r.n)),
      threshold: r.threshold,
      op: r.op,
      outcome: r.outcome,
      method: r.method,
      query: r.query,
      windowFrom: Math.round(r.window.from),
      windowTo: Math.round(Math.max(r.window.from, r.window.to)),
    })),
    specHash: d.specHash,
    decidedBy: d.decidedBy,
    decidedAt: Math.round(d.evaluatedAt),
  };
}

function strategyOf(spec: RolloutSpec): RolloutState['strategy'] {
  return 'canary' in spec.strategy ? 'canary' : 'blue-green';
}

export function createPromoter(opts: PromoterOptions): Promoter {
  const log = opts.logger.child({ component: 'promoter' });
  const store: RolloutStore = createRolloutStore(opts.ch);
  const clock = opts.clock ?? Date.now;
  const instanceId = opts.instanceId ?? `${hostname()}/${process.pid}`;
  const topic = opts.decisionsTopic ?? DEFAULT_DECISIONS_TOPIC;
  const tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
  const metrics: PromoterMetrics | null = opts.registry
    ? createPromoterMetrics(opts.registry)
    : null;
  const events = new EventEmitter();
  const leadership: Leadership =
    opts.bus && opts.leadership !== false
      ? kafkaLeadership({ bus: opts.bus, logger: log, ...(opts.leadership ?? {}) })
      : soleLeadership();
  metrics?.leader.set(leadership.isLeader() ? 1 : 0);

  // One operation per rollout at a time in this process: the loop, evaluate() and abort().
  const locks = new Map<string, Promise<unknown>>();
  const serial = <T>(rollout: string, fn: () => Promise<T>): Promise<T> => {
    const previous = locks.get(rollout) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    locks.set(rollout, settled);
    void settled.then(() => {
      if (locks.get(rollout) === settled) locks.delete(rollout);
    });
    return run;
  };

  // Decisions stored but not yet on the topic, oldest first; retried every tick.
  const outbox: PromotionDecisionMessage[] = [];
  let producer: BusProducer | null = null;
  let topicReady = false;

  const publish = async (message: PromotionDecisionMessage): Promise<void> => {
    if (!opts.bus) return;
    if (!producer) {
      const p = opts.bus.producer();
      await p.connect();
      producer = p;
    }
    if (!topicReady) {
      await opts.bus.ensureTopics([{ topic, partitions: 3 }]);
      topicReady = true;
    }
    const encoded = encodePromotionDecision(message, opts.encode ?? { format: 'raw' });
    await producer.send(topic, [
      { key: message.rollout, value: encoded.value, headers: encoded.headers },
    ]);
  };

  // One flush at a time: the loop and a decision may both flush, and each message goes out once.
  let flushing: Promise<void> | null = null;
  const flushOutbox = async (): Promise<void> => {
    while (flushing) await flushing;
    if (outbox.length === 0) return;
    flushing = drain().finally(() => {
      flushing = null;
    });
    await flushing;
  };
  const drain = async (): Promise<void> => {
    while (outbox.length > 0) {
      const next = outbox[0] as PromotionDecisionMessage;
      try {
        await publish(next);
        outbox.shift();
      } catch (error) {
        metrics?.publishFailures.inc();
        log.warn(
          {
            err: error,
            rollout: next.rollout,
            decisionId: next.decisionId,
            pending: outbox.length,
          },
          'decision not published yet; retrying on the next tick',
        );
        events.emit('failure', { rollout: next.rollout, stage: 'publish', error });
        return;
      }
    }
  };

  const specCache = new Map<string, Readonly<RolloutSpec>>();
  const specOf = (stored: StoredRollout): Readonly<RolloutSpec> => {
    const key = `${stored.state.rollout}\u0000${stored.state.specHash}`;
    let spec = specCache.get(key);
    if (!spec) {
      spec = parseSpecText(stored.specYaml, `rollout_state ${stored.state.rollout}`);
      specCache.set(key, spec);
    }
    return spec;
  };

  const statusOf = (stored: StoredRollout): RolloutStatus => {
    const spec = specOf(stored);
    return {
      rollout: stored.state.rollout,
      state: stored.state,
      spec,
      specYaml: stored.specYaml,
      version: stored.version,
      lastDecision: stored.lastDecision,
      updatedBy: stored.updatedBy,
      updatedAt: stored.updatedAt,
      nextEvaluationAt: isTerminal(stored.state.phase)
        ? null
        : stored.state.updatedAt + spec.interval,
    };
  };

  const mustGet = async (rollout: string): Promise<StoredRollout> => {
    const stored = await store.get(rollout);
    if (!stored)
      throw new UmbraError(
        'NOT_FOUND',
        `no rollout named ${JSON.stringify(rollout)}; start it with umbra rollout start --spec FILE`,
        { context: { rollout } },
      );
    return stored;
  };

  const record = async (
    stored: StoredRollout,
    spec: Readonly<RolloutSpec>,
    decision: RecordedDecision,
    next: RolloutState,
    nextVersion: number,
    requireLead: boolean,
  ): Promise<void> => {
    const strategy = strategyOf(spec);
    // Checked before the audit row too, so a superseded evaluation leaves no trail entry.
    await store.checkVersion(stored.state.rollout, stored.version);
    if (requireLead && !leadership.isLeader()) {
      throw new UmbraError(
        'STORE_CONFLICT',
        `leadership moved during the evaluation of ${decision.rollout}; nothing was written`,
        { retriable: true, context: { rollout: decision.rollout } },
      );
    }
    await store.appendDecision(decision, {
      experiment: spec.experiment,
      candidate: spec.candidate,
      baseline: spec.baseline,
      strategy,
    });
    await store.put(
      {
        state: next,
        specYaml: stored.specYaml,
        lastDecision: decision,
        experiment: spec.experiment,
      },
      stored.version,
      nextVersion,
      instanceId,
    );
    metrics?.decisions.inc({ rollout: decision.rollout, decision: decision.decision });
    metrics?.weight.set({ rollout: decision.rollout }, next.weight);
    log.info(
      {
        rollout: decision.rollout,
        decision: decision.decision,
        phase: decision.phase,
        step: decision.step,
        nextPhase: decision.nextPhase,
        nextWeight: decision.nextWeight,
        decisionId: decision.decisionId,
      },
      decision.summary,
    );
    events.emit('decision', { decision, state: next });
    outbox.push(toDecisionMessage(decision, spec, strategy));
    await flushOutbox();
  };

  /** `onlyIfDue`: the loop's call, skipped (null) when an evaluation happened since it listed the rollout. */
  /** Another active rollout of the same served model that takes live traffic, if any. */
  async function liveTrafficHolder(state: RolloutState): Promise<LiveTrafficHolder | undefined> {
    const model = servedModelName(state.baseline);
    const other = (await store.list({ activeOnly: true })).find(
      (r) =>
        r.state.rollout !== state.rollout &&
        r.state.weight > 0 &&
        servedModelName(r.state.baseline) === model,
    );
    if (!other) return undefined;
    const o = other.state;
    return { rollout: o.rollout, candidate: o.candidate, model, phase: o.phase, weight: o.weight };
  }

  async function evaluateNow(rollout: string, onlyIfDue: true): Promise<RecordedDecision | null>;
  async function evaluateNow(rollout: string): Promise<RecordedDecision>;
  async function evaluateNow(rollout: string, onlyIfDue = false): Promise<RecordedDecision | null> {
    const begin = process.hrtime.bigint();
    try {
      if (!leadership.isLeader()) {
        throw new UmbraError(
          'STORE_CONFLICT',
          `this promoter (${instanceId}) is not the leader of its group; the leader evaluates ${rollout} every interval (see umbra rollout status)`,
          {
            retriable: true,
            context: { rollout, memberId: leadership.memberId },
          },
        );
      }
      const stored = await mustGet(rollout);
      const spec = specOf(stored);
      const now = clock();
      if (
        onlyIfDue &&
        (isTerminal(stored.state.phase) || now < stored.state.updatedAt + spec.interval)
      )
        return null;
      const evidence = await loadEvidence(opts.ch, spec, stored.state, now, opts.evidence);
      if (stored.state.weight === 0) evidence.liveTrafficHeldBy = await liveTrafficHolder(stored.state);
      const decided = evaluateRollout(spec, stored.state, evidence, now);
      const next = applyDecision(spec, stored.state, decided);
      // Leadership may have moved while the evidence was read: then the new leader decides.
      if (!leadership.isLeader()) {
        throw new UmbraError(
          'STORE_CONFLICT',
          `leadership moved during the evaluation of ${rollout}; nothing was written`,
          { retriable: true, context: { rollout } },
        );
      }
      const decision: RecordedDecision = {
        ...decided,
        decisionId: newDecisionId(now, next.evaluations),
        decidedBy: instanceId,
      };
      await record(stored, spec, decision, next, stored.version + 1, true);
      return decision;
    } catch (error) {
      metrics?.evaluationFailures.inc({
        rollout,
        code: isUmbraError(error) ? error.code : 'INTERNAL',
      });
      throw error;
    } finally {
      metrics?.evaluationDuration.observe(Number(process.hrtime.bigint() - begin) / 1e9);
    }
  }

  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;
  let closed = false;
  let running = false;
  // After a failed evaluation, wait one interval before trying that rollout again.
  const retryAt = new Map<string, number>();

  const tick = async (): Promise<void> => {
    await flushOutbox();
    if (!leadership.isLeader()) return;
    let active: StoredRollout[];
    try {
      active = await store.list({ activeOnly: true });
    } catch (error) {
      log.warn({ err: error }, 'cannot list rollouts; retrying on the next tick');
      return;
    }
    for (const stored of active) {
      if (closed || !leadership.isLeader()) return;
      const rollout = stored.state.rollout;
      let spec: Readonly<RolloutSpec>;
      try {
        spec = specOf(stored);
      } catch (error) {
        log.error(
          { err: error, rollout },
          'stored spec does not parse; the rollout cannot be evaluated',
        );
        continue;
      }
      const now = clock();
      if (now < stored.state.updatedAt + spec.interval || now < (retryAt.get(rollout) ?? 0))
        continue;
      try {
        await serial(rollout, () => evaluateNow(rollout, true));
        retryAt.delete(rollout);
      } catch (error) {
        retryAt.set(rollout, now + spec.interval);
        log.warn(
          { err: error, rollout },
          `evaluation of ${rollout} failed; retrying in one interval`,
        );
        events.emit('failure', { rollout, stage: 'evaluate', error });
      }
    }
  };

  const schedule = (): void => {
    if (closed) return;
    timer = setTimeout(() => {
      ticking = tick().finally(() => {
        ticking = null;
        schedule();
      });
    }, tickMs);
  };

  leadership.onChange((change) => {
    metrics?.leader.set(change.leader ? 1 : 0);
    events.emit('leadership', change);
    if (change.leader) {
      // Nothing to rebuild in memory: the state is in ClickHouse. Say what this leader now owns.
      store.list({ activeOnly: true }).then(
        (active) =>
          log.info(
            { rollouts: active.map((s) => s.state.rollout) },
            `leading ${active.length} active rollout(s)`,
          ),
        (err: unknown) => log.warn({ err }, 'cannot list rollouts after becoming the leader'),
      );
    }
  });

  return {
    instanceId,
    async start(input, startOpts = {}) {
      const source = startOpts.source ?? 'rollout spec';
      const specYaml = typeof input === 'string' ? input : stringifyYaml(input);
      const spec =
        typeof input === 'string' ? parseSpecText(input, source) : parseRolloutSpec(input, source);
      return serial(spec.rollout, async () => {
        const existing = await store.get(spec.rollout);
        const hash = specHash(spec);
        if (existing && !isTerminal(existing.state.phase)) {
          if (existing.state.specHash === hash) return statusOf(existing);
          throw new UmbraError(
            'BAD_ARGUMENT',
            `rollout ${spec.rollout} is running (${existing.state.phase}, step ${existing.state.step}) under spec ${existing.state.specHash}, and this spec hashes to ${hash}; abort it first (umbra rollout abort --rollout ${spec.rollout}) or use another rollout name`,
            { context: { rollout: spec.rollout, running: existing.state.specHash, given: hash } },
          );
        }
        const state = initialState(spec, clock());
        await store.put(
          { state, specYaml, lastDecision: null, experiment: spec.experiment },
          existing?.version ?? 0,
          (existing?.version ?? 0) + 1,
          instanceId,
        );
        metrics?.weight.set({ rollout: spec.rollout }, state.weight);
        const plan = rolloutPlan(spec).map(
          (s) =>
            `${s.phase}${s.phase === 'canary' || s.phase === 'preview' ? ` ${s.weight} %` : ''}`,
        );
        log.info(
          { rollout: spec.rollout, specHash: hash, plan },
          `rollout ${spec.rollout} started: ${plan.join(' → ')} → done`,
        );
        return statusOf(await mustGet(spec.rollout));
      });
    },
    evaluate: (rollout) => serial(rollout, () => evaluateNow(rollout)),
    async status(rollout) {
      const stored = await store.get(rollout);
      return stored ? statusOf(stored) : null;
    },
    async list(listOpts = {}) {
      return (await store.list(listOpts)).map(statusOf);
    },
    history: (rollout, limit = 10) => store.history(rollout, limit),
    abort: (rollout, reason) =>
      serial(rollout, async () => {
        // An operator's abort must not lose to an evaluation finishing elsewhere: read again and retry.
        for (let attempt = 1; ; attempt++) {
          const stored = await mustGet(rollout);
          const spec = specOf(stored);
          const { state, decision } = abortState(stored.state, clock(), reason);
          const recorded: RecordedDecision = {
            ...decision,
            decisionId: newDecisionId(decision.evaluatedAt, state.evaluations),
            decidedBy: instanceId,
          };
          try {
            // Two versions ahead: an evaluation that read the same version and writes at the
            // same moment (+1) cannot outrank the abort.
            await record(stored, spec, recorded, state, stored.version + 2, false);
            return recorded;
          } catch (error) {
            if (!isUmbraError(error, 'STORE_CONFLICT') || attempt >= 3) throw error;
          }
        }
      }),
    async grantOnce(rollout, gate) {
      return serial(rollout, async () => {
        const stored = await mustGet(rollout);
        const entry = grantEntry(gate, stored.state);
        if (await store.hasGrant(rollout, entry))
          return { granted: false, status: statusOf(stored) };
        await store.putGrant(stored.state, entry, specOf(stored).experiment, instanceId, clock());
        log.info(
          {
            rollout,
            gate,
            phase: stored.state.phase,
            step: stored.state.step,
            weight: stored.state.weight,
          },
          `granted ${gate} for ${rollout} at ${stored.state.phase} step ${stored.state.step}`,
        );
        return { granted: true, status: statusOf(stored) };
      });
    },
    async run(runOpts = {}) {
      if (running || closed) return;
      running = true;
      await leadership.start();
      if (runOpts.schedule ?? true) schedule();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await ticking;
      await Promise.allSettled([...locks.values()]);
      await leadership.stop();
      if (producer)
        await producer
          .disconnect()
          .catch((err: unknown) => log.warn({ err }, 'producer disconnect failed'));
      if (outbox.length > 0)
        log.warn(
          { pending: outbox.map((m) => m.decisionId) },
          `${outbox.length} decision(s) stored but not published`,
        );
    },
    isLeader: () => leadership.isLeader(),
    on(event, listener) {
      events.on(event, listener as (p: unknown) => void);
      return () => events.off(event, listener as (p: unknown) => void);
    },
  };
}
