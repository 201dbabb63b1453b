/**
 * The comparator as a service: on a schedule (and on demand) it runs the report set of every
 * active experiment over a sliding window, stores the metrics in `comparison_reports`, and
 * publishes each report as an Avro ComparisonReport on the reports topic. `main` builds the
 * adapters and calls `createComparator`; tests call it directly.
 */
import { EventEmitter } from 'node:events';
import { Counter, Gauge, isUmbraError, UmbraError, type Logger, type Registry } from '@umbra/core';
import { encodeComparisonReport, type ComparisonReportMessage, type EncodeOptions } from '@umbra/core/avro';
import { queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import type { BusProducer } from '@umbra/core/kafka';
import { liveArms, rollUpPairs, rollUpRequests, runReport, storeReport, withLiveArms } from './reports/index.ts';
import type { Report } from './reports/types.ts';

export const DEFAULT_REPORTS_TOPIC = 'umbra.reports';
export const DEFAULT_WINDOW_MS = 3_600_000;
/** Segment keys a report slices by when none are given: the most common attribute keys, at most this many. */
export const DEFAULT_MAX_SEGMENT_KEYS = 8;
/** An attribute with more distinct values than this is an identifier, not a segment. */
export const DEFAULT_MAX_SEGMENT_VALUES = 100;

// Attribute keys present in the window, most frequent first. Keys with too many values (request
// ids, user ids) would make one segment per request, so they are left out.
const SEGMENT_KEYS_SQL = `
SELECT key, count() AS pairs, uniqExact(attributes[key]) AS segment_values
FROM shadow_pairs
ARRAY JOIN mapKeys(attributes) AS key
WHERE experiment = {experiment:String}
  AND event_time >= fromUnixTimestamp64Milli({from:Int64})
  AND event_time < fromUnixTimestamp64Milli({to:Int64})
GROUP BY key
HAVING segment_values <= {maxValues:UInt32}
ORDER BY pairs DESC, key
LIMIT {limit:UInt32}`;

/** The attribute keys of an experiment's pairs in [from, to), most frequent first, capped. */
export async function discoverSegmentKeys(
  ch: ClickHouse,
  q: { experiment: string; from: number; to: number; limit?: number; maxValues?: number },
): Promise<string[]> {
  const rows = await queryRows<{ key: string }>(ch, SEGMENT_KEYS_SQL, {
    experiment: q.experiment,
    from: Math.floor(q.from),
    to: Math.ceil(q.to),
    limit: q.limit ?? DEFAULT_MAX_SEGMENT_KEYS,
    maxValues: q.maxValues ?? DEFAULT_MAX_SEGMENT_VALUES,
  });
  return rows.map((r) => r.key);
}

/** A Report as the ComparisonReport record published on the reports topic. */
export function toComparisonReportMessage(report: Report): ComparisonReportMessage {
  return {
    runId: report.runId,
    experiment: report.experiment,
    candidate: report.candidate,
    windowFrom: report.window.from,
    windowTo: report.window.to,
    createdAt: report.createdAt,
    metrics: report.metrics.map((m) => ({
      report: m.report,
      metric: m.metric,
      segmentKey: m.segment_key,
      segmentValue: m.segment_value,
      // Avro doubles carry NaN, but consumers compare numbers: no data is null, as in the table.
      value: finiteOrNull(m.value),
      n: m.n,
      lower: finiteOrNull(m.lower),
      upper: finiteOrNull(m.upper),
      pValue: finiteOrNull(m.p_value),
      pAdjusted: finiteOrNull(m.p_adjusted),
      method: m.method,
      details: JSON.stringify(m.details ?? {}),
    })),
  };
}

function finiteOrNull(v: number | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export interface ComparatorDeps {
  ch: ClickHouse;
  logger: Logger;
  /** Where the last-run gauges and the failure counter go; none when omitted. */
  registry?: Registry;
  /** Publishes each report; without it reports are only stored. Connected on first use. */
  producer?: BusProducer;
  /** Default `umbra.reports`. */
  topic?: string;
  /** Raw Avro with the `umbra-schema` header by default; Confluent framing with a registry id. */
  encoding?: EncodeOptions;
  /** The active experiments: a fixed list, or asked for at every run (e.g. from `listExperiments`). */
  experiments: readonly string[] | (() => Promise<readonly string[]>);
  /** Time between scheduled runs. */
  intervalMs: number;
  /** The sliding window a run reports on, ending now. Default 1 h. */
  windowMs?: number;
  /** Segment keys; default: the attribute keys present in the window (see `discoverSegmentKeys`). */
  segmentKeys?: readonly string[];
  /**
   * Before each run, roll the experiment's sealed hours up (see reports/rollup.ts) by the run's
   * segment keys, so reports over whole hours merge stored states. Default on; `false` turns it
   * off. A failed roll-up is counted and logged (stage 'rollup'); the report still runs on raw pairs.
   */
  rollups?: false | { graceMs?: number; lookbackMs?: number };
  /** The clock; tests fix it. */
  now?: () => number;
}

export interface RunResult {
  experiment: string;
  reports: Report[];
  /** Metric rows written to comparison_reports. */
  metrics: number;
  durationMs: number;
}

export interface ComparatorEvents {
  run: RunResult;
  failure: { experiment: string; stage: 'rollup' | 'query' | 'store' | 'publish'; error: unknown };
}

export interface Comparator {
  /**
   * Runs the report set now, for one experiment or all active ones, after any run in progress.
   * With one experiment a failure rejects; with all, every experiment is tried and the first
   * failure rejects once they are done (the failures are also counted and logged).
   */
  runOnce(experiment?: string): Promise<Report[]>;
  /** Runs now and then every `intervalMs`; a tick that finds a run in progress is skipped. */
  start(): void;
  /** Stops the schedule, waits for the run in progress, disconnects a producer it connected. */
  stop(): Promise<void>;
  on<E extends keyof ComparatorEvents>(event: E, listener: (payload: ComparatorEvents[E]) => void): () => void;
}

function createComparatorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    lastRun: new Gauge({ name: 'umbra_comparator_last_run_timestamp_seconds', help: 'End of the last successful report run (Unix seconds)', labelNames: ['experiment'], registers }),
    lastDuration: new Gauge({ name: 'umbra_comparator_last_run_duration_seconds', help: 'Duration of the last successful report run', labelNames: ['experiment'], registers }),
    lastMetrics: new Gauge({ name: 'umbra_comparator_last_run_metrics', help: 'Metric rows written to comparison_reports by the last run', labelNames: ['experiment'], registers }),
    lastReports: new Gauge({ name: 'umbra_comparator_last_run_reports', help: 'Reports (candidates) in the last run', labelNames: ['experiment'], registers }),
    metricsWritten: new Counter({ name: 'umbra_comparator_metrics_written_total', help: 'Metric rows written to comparison_reports', labelNames: ['experiment'], registers }),
    reportsPublished: new Counter({ name: 'umbra_comparator_reports_published_total', help: 'ComparisonReport messages published', labelNames: ['experiment'], registers }),
    failures: new Counter({ name: 'umbra_comparator_failures_total', help: 'Report runs that failed, by stage', labelNames: ['experiment', 'stage'], registers }),
    skippedTicks: new Counter({ name: 'umbra_comparator_skipped_ticks_total', help: 'Scheduled runs skipped because the previous run was still going', registers }),
  };
}

class StageError extends Error {
  constructor(
    readonly stage: ComparatorEvents['failure']['stage'],
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

export function createComparator(deps: ComparatorDeps): Comparator {
  if (!Number.isFinite(deps.intervalMs) || deps.intervalMs <= 0) {
    throw new UmbraError('BAD_ARGUMENT', `comparator intervalMs must be a positive number of milliseconds, got ${deps.intervalMs}`);
  }
  const windowMs = deps.windowMs ?? DEFAULT_WINDOW_MS;
  if (!Number.isFinite(windowMs) || windowMs <= 0) {
    throw new UmbraError('BAD_ARGUMENT', `comparator windowMs must be a positive number of milliseconds, got ${windowMs}`);
  }
  const topic = deps.topic ?? DEFAULT_REPORTS_TOPIC;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'comparator' });
  const metrics = deps.registry ? createComparatorMetrics(deps.registry) : undefined;
  const events = new EventEmitter();

  let connecting: Promise<void> | null = null;
  const connected = (producer: BusProducer) =>
    (connecting ??= producer.connect().catch((err: unknown) => {
      connecting = null; // the next run tries again
      throw err;
    }));

  const emit = <E extends keyof ComparatorEvents>(event: E, payload: ComparatorEvents[E]) => events.emit(event, payload);

  async function runExperiment(experiment: string): Promise<Report[]> {
    const started = now();
    const to = started;
    const from = to - windowMs;
    let reports: Report[];
    try {
      const segmentKeys = deps.segmentKeys ? [...deps.segmentKeys] : await discoverSegmentKeys(deps.ch, { experiment, from, to });
      if (deps.rollups !== false) {
        try {
          const rolled = await rollUpPairs(deps.ch, { experiment, segmentKeys, now, ...deps.rollups });
          if (rolled.rolled.length > 0 || rolled.days.length > 0) {
            log.info({ experiment, hours: rolled.rolled.length, rerolled: rolled.rerolled.length, days: rolled.days.length, durationMs: rolled.durationMs }, 'rolled up sealed hours');
          }
        } catch (error) {
          // The raw pairs are still there: report from them, and say the roll-up failed.
          metrics?.failures.inc({ experiment, stage: 'rollup' });
          log.warn({ experiment, err: error }, 'roll-up failed; reporting from raw pairs');
          emit('failure', { experiment, stage: 'rollup', error });
        }
      }
      // The live arms of the experiment's model (canary or blue-green preview), when split; their
      // request roll-up first, then their report beside the pair reports.
      const arms = await liveArms(deps.ch, { experiment, from, to });
      if (arms && deps.rollups !== false) {
        try {
          await rollUpRequests(deps.ch, { model: arms.model, segmentKeys, now, ...deps.rollups });
        } catch (error) {
          metrics?.failures.inc({ experiment, stage: 'rollup' });
          log.warn({ experiment, model: arms.model, err: error }, 'request roll-up failed; the live arms report reads raw events');
          emit('failure', { experiment, stage: 'rollup', error });
        }
      }
      reports = await withLiveArms(deps.ch, runReport(deps.ch, { experiment, from, to, segmentKeys }), { experiment, from, to, segmentKeys, arms });
    } catch (error) {
      // A configured experiment whose replayer has not written a pair yet is not a failure.
      if (!isUmbraError(error, 'NOT_FOUND')) throw new StageError('query', error);
      log.info({ experiment }, 'no pairs for this experiment yet; nothing to report');
      reports = [];
    }
    let rows = 0;
    try {
      // storeReport skips a report already stored under its run id, so a retry writes nothing twice.
      for (const report of reports) rows += (await storeReport(deps.ch, report)).rows;
    } catch (error) {
      throw new StageError('store', error);
    }
    if (deps.producer && reports.length > 0) {
      try {
        await connected(deps.producer);
        const messages = reports.map((report) => {
          const encoded = encodeComparisonReport(toComparisonReportMessage(report), deps.encoding);
          // Keyed by experiment and candidate so one candidate's reports stay in order.
          return { key: `${report.experiment}/${report.candidate}`, value: encoded.value, headers: encoded.headers };
        });
        await deps.producer.send(topic, messages);
        metrics?.reportsPublished.inc({ experiment }, messages.length);
      } catch (error) {
        throw new StageError('publish', error);
      }
    }
    const durationMs = Math.max(0, now() - started);
    if (metrics) {
      metrics.lastRun.set({ experiment }, now() / 1000);
      metrics.lastDuration.set({ experiment }, durationMs / 1000);
      metrics.lastMetrics.set({ experiment }, rows);
      metrics.lastReports.set({ experiment }, reports.length);
      metrics.metricsWritten.inc({ experiment }, rows);
    }
    log.info({ experiment, reports: reports.length, metrics: rows, durationMs, window: { from, to } }, 'report run done');
    emit('run', { experiment, reports, metrics: rows, durationMs });
    return reports;
  }

  async function activeExperiments(): Promise<readonly string[]> {
    return typeof deps.experiments === 'function' ? deps.experiments() : deps.experiments;
  }

  function recordFailure(experiment: string, err: unknown): unknown {
    const stage = err instanceof StageError ? err.stage : 'query';
    const error = err instanceof StageError ? err.error : err;
    metrics?.failures.inc({ experiment, stage });
    log.error({ experiment, stage, err: error, retriable: isUmbraError(error) ? error.retriable : undefined }, `report run failed at ${stage}`);
    emit('failure', { experiment, stage, error });
    return error;
  }

  async function runAll(only?: string): Promise<Report[]> {
    if (only !== undefined) {
      try {
        return await runExperiment(only);
      } catch (err) {
        throw recordFailure(only, err);
      }
    }
    let experiments: readonly string[];
    try {
      experiments = await activeExperiments();
    } catch (err) {
      throw recordFailure('*', err);
    }
    const all: Report[] = [];
    let first: unknown;
    // One at a time: each run is a handful of heavy queries on the same engine.
    for (const experiment of experiments) {
      try {
        all.push(...(await runExperiment(experiment)));
      } catch (err) {
        const error = recordFailure(experiment, err);
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
    return all;
  }

  // Runs are serialised: an on-demand run waits for the one in progress.
  let tail: Promise<unknown> = Promise.resolve();
  let inFlight = 0;
  const enqueue = (only?: string): Promise<Report[]> => {
    inFlight++;
    const run = tail.then(() => runAll(only)).finally(() => inFlight--);
    tail = run.catch(() => undefined);
    return run;
  };

  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    if (inFlight > 0) {
      metrics?.skippedTicks.inc();
      log.warn({ intervalMs: deps.intervalMs }, 'previous report run still going; this tick is skipped');
      return;
    }
    // Failures are counted and logged in runAll; the schedule goes on.
    enqueue().catch(() => undefined);
  };

  return {
    runOnce: (experiment) => enqueue(experiment),
    start() {
      if (timer) return;
      timer = setInterval(tick, deps.intervalMs);
      tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await tail;
      if (connecting && deps.producer) {
        connecting = null;
        await deps.producer.disconnect().catch((err: unknown) => log.warn({ err }, 'producer disconnect failed'));
      }
    },
    on(event, listener) {
      events.on(event, listener as (p: unknown) => void);
      return () => events.off(event, listener as (p: unknown) => void);
    },
  };
}
