-- Roll-ups of request_events for the canary report (sql/reports/canary.sql); 010 is their ledger.
-- One row per (model, arm, span, hour, version, combination of segment values): request, error
-- and ok counts, and a log-bucket histogram of ok requests' latency with relative accuracy 1e-3
-- (sql/reports/rollup_requests.sql), from which the report takes quantiles and the Mann-Whitney U
-- (identical values share a bucket, so ties stay ties).
CREATE TABLE IF NOT EXISTS request_rollups
(
    model_name          LowCardinality(String),
    arm                 LowCardinality(String),
    span_hours          UInt8,
    hour                DateTime('UTC'),
    version             UInt64,
    segments            Array(Tuple(String, String)),
    requests_s          AggregateFunction(count),
    errors_s            AggregateFunction(countIf, UInt8),
    ok_s                AggregateFunction(countIf, UInt8),
    latency_hist_s      AggregateFunction(sumMapIf, Map(Int32, UInt64), UInt8)
)
ENGINE = MergeTree
PARTITION BY toDate(hour)
ORDER BY (model_name, arm, span_hours, hour, version)
TTL hour + INTERVAL 90 DAY;
