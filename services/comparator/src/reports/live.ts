import { LIVE_SPLITS } from '@umbra/core';
import { loadSql, queryRows, type ClickHouse } from '@umbra/core/clickhouse';
import { timeParam } from './params.ts';
import { runCanaryReport } from './run.ts';
import type { Report } from './types.ts';

export interface LiveArms {
  model: string;
  stableArm: string;
  canaryArm: string;
}

/**
 * The live split of the experiment's baseline model over [from, to), if its traffic had both arms
 * of a canary (stable/canary) or of a blue-green preview (blue/green); null otherwise.
 */
export async function liveArms(ch: ClickHouse, opts: { experiment: string; from: number; to: number }): Promise<LiveArms | null> {
  const rows = await queryRows<{ model: string; arm: string; requests: number | string }>(ch, loadSql('reports/live_arms.sql'), {
    experiment: opts.experiment,
    from: timeParam(opts.from),
    to: timeParam(opts.to),
  });
  const arms = new Set(rows.filter((r) => Number(r.requests) > 0).map((r) => r.arm));
  const model = rows[0]?.model;
  if (!model) return null;
  const split = [LIVE_SPLITS.canary, LIVE_SPLITS.blueGreen].find((a) => arms.has(a.stable) && arms.has(a.canary));
  return split ? { model, stableArm: split.stable, canaryArm: split.canary } : null;
}

/**
 * Adds the canary report (the live arms: error rates, Mann-Whitney on latency) to the pair
 * reports of an experiment when its baseline model's traffic was split over the window. With one
 * candidate (besides the A/A noise run) the live metrics join that candidate's report: it is the
 * one taking the traffic. With several, which one is live is not recorded, so the live arms are
 * a report of their own, named after the model and arm.
 */
export async function withLiveArms(
  ch: ClickHouse,
  pending: Report[] | Promise<Report[]>,
  opts: {
    experiment: string;
    from: number;
    to: number;
    segmentKeys: readonly string[];
    useRollups?: boolean;
    /** From liveArms(), when the caller looked already (to roll the model's requests up first). */
    arms?: LiveArms | null;
  },
): Promise<Report[]> {
  let arms: LiveArms | null;
  try {
    arms = opts.arms === undefined ? await liveArms(ch, opts) : opts.arms;
  } catch (error) {
    // This failure is the one to report; the pair reports' own, if any, is not left unhandled.
    Promise.resolve(pending).catch(() => undefined);
    throw error;
  }
  if (arms === null) return pending;
  // Given the pair reports still running, the live arms' statement runs beside them.
  const [reports, live] = await Promise.all([
    pending,
    runCanaryReport(ch, {
      experiment: opts.experiment,
      model: arms.model,
      stableArm: arms.stableArm,
      canaryArm: arms.canaryArm,
      from: opts.from,
      to: opts.to,
      segmentKeys: opts.segmentKeys,
      ...(opts.useRollups === undefined ? {} : { useRollups: opts.useRollups }),
    }),
  ]);
  const candidates = reports.filter((r) => r.role === 'candidate');
  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (!only) return [...reports, { ...live, candidate: `${arms.model} (${arms.canaryArm} arm)` }];
  return reports.map((r) => (r === only ? { ...r, metrics: [...r.metrics, ...live.metrics] } : r));
}
