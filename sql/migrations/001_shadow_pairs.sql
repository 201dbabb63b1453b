-- One row per pair: one event x one candidate. A re-delivered event for the same experiment and
-- candidate has the same sorting key and collapses to one row (latest replayed_at wins);
-- reports read it with FINAL. The dedup window makes a retried insert with the same
-- insert_deduplication_token a no-op on a single node too.
CREATE TABLE IF NOT EXISTS shadow_pairs
(
    experiment          LowCardinality(String),
    candidate           LowCardinality(String),
    role                LowCardinality(String),          -- candidate | noise (A/A replay of the baseline)
    event_id            String,
    event_time          DateTime64(3, 'UTC'),
    arm                 LowCardinality(String),
    baseline_model      LowCardinality(String),
    baseline_version    LowCardinality(String),
    attributes          Map(LowCardinality(String), String),
    task                LowCardinality(String),          -- classification | regression | ranking | structured
    baseline_output     Nullable(String),
    candidate_output    Nullable(String),
    baseline_latency_ms Float64,
    candidate_latency_ms Float64,
    baseline_status     LowCardinality(String),          -- ok | error
    candidate_status    LowCardinality(String),          -- ok | error | timeout
    candidate_error     Nullable(String),
    agree               UInt8,
    baseline_label      Nullable(String),
    candidate_label     Nullable(String),
    baseline_value      Nullable(Float64),
    candidate_value     Nullable(Float64),
    abs_error           Nullable(Float64),
    rel_error           Nullable(Float64),
    within_tolerance    Nullable(UInt8),
    baseline_ranking    Array(String),
    candidate_ranking   Array(String),
    topk_overlap        Nullable(Float64),
    jaccard             Nullable(Float64),
    rbo                 Nullable(Float64),
    diff_paths          Array(String),
    replayed_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(replayed_at)
PARTITION BY toDate(event_time)
ORDER BY (experiment, candidate, event_time, event_id)
TTL toDateTime(event_time) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000;
