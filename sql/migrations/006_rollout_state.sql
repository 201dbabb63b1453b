-- The promoter's working state, as entries per rollout; the highest version per (rollout, entry)
-- wins (read with FINAL). The audit trail stays in promotion_decisions: this table only says
-- where each rollout is now.
--   entry 'state': the rollout's state machine with the last decision in full (summary, method,
--     reasons) for `umbra rollout status`. Written by start, by the leader's evaluations
--     (version = previous + 1) and by an operator's abort (previous + 2: it outranks an evaluation
--     writing at the same moment). The spec travels with it as the YAML text it was started with,
--     so any promoter can evaluate the rollout from this table alone after a restart or a change
--     of leader.
--   entry 'grant/<gate>/<started at>/<phase>:<step>': a traffic increase granted to an external
--     controller (Flagger's confirm-traffic-increase), at most one per step of one run of the
--     rollout, so a controller polling faster than umbra decides cannot move traffic twice on one
--     step's evidence.
CREATE TABLE IF NOT EXISTS rollout_state
(
    rollout       String,
    entry         String,
    version       UInt64,
    experiment    LowCardinality(String),
    candidate     LowCardinality(String),
    strategy      LowCardinality(String),                -- canary | blue-green
    phase         LowCardinality(String),
    step          UInt16,
    weight        Float64,                               -- candidate traffic share, 0..100
    state         String,                                -- JSON: the RolloutState ('' for grants)
    last_decision String,                                -- JSON: the last decision, '' before the first
    spec_yaml     String,                                -- '' for grants
    spec_hash     String,
    updated_by    String,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (rollout, entry);
