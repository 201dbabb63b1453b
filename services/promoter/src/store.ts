/**
 * Where rollouts live: the current state per rollout in `rollout_state` (ReplacingMergeTree by
 * version, sql/migrations/006_rollout_state.sql) and every decision in the append-only audit
 * trail `promotion_decisions`. Reads use FINAL, so a state is the highest version written.
 */
import { randomBytes } from 'node:crypto';
import { UmbraError } from '@umbra/core';
import {
  insertRows,
  loadSql,
  queryRows,
  toDateTime64,
  type ClickHouse,
} from '@umbra/core/clickhouse';
import type { Decision, GateResult, RolloutState } from './domain/types.ts';

/** A decision as stored and published: the domain's decision plus who made it and its id. */
export interface RecordedDecision extends Decision {
  decisionId: string;
  decidedBy: string;
}

/** One rollout as the store has it. */
export interface StoredRollout {
  state: RolloutState;
  /** The spec as given to `start`, YAML text; evaluation parses it again. */
  specYaml: string;
  /** Increases by one with every write; a write names the version it read. */
  version: number;
  lastDecision: RecordedDecision | null;
  updatedBy: string;
  updatedAt: number;
}

/** One row of the audit trail, newest first in `history`. */
export interface DecisionRecord {
  decisionId: string;
  phase: string;
  step: number;
  weight: number;
  decision: string;
  nextStep: number;
  nextWeight: number;
  reasons: GateResult[];
  specHash: string;
  decidedBy: string;
  decidedAt: number;
}

interface StateRow {
  rollout: string;
  version: number;
  state: string;
  last_decision: string;
  spec_yaml: string;
  spec_hash: string;
  updated_by: string;
  updated_at_ms: number;
}

export const STATE_ENTRY = 'state';

/**
 * The entry a grant is stored under: one per gate and rollout step, within one run of the rollout
 * (a rollout started again under the same name starts without grants).
 */
export function grantEntry(
  gate: string,
  state: Pick<RolloutState, 'startedAt' | 'phase' | 'step'>,
): string {
  return `grant/${gate}/${state.startedAt}/${state.phase}:${state.step}`;
}

/**
 * Decision ids sort in decision order within a rollout: time, then the evaluation count, then
 * random bits so two promoters can never collide.
 */
export function newDecisionId(decidedAt: number, evaluation: number): string {
  return `${decidedAt.toString(36).padStart(9, '0')}-${String(evaluation).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
}

function parseJson<T>(text: string, what: string, rollout: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new UmbraError('STORE_QUERY_FAILED', `rollout_state of ${rollout}: ${what} is not JSON`, {
      context: { rollout },
      cause,
    });
  }
}

function toStored(row: StateRow): StoredRollout {
  return {
    state: parseJson<RolloutState>(row.state, 'state', row.rollout),
    specYaml: row.spec_yaml,
    version: Number(row.version),
    lastDecision: row.last_decision
      ? parseJson<RecordedDecision>(row.last_decision, 'last_decision', row.rollout)
      : null,
    updatedBy: row.updated_by,
    updatedAt: Number(row.updated_at_ms),
  };
}

export interface RolloutStore {
  /** The rollout's current state, or null when it was never started. */
  get(rollout: string): Promise<StoredRollout | null>;
  /** Every rollout's state, unfinished ones only with `activeOnly`. */
  list(opts?: { activeOnly?: boolean }): Promise<StoredRollout[]>;
  /**
   * Writes the next state as `version`. Refuses (STORE_CONFLICT) when the stored version is no
   * longer `expected`: someone else wrote since it was read (an abort, another promoter).
   */
  put(
    next: {
      state: RolloutState;
      specYaml: string;
      lastDecision: RecordedDecision | null;
      experiment: string;
    },
    expected: number,
    version: number,
    by: string,
  ): Promise<void>;
  /** Throws STORE_CONFLICT when the rollout's stored version is no longer `expected`. */
  checkVersion(rollout: string, expected: number): Promise<void>;
  /** Appends a decision to the audit trail. */
  appendDecision(
    d: RecordedDecision,
    meta: { experiment: string; candidate: string; baseline: string; strategy: string },
  ): Promise<void>;
  /** The latest decisions of a rollout, newest first. */
  history(rollout: string, limit: number): Promise<DecisionRecord[]>;
  hasGrant(rollout: string, entry: string): Promise<boolean>;
  putGrant(
    state: RolloutState,
    entry: string,
    experiment: string,
    by: string,
    at: number,
  ): Promise<void>;
}

export function createRolloutStore(ch: ClickHouse): RolloutStore {
  const get = async (rollout: string): Promise<StoredRollout | null> => {
    const rows = await queryRows<StateRow>(ch, loadSql('promoter/rollout-state.sql'), { rollout });
    return rows[0] ? toStored(rows[0]) : null;
  };

  const checkVersion = async (rollout: string, expected: number): Promise<void> => {
    const current = await get(rollout);
    const have = current?.version ?? 0;
    if (have !== expected) {
      throw new UmbraError(
        'STORE_CONFLICT',
        `rollout ${rollout} changed while it was being written (version ${have}, expected ${expected}${current ? `, last written by ${current.updatedBy}` : ''}); read it again`,
        { retriable: true, context: { rollout, expected, have } },
      );
    }
  };

  return {
    get,
    checkVersion,
    async list(opts = {}) {
      const rows = await queryRows<StateRow>(ch, loadSql('promoter/rollouts.sql'), {
        active_only: opts.activeOnly ? 1 : 0,
      });
      return rows.map(toStored);
    },
    async put(next, expected, version, by) {
      await checkVersion(next.state.rollout, expected);
      const s = next.state;
      await insertRows(ch, 'rollout_state', [
        {
          rollout: s.rollout,
          entry: STATE_ENTRY,
          version,
          experiment: next.experiment,
          candidate: s.candidate,
          strategy: s.strategy,
          phase: s.phase,
          step: s.step,
          weight: s.weight,
          state: JSON.stringify(s),
          last_decision: next.lastDecision ? JSON.stringify(next.lastDecision) : '',
          spec_yaml: next.specYaml,
          spec_hash: s.specHash,
          updated_by: by,
          updated_at: toDateTime64(s.updatedAt),
        },
      ]);
    },
    async appendDecision(d, meta) {
      await insertRows(
        ch,
        'promotion_decisions',
        [
          {
            decision_id: d.decisionId,
            rollout: d.rollout,
            experiment: meta.experiment,
            candidate: meta.candidate,
            baseline: meta.baseline,
            strategy: meta.strategy,
            phase: d.phase,
            step: d.step,
            weight: d.weight,
            decision: d.decision,
            next_step: d.nextStep,
            next_weight: d.nextWeight,
            reasons: JSON.stringify(d.reasons),
            spec_hash: d.specHash,
            decided_by: d.decidedBy,
            decided_at: toDateTime64(d.evaluatedAt),
          },
        ],
        // A retried append of the same decision is a no-op.
        { dedupToken: `decision/${d.decisionId}` },
      );
    },
    async history(rollout, limit) {
      const rows = await queryRows<{
        decision_id: string;
        phase: string;
        step: number;
        weight: number;
        decision: string;
        next_step: number;
        next_weight: number;
        reasons: string;
        spec_hash: string;
        decided_by: string;
        decided_at_ms: number;
      }>(ch, loadSql('promoter/decisions.sql'), { rollout, limit });
      return rows.map((r) => ({
        decisionId: r.decision_id,
        phase: r.phase,
        step: Number(r.step),
        weight: Number(r.weight),
        decision: r.decision,
        nextStep: Number(r.next_step),
        nextWeight: Number(r.next_weight),
        reasons: parseJson<GateResult[]>(r.reasons, 'reasons', rollout),
        specHash: r.spec_hash,
        decidedBy: r.decided_by,
        decidedAt: Number(r.decided_at_ms),
      }));
    },
    async hasGrant(rollout, entry) {
      const rows = await queryRows<{ n: number }>(ch, loadSql('promoter/grant.sql'), {
        rollout,
        entry,
      });
      return Number(rows[0]?.n ?? 0) > 0;
    },
    async putGrant(state, entry, experiment, by, at) {
      await insertRows(ch, 'rollout_state', [
        {
          rollout: state.rollout,
          entry,
          version: 1,
          experiment,
          candidate: state.candidate,
          strategy: state.strategy,
          phase: state.phase,
          step: state.step,
          weight: state.weight,
          state: '',
          last_decision: '',
          spec_yaml: '',
          spec_hash: state.specHash,
          updated_by: by,
          updated_at: toDateTime64(at),
        },
      ]);
    },
  };
}
