-- Hourly roll-ups of shadow_pairs, so a report over a long window merges a few thousand stored
-- aggregate states instead of scanning every pair.
--
-- The comparator writes them (sql/reports/rollup_pairs.sql) for sealed hours only, from
-- shadow_pairs FINAL, so re-delivered pairs count once; a materialized view on insert would count
-- them twice. pair_rollup_hours is the ledger: one row per rolled (experiment, span, hour) with the
-- raw row count and max(replayed_at) the roll saw (an hour without pairs is recorded too, with 0).
-- When either changes (late or replayed pairs) the hour is rolled again under a new version;
-- reports read only the rollup rows of the versions the ledger names (older versions are deleted
-- after a re-roll, and expire with the TTL anyway).
--
-- Two spans: hours (span_hours 1), and whole UTC days (span_hours 24) merged from the 24 hour
-- rows once every hour of the day is rolled (sql/reports/rollup_days.sql), so a report over days
-- merges 24 times fewer states. A day row names in source_version the newest hour version it was
-- merged from; it is current while that is still the newest version of its hours.
CREATE TABLE IF NOT EXISTS pair_rollup_hours
(
    experiment       LowCardinality(String),
    span_hours       UInt8,                              -- 1: an hour; 24: a UTC day starting at `hour`
    hour             DateTime('UTC'),
    version          UInt64,                             -- epoch ms of the roll
    source_version   UInt64,                             -- days: the newest hour version merged; hours: = version
    segment_keys     Array(String),                      -- the attribute keys the segments were rolled by
    pairs            UInt64,                             -- raw rows in the span when rolled (no FINAL)
    max_replayed_at  DateTime64(3, 'UTC'),
    rolled_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (experiment, span_hours, hour)
TTL hour + INTERVAL 90 DAY;
