-- The audit trail: append-only, one row per evaluation of a rollout.
CREATE TABLE IF NOT EXISTS promotion_decisions
(
    decision_id   String,
    rollout       LowCardinality(String),
    experiment    LowCardinality(String),
    candidate     LowCardinality(String),
    baseline      LowCardinality(String),
    strategy      LowCardinality(String),                -- canary | blue-green
    phase         LowCardinality(String),                -- shadow | canary | preview | switched | watch | done | rolled-back
    step          UInt16,
    weight        Float64,                               -- candidate traffic share before the decision, 0..100
    decision      LowCardinality(String),                -- promote | continue | rollback
    next_step     UInt16,
    next_weight   Float64,
    reasons       String,                                -- JSON: one entry per gate
    spec_hash     String,
    decided_by    String,
    decided_at    DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (rollout, decided_at, decision_id);
