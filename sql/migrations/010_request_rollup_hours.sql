-- The ledger of request_events roll-ups (011_request_rollups.sql), as pair_rollup_hours (007) is
-- for shadow_pairs, and written and read the same way (services/comparator/src/reports/rollup.ts):
-- one row per rolled (model, span, hour) with the raw row count and max(ingested_at) the roll saw;
-- when either changes the hour is rolled again under a new version. Day rows (span_hours 24) are
-- merged from the 24 hour rows and name the newest hour version in source_version.
CREATE TABLE IF NOT EXISTS request_rollup_hours
(
    model_name       LowCardinality(String),
    span_hours       UInt8,                              -- 1: an hour; 24: a UTC day starting at `hour`
    hour             DateTime('UTC'),
    version          UInt64,                             -- epoch ms of the roll
    source_version   UInt64,                             -- days: the newest hour version merged; hours: = version
    segment_keys     Array(String),                      -- the attribute keys the segments were rolled by
    requests         UInt64,                             -- raw rows in the span when rolled (no FINAL)
    max_ingested_at  DateTime64(3, 'UTC'),
    rolled_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (model_name, span_hours, hour)
TTL hour + INTERVAL 90 DAY;
