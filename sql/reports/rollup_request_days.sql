-- Merges the 24 hour rows of one UTC day [{day}, {day} + 1 day) of model {model_name} into day
-- rows (span_hours 24) of request_rollups under {version}, as rollup_days.sql does for pairs.
-- Reads only the hour rows of the versions the ledger names ({hours}, {versions}).
INSERT INTO request_rollups
SELECT
    model_name,
    arm,
    toUInt8(24)                                              AS span_hours,
    toDateTime({day:DateTime('UTC')}, 'UTC')                 AS hour,
    {version:UInt64}                                         AS version,
    segments,
    countMergeState(requests_s)                              AS requests_s,
    countIfMergeState(errors_s)                              AS errors_s,
    countIfMergeState(ok_s)                                  AS ok_s,
    sumMapIfMergeState(latency_hist_s)                       AS latency_hist_s
FROM
(
    -- a subquery, so the hour and version aliases above do not shadow the columns here
    SELECT *
    FROM request_rollups
    WHERE model_name = {model_name:String}
      AND span_hours = 1
      AND hour >= {day:DateTime('UTC')} AND hour < {day:DateTime('UTC')} + INTERVAL 1 DAY
      AND has(arrayZip({hours:Array(DateTime('UTC'))}, {versions:Array(UInt64)}), (hour, version))
)
GROUP BY model_name, arm, segments
