/**
 * Hourly roll-ups of shadow_pairs (sql/migrations/007_pair_rollup_hours.sql, 008_pair_rollups.sql)
 * and of request_events (010_request_rollup_hours.sql, 011_request_rollups.sql, for the canary
 * report): the comparator rolls sealed hours up on its schedule, and a report over a long window
 * merges the stored states of the rolled hours with states computed from the raw rows of the rest
 * of the window. Both use the same ledger design (RollupSource).
 */
import { UmbraError } from '@umbra/core';
import { loadSql, queryRows, runStatement, type ClickHouse } from '@umbra/core/clickhouse';
import { checkName, checkSegmentKeys, timeParam, type Window } from './params.ts';

export const HOUR_MS = 3_600_000;
/** An hour is rolled up once it ended this long ago: later pairs for it make it roll again. */
export const DEFAULT_ROLLUP_GRACE_MS = 10 * 60_000;
/** How far back a roll-up pass looks for hours to roll (or roll again). */
export const DEFAULT_ROLLUP_LOOKBACK_MS = 7 * 24 * HOUR_MS;

export interface RollUpOptions {
  experiment: string;
  /** The attribute keys segments are rolled by; a report can use an hour rolled by a superset of its keys. */
  segmentKeys: readonly string[];
  /** Default DEFAULT_ROLLUP_GRACE_MS. */
  graceMs?: number;
  /** Default DEFAULT_ROLLUP_LOOKBACK_MS. */
  lookbackMs?: number;
  now?: () => number;
}

export interface RollUpResult {
  /** Hours (epoch ms) with pairs rolled in this pass, first rolls and re-rolls. */
  rolled: number[];
  /** Hours that had been rolled before (late or replayed pairs, or new segment keys). */
  rerolled: number[];
  /** UTC days (epoch ms) whose day rows were (re)built from their hours. */
  days: number[];
  /** Sealed hours in the lookback whose roll-up was already current. */
  current: number;
  version: number;
  durationMs: number;
}

interface HourStats {
  hour_ms: number | string;
  n_rows: number | string;
  max_stamp_ms: number | string;
}

interface LedgerRow extends HourStats {
  span_hours: number | string;
  segment_keys: string[];
  version: number | string;
  source_version: number | string;
}

interface Ledger {
  hours: Map<number, LedgerRow>;
  days: Map<number, LedgerRow>;
}

/** One stored span the report reads: an hour (1) or a UTC day (24), at the ledger's version. */
export interface RollupPart {
  spanHours: 1 | 24;
  hour: number;
  version: number;
}

/** The whole hours [from, to) of a window a report reads from roll-ups, and the stored spans covering them. */
export interface RollupPlan {
  from: number;
  to: number;
  parts: RollupPart[];
}

export const DAY_MS = 24 * HOUR_MS;

/**
 * What is rolled up: the raw table, the column naming one stream of it (and the query parameter
 * of the same name), the column whose max tells a changed hour, the ledger and the roll-up table
 * with the SQL files that fill it. Identifiers only, never values.
 */
export interface RollupSource {
  raw: 'shadow_pairs' | 'request_events';
  key: 'experiment' | 'model_name';
  stamp: 'replayed_at' | 'ingested_at';
  ledger: 'pair_rollup_hours' | 'request_rollup_hours';
  /** The ledger's raw row count column. */
  count: 'pairs' | 'requests';
  /** The ledger's max(stamp) column. */
  maxStamp: 'max_replayed_at' | 'max_ingested_at';
  rollups: 'pair_rollups' | 'request_rollups';
  hourSql: string;
  daySql: string;
}

export const PAIR_ROLLUPS: RollupSource = {
  raw: 'shadow_pairs',
  key: 'experiment',
  stamp: 'replayed_at',
  ledger: 'pair_rollup_hours',
  count: 'pairs',
  maxStamp: 'max_replayed_at',
  rollups: 'pair_rollups',
  hourSql: 'reports/rollup_pairs.sql',
  daySql: 'reports/rollup_days.sql',
};

export const REQUEST_ROLLUPS: RollupSource = {
  raw: 'request_events',
  key: 'model_name',
  stamp: 'ingested_at',
  ledger: 'request_rollup_hours',
  count: 'requests',
  maxStamp: 'max_ingested_at',
  rollups: 'request_rollups',
  hourSql: 'reports/rollup_requests.sql',
  daySql: 'reports/rollup_request_days.sql',
};

const rawHoursSql = (src: RollupSource) => `
SELECT toUnixTimestamp(toStartOfHour(event_time)) * 1000 AS hour_ms, count() AS n_rows,
       toUnixTimestamp64Milli(max(${src.stamp})) AS max_stamp_ms
FROM ${src.raw}
WHERE ${src.key} = {key:String}
  AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
GROUP BY hour_ms
ORDER BY hour_ms`;

const ledgerSql = (src: RollupSource) => `
SELECT span_hours, toUnixTimestamp(hour) * 1000 AS hour_ms, ${src.count} AS n_rows, toUnixTimestamp64Milli(${src.maxStamp}) AS max_stamp_ms,
       segment_keys, version, source_version
FROM ${src.ledger} FINAL
WHERE ${src.key} = {key:String}
  AND hour >= {from:DateTime64(3)} AND hour < {to:DateTime64(3)}
ORDER BY span_hours, hour_ms`;

const insertLedgerSql = (src: RollupSource) => `
INSERT INTO ${src.ledger} (${src.key}, span_hours, hour, version, source_version, segment_keys, ${src.count}, ${src.maxStamp}, rolled_at)
SELECT {key:String}, {span_hours:UInt8}, toDateTime(intDiv(h.1, 1000), 'UTC'), {version:UInt64}, h.4, {segment_keys:Array(String)}, h.2,
       fromUnixTimestamp64Milli(h.3, 'UTC'), now64(3)
FROM (SELECT arrayJoin(arrayZip({hour_ms:Array(Int64)}, {n_rows:Array(UInt64)}, {max_stamp_ms:Array(Int64)}, {source_versions:Array(UInt64)})) AS h)`;

async function readLedger(ch: ClickHouse, src: RollupSource, key: string, from: number, to: number): Promise<Ledger> {
  const rows = await queryRows<LedgerRow>(ch, ledgerSql(src), { key, from: timeParam(from), to: timeParam(to) });
  const ledger: Ledger = { hours: new Map(), days: new Map() };
  for (const r of rows) (Number(r.span_hours) === 24 ? ledger.days : ledger.hours).set(Number(r.hour_ms), r);
  return ledger;
}

/** Runs of consecutive hours as [from, to) windows. */
function runsOf(hours: readonly number[]): Window[] {
  const runs: Window[] = [];
  for (const h of [...hours].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && last.to === h) last.to = h + HOUR_MS;
    else runs.push({ from: h, to: h + HOUR_MS });
  }
  return runs;
}

const covers = (rolled: readonly string[], wanted: readonly string[]) => wanted.every((k) => rolled.includes(k));
const sameKeys = (a: readonly string[], b: readonly string[]) => a.length === b.length && covers(a, b);

/** The 24 hour entries of the UTC day from `day`, when every one is there and all were rolled by the same keys. */
function dayHours(ledger: Ledger, day: number): LedgerRow[] | undefined {
  const rows: LedgerRow[] = [];
  for (let h = day; h < day + DAY_MS; h += HOUR_MS) {
    const r = ledger.hours.get(h);
    if (!r || (rows[0] && !sameKeys(rows[0].segment_keys, r.segment_keys))) return undefined;
    rows.push(r);
  }
  return rows;
}

const newestVersion = (rows: readonly LedgerRow[]) => Math.max(...rows.map((r) => Number(r.version)));

/**
 * Rolls up the sealed hours of an experiment that have no current roll-up: never rolled, rolled
 * by keys that miss one of `segmentKeys` (rolled again by both), or whose raw row count or latest replayed_at changed
 * since (late or replayed pairs); hours without pairs are recorded too. Then every UTC day whose
 * 24 hours are rolled gets day rows merged from them, unless it has current ones. Rows are written
 * under a new version before the ledger names it, so a report never reads a half-written span;
 * older versions are deleted after.
 */
export async function rollUpPairs(ch: ClickHouse, opts: RollUpOptions): Promise<RollUpResult> {
  checkName('experiment', opts.experiment);
  return rollUp(ch, PAIR_ROLLUPS, opts.experiment, opts);
}

export interface RollUpRequestsOptions extends Omit<RollUpOptions, 'experiment'> {
  /** request_events.model_name */
  model: string;
}

/** rollUpPairs for the request_events of one model (every arm): the canary report's roll-ups. */
export async function rollUpRequests(ch: ClickHouse, opts: RollUpRequestsOptions): Promise<RollUpResult> {
  checkName('model', opts.model);
  return rollUp(ch, REQUEST_ROLLUPS, opts.model, opts);
}

async function rollUp(ch: ClickHouse, src: RollupSource, key: string, opts: Omit<RollUpOptions, 'experiment'>): Promise<RollUpResult> {
  const segmentKeys = checkSegmentKeys(opts.segmentKeys);
  const graceMs = opts.graceMs ?? DEFAULT_ROLLUP_GRACE_MS;
  const lookbackMs = opts.lookbackMs ?? DEFAULT_ROLLUP_LOOKBACK_MS;
  for (const [name, v] of [['graceMs', graceMs], ['lookbackMs', lookbackMs]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new UmbraError('BAD_ARGUMENT', `roll-up ${name} must be a finite number >= 0, got ${v}`);
  }
  const clock = opts.now ?? Date.now;
  const started = clock();
  const sealedTo = Math.floor((started - graceMs) / HOUR_MS) * HOUR_MS;
  const since = Math.min(sealedTo, Math.max(0, Math.floor((started - lookbackMs) / HOUR_MS) * HOUR_MS));

  const raw = new Map(
    (await queryRows<HourStats>(ch, rawHoursSql(src), { key, from: timeParam(since), to: timeParam(sealedTo) })).map((r) => [Number(r.hour_ms), r]),
  );
  const ledger = await readLedger(ch, src, key, since, sealedTo);
  const previousHours = new Set(ledger.hours.keys());
  const previousDays = new Set(ledger.days.keys());
  const stale: { hour: number; rows: number; maxStampMs: number; keys: string[] }[] = [];
  for (let hour = since; hour < sealedTo; hour += HOUR_MS) {
    const r = raw.get(hour);
    const rows = Number(r?.n_rows ?? 0);
    const maxStampMs = Number(r?.max_stamp_ms ?? 0);
    const prev = ledger.hours.get(hour);
    const current =
      prev !== undefined && Number(prev.n_rows) === rows && Number(prev.max_stamp_ms) === maxStampMs && covers(prev.segment_keys, segmentKeys);
    // Rolled again by the keys it had and the ones asked for now, so that key sets that come
    // and go (discovered per window) do not make the same hours roll over and over.
    const keys = [...new Set([...(prev?.segment_keys ?? []), ...segmentKeys])].sort();
    // an hour without rows needs only its ledger row
    if (!current) stale.push({ hour, rows, maxStampMs, keys });
  }
  // Versions only grow, also when the clock does not.
  const lastVersion = Math.max(0, ...[...ledger.hours.values(), ...ledger.days.values()].map((r) => Number(r.version)));
  const version = Math.max(Math.round(started), lastVersion + 1);
  const byKeys = new Map<string, typeof stale>();
  for (const st of stale) byKeys.set(JSON.stringify(st.keys), [...(byKeys.get(JSON.stringify(st.keys)) ?? []), st]);
  for (const group of byKeys.values()) {
    const keys = group[0]!.keys;
    for (const w of runsOf(group.filter((st) => st.rows > 0).map((st) => st.hour))) {
      await runStatement(ch, loadSql(src.hourSql), {
        [src.key]: key,
        from: timeParam(w.from),
        to: timeParam(w.to),
        segment_keys: keys,
        version,
      });
    }
    await runStatement(ch, insertLedgerSql(src), {
      key,
      span_hours: 1,
      version,
      segment_keys: keys,
      hour_ms: group.map((st) => st.hour),
      n_rows: group.map((st) => st.rows),
      max_stamp_ms: group.map((st) => st.maxStampMs),
      source_versions: group.map(() => version),
    });
    for (const st of group) {
      ledger.hours.set(st.hour, {
        span_hours: 1,
        hour_ms: st.hour,
        n_rows: st.rows,
        max_stamp_ms: st.maxStampMs,
        segment_keys: keys,
        version,
        source_version: version,
      });
    }
  }

  // Days: merged from their 24 current hour rows.
  const days: { day: number; hours: LedgerRow[] }[] = [];
  for (let day = Math.ceil(since / DAY_MS) * DAY_MS; day + DAY_MS <= sealedTo; day += DAY_MS) {
    const hours = dayHours(ledger, day);
    if (!hours) continue;
    const prev = ledger.days.get(day);
    if (prev && Number(prev.source_version) === newestVersion(hours)) continue;
    days.push({ day, hours });
  }
  for (const d of days) {
    await runStatement(ch, loadSql(src.daySql), {
      [src.key]: key,
      day: d.day / 1000,
      version,
      hours: d.hours.map((h) => Number(h.hour_ms) / 1000),
      versions: d.hours.map((h) => Number(h.version)),
    });
  }
  for (const d of days) {
    await runStatement(ch, insertLedgerSql(src), {
      key,
      span_hours: 24,
      version,
      segment_keys: d.hours[0]!.segment_keys,
      hour_ms: [d.day],
      n_rows: [d.hours.reduce((n, h) => n + Number(h.n_rows), 0)],
      max_stamp_ms: [Math.max(...d.hours.map((h) => Number(h.max_stamp_ms)))],
      source_versions: [newestVersion(d.hours)],
    });
  }

  // Older versions of what was rolled again: the ledger no longer names them.
  const rerolled = stale.map((st) => st.hour).filter((h) => previousHours.has(h));
  const staleSpans: [number, number[]][] = [
    [1, rerolled],
    [24, days.map((d) => d.day).filter((d) => previousDays.has(d))],
  ];
  for (const [span, starts] of staleSpans) {
    if (starts.length === 0) continue;
    await runStatement(
      ch,
      `DELETE FROM ${src.rollups} WHERE ${src.key} = {key:String} AND span_hours = {span:UInt8}
         AND has({starts:Array(DateTime('UTC'))}, hour) AND version < {version:UInt64}`,
      { key, span, starts: starts.map((h) => h / 1000), version },
    );
  }
  return {
    rolled: stale.filter((st) => st.rows > 0).map((st) => st.hour),
    rerolled,
    days: days.map((d) => d.day),
    current: (sealedTo - since) / HOUR_MS - stale.length,
    version,
    durationMs: clock() - started,
  };
}

/**
 * The longest run of whole hours inside `window` whose roll-up covers `segmentKeys`, as
 * [from, to), with the stored spans to read for it: a day's row where all of the day lies in the
 * run and the day row is current, hour rows for the rest. An empty run (from = to = window.to)
 * when there is none.
 */
export async function rollupPlan(
  ch: ClickHouse,
  key: string,
  window: Window,
  segmentKeys: readonly string[],
  src: RollupSource = PAIR_ROLLUPS,
): Promise<RollupPlan> {
  const firstHour = Math.ceil(window.from / HOUR_MS) * HOUR_MS;
  const none = noRollups(window);
  if (firstHour + HOUR_MS > window.to) return none;
  const ledger = await readLedger(ch, src, key, firstHour, window.to);
  const usable = [...ledger.hours.values()]
    .map((r) => ({ hour: Number(r.hour_ms), keys: r.segment_keys }))
    .filter((r) => r.hour + HOUR_MS <= window.to && covers(r.keys, segmentKeys))
    .map((r) => r.hour);
  let best: Window | undefined;
  for (const run of runsOf(usable)) {
    if (!best || run.to - run.from > best.to - best.from) best = run;
  }
  if (!best) return none;
  const parts: RollupPart[] = [];
  for (let hour = best.from; hour < best.to; ) {
    const day = ledger.days.get(hour);
    const hours = hour % DAY_MS === 0 && hour + DAY_MS <= best.to ? dayHours(ledger, hour) : undefined;
    if (day && hours && covers(day.segment_keys, segmentKeys) && Number(day.source_version) === newestVersion(hours)) {
      parts.push({ spanHours: 24, hour, version: Number(day.version) });
      hour += DAY_MS;
    } else {
      const r = ledger.hours.get(hour)!;
      if (Number(r.n_rows) > 0) parts.push({ spanHours: 1, hour, version: Number(r.version) });
      hour += HOUR_MS;
    }
  }
  return { from: best.from, to: best.to, parts };
}

/** The plan that reads no roll-ups: raw rows for all of `window`. */
export const noRollups = (window: Window): RollupPlan => ({ from: window.to, to: window.to, parts: [] });

/** The query parameters of a plan for the report SQL. */
export function rollupParams(plan: RollupPlan): Record<string, unknown> {
  return {
    roll_from: timeParam(plan.from),
    roll_to: timeParam(plan.to),
    roll_spans: plan.parts.map((p) => p.spanHours),
    roll_hours: plan.parts.map((p) => p.hour / 1000),
    roll_versions: plan.parts.map((p) => p.version),
    hist: plan.to > plan.from ? 1 : 0,
  };
}
