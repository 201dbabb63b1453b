-- One row per metric of a report run: value with its n, interval or p-value, method and window.
CREATE TABLE IF NOT EXISTS comparison_reports
(
    run_id        String,
    experiment    LowCardinality(String),
    candidate     LowCardinality(String),
    report        LowCardinality(String),                -- agreement | latency | drift | canary
    metric        LowCardinality(String),
    segment_key   LowCardinality(String),                -- '' for overall
    segment_value String,
    window_from   DateTime64(3, 'UTC'),
    window_to     DateTime64(3, 'UTC'),
    value         Nullable(Float64),
    n             UInt64,
    lower         Nullable(Float64),
    upper         Nullable(Float64),
    p_value       Nullable(Float64),
    p_adjusted    Nullable(Float64),
    method        LowCardinality(String),
    details       String,                                -- JSON: extra fields of the metric
    created_at    DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (experiment, candidate, created_at, report, metric, segment_key, segment_value);
