import { loadSql, queryRows, type ClickHouse } from '@umbra/core/clickhouse';

export interface ExperimentSummary {
  experiment: string;
  candidates: string[];
  /** Stored pairs, not deduplicated. */
  pairs: number;
  firstEventMs: number;
  lastEventMs: number;
}

/** Experiments that have pairs, by name. */
export async function listExperiments(ch: ClickHouse): Promise<ExperimentSummary[]> {
  const rows = await queryRows<{ experiment: string; candidates: string[]; pairs: number | string; first_event_ms: number | string; last_event_ms: number | string }>(
    ch,
    loadSql('reports/experiments.sql'),
  );
  return rows.map((r) => ({
    experiment: r.experiment,
    candidates: r.candidates,
    pairs: Number(r.pairs),
    firstEventMs: Number(r.first_event_ms),
    lastEventMs: Number(r.last_event_ms),
  }));
}

export async function experimentExists(ch: ClickHouse, experiment: string): Promise<boolean> {
  const rows = await queryRows<{ found: number | boolean }>(ch, loadSql('reports/experiment_exists.sql'), { experiment });
  return Boolean(Number(rows[0]?.found ?? 0));
}
