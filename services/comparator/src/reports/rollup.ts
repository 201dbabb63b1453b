/**
 * Hourly roll-ups of shadow_pairs (sql/migrations/007_pair_rollup_hours.sql, 008_pair_rollups.sql): the comparator rolls
 * sealed hours up on its schedule, and a report over a long window merges the stored states of
 * the rolled hours with states computed from the raw pairs of the rest of the window.
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
  pairs: number | string;
  max_replayed_ms: number | string;
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

const RAW_HOURS_SQL = `
SELECT toUnixTimestamp(toStartOfHour(event_time)) * 1000 AS hour_ms, count() AS pairs,
       toUnixTimestamp64Milli(max(replayed_at)) AS max_replayed_ms
FROM shadow_pairs
WHERE experiment = {experiment:String}
  AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
GROUP BY hour_ms
ORDER BY hour_ms`;

const LEDGER_SQL = `
SELECT span_hours, toUnixTimestamp(hour) * 1000 AS hour_ms, pairs, toUnixTimestamp64Milli(max_replayed_at) AS max_replayed_ms,
       segment_keys, version, source_version
FROM pair_rollup_hours FINAL
WHERE experiment = {experiment:String}
  AND hour >= {from:DateTime64(3)} AND hour < {to:DateTime64(3)}
ORDER BY span_hours, hour_ms`;

const INSERT_LEDGER_SQL = `
INSERT INTO pair_rollup_hours (experiment, span_hours, hour, version, source_version, segment_keys, pairs, max_replayed_at, rolled_at)
SELECT {experiment:String}, {span_hours:UInt8}, toDateTime(intDiv(h.1, 1000), 'UTC'), {version:UInt64}, h.4, {segment_keys:Array(String)}, h.2,
       fromUnixTimestamp64Milli(h.3, 'UTC'), now64(3)
FROM (SELECT arrayJoin(arrayZip({hour_ms:Array(Int64)}, {pairs:Array(UInt64)}, {max_replayed_ms:Array(Int64)}, {source_versions:Array(UInt64)})) AS h)`;

async function readLedger(ch: ClickHouse, experiment: string, from: number, to: number): Promise<Ledger> {
  const rows = await queryRows<LedgerRow>(ch, LEDGER_SQL, { experiment, from: timeParam(from), to: timeParam(to) });
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
  const segmentKeys = checkSegmentKeys(opts.segmentKeys);
  const graceMs = opts.graceMs ?? DEFAULT_ROLLUP_GRACE_MS;
  const lookbackMs = opts.lookbackMs ?? DEFAULT_ROLLUP_LOOKBACK_MS;
  for (const [name, v] of [['graceMs', graceMs], ['lookbackMs', lookbackMs]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new UmbraError('BAD_ARGUMENT', `roll-up ${name} must be a finite number >= 0, got ${v}`);
  }
  const experiment = opts.experiment;
  const clock = opts.now ?? Date.now;
  const started = clock();
  const sealedTo = Math.floor((started - graceMs) / HOUR_MS) * HOUR_MS;
  const since = Math.min(sealedTo, Math.max(0, Math.floor((started - lookbackMs) / HOUR_MS) * HOUR_MS));

  const raw = new Map(
    (await queryRows<HourStats>(ch, RAW_HOURS_SQL, { experiment, from: timeParam(since), to: timeParam(sealedTo) })).map((r) => [Number(r.hour_ms), r]),
  );
  const ledger = await readLedger(ch, experiment, since, sealedTo);
  const previousHours = new Set(ledger.hours.keys());
  const previousDays = new Set(ledger.days.keys());
  const stale: { hour: number; pairs: number; maxReplayedMs: number; keys: string[] }[] = [];
  for (let hour = since; hour < sealedTo; hour += HOUR_MS) {
    const r = raw.get(hour);
    const pairs = Number(r?.pairs ?? 0);
    const maxReplayedMs = Number(r?.max_replayed_ms ?? 0);
    const prev = ledger.hours.get(hour);
    const current =
      prev !== undefined && Number(prev.pairs) === pairs && Number(prev.max_replayed_ms) === maxReplayedMs && covers(prev.segment_keys, segmentKeys);
    // Rolled again by the keys it had and the ones asked for now, so that key sets that come
    // and go (discovered per window) do not make the same hours roll over and over.
    const keys = [...new Set([...(prev?.segment_keys ?? []), ...segmentKeys])].sort();
    // an hour without pairs needs only its ledger row
    if (!current) stale.push({ hour, pairs, maxReplayedMs, keys });
  }
  // Versions only grow, also when the clock does not.
  const lastVersion = Math.max(0, ...[...ledger.hours.values(), ...ledger.days.values()].map((r) => Number(r.version)));
  const version = Math.max(Math.round(started), lastVersion + 1);
  const byKeys = new Map<string, typeof stale>();
  for (const st of stale) byKeys.set(JSON.stringify(st.keys), [...(byKeys.get(JSON.stringify(st.keys)) ?? []), st]);
  for (const group of byKeys.values()) {
    const keys = group[0]!.keys;
    for (const w of runsOf(group.filter((st) => st.pairs > 0).map((st) => st.hour))) {
      await runStatement(ch, loadSql('reports/rollup_pairs.sql'), {
        experiment,
        from: timeParam(w.from),
        to: timeParam(w.to),
        segment_keys: keys,
        version,
      });
    }
    await runStatement(ch, INSERT_LEDGER_SQL, {
      experiment,
      span_hours: 1,
      version,
      segment_keys: keys,
      hour_ms: group.map((st) => st.hour),
      pairs: group.map((st) => st.pairs),
      max_replayed_ms: group.map((st) => st.maxReplayedMs),
      source_versions: group.map(() => version),
    });
    for (const st of group) {
      ledger.hours.set(st.hour, {
        span_hours: 1,
        hour_ms: st.hour,
        pairs: st.pairs,
        max_replayed_ms: st.maxReplayedMs,
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
    await runStatement(ch, loadSql('reports/rollup_days.sql'), {
      experiment,
      day: d.day / 1000,
      version,
      hours: d.hours.map((h) => Number(h.hour_ms) / 1000),
      versions: d.hours.map((h) => Number(h.version)),
    });
  }
  for (const d of days) {
    await runStatement(ch, INSERT_LEDGER_SQL, {
      experiment,
      span_hours: 24,
      version,
      segment_keys: d.hours[0]!.segment_keys,
      hour_ms: [d.day],
      pairs: [d.hours.reduce((n, h) => n + Number(h.pairs), 0)],
      max_replayed_ms: [Math.max(...d.hours.map((h) => Number(h.max_replayed_ms)))],
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
      `DELETE FROM pair_rollups WHERE experiment = {experiment:String} AND span_hours = {span:UInt8}
         AND has({starts:Array(DateTime('UTC'))}, hour) AND version < {version:UInt64}`,
      { experiment, span, starts: starts.map((h) => h / 1000), version },
    );
  }
  return {
    rolled: stale.filter((st) => st.pairs > 0).map((st) => st.hour),
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
export async function rollupPlan(ch: ClickHouse, experiment: string, window: Window, segmentKeys: readonly string[]): Promise<RollupPlan> {
  const firstHour = Math.ceil(window.from / HOUR_MS) * HOUR_MS;
  const none: RollupPlan = { from: window.to, to: window.to, parts: [] };
  if (firstHour + HOUR_MS > window.to) return none;
  const ledger = await readLedger(ch, experiment, firstHour, window.to);
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
      if (Number(r.pairs) > 0) parts.push({ spanHours: 1, hour, version: Number(r.version) });
      hour += HOUR_MS;
    }
  }
  return { from: best.from, to: best.to, parts };
}

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
