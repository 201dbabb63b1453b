-- The raw events as production served them: canary analysis (unpaired arms) and offline replay.
CREATE TABLE IF NOT EXISTS request_events
(
    event_id      String,
    event_time    DateTime64(3, 'UTC'),
    model_name    LowCardinality(String),
    model_version LowCardinality(String),
    arm           LowCardinality(String),                -- stable | canary | blue | green
    input         String,
    output        Nullable(String),
    latency_ms    Float64,
    status        LowCardinality(String),                -- ok | error
    error_message Nullable(String),
    attributes    Map(LowCardinality(String), String),
    trace_id      Nullable(String),
    ingested_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toDate(event_time)
ORDER BY (model_name, arm, event_time, event_id)
TTL toDateTime(event_time) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000;
