-- Events that could not be decoded or validated, with the reason; the partition moved on.
CREATE TABLE IF NOT EXISTS dead_letters
(
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    message_key      Nullable(String),
    reason           LowCardinality(String),             -- an UmbraErrorCode
    detail           String,
    payload          String,                             -- original bytes
    received_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source_topic, source_partition, source_offset)
TTL toDateTime(received_at) + INTERVAL 30 DAY;
