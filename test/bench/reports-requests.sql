-- Synthetic request_events for the canary part of the report benchmark: {requests:UInt64}
-- requests of model 'bench-model' over the day from {start}, 90 % on the stable arm and 10 % on
-- the canary arm, which is 5 % slower and fails 0.3 % instead of 0.2 %.
INSERT INTO request_events
SELECT
    concat('r', toString(number))                                             AS event_id,
    {start:DateTime64(3)} + toIntervalMillisecond(intDiv(number * 86400000, {requests:UInt64})) AS event_time,
    'bench-model'                                                             AS model_name,
    if(canary, 'v2', 'v1')                                                    AS model_version,
    if(canary, 'canary', 'stable')                                            AS arm,
    '{}'                                                                      AS input,
    NULL                                                                      AS output,
    20 * exp(0.5 * sqrt(-2 * log(u1)) * cos(2 * pi() * u2)) * if(canary, 1.05, 1.0) AS latency_ms,
    if(h % 10000 < if(canary, 30, 20), 'error', 'ok')                         AS status,
    NULL                                                                      AS error_message,
    map('region', ['eu', 'us', 'ap', 'sa'][1 + h % 4], 'client', ['web', 'ios', 'android'][1 + intDiv(h, 4) % 3]) AS attributes,
    NULL                                                                      AS trace_id,
    {start:DateTime64(3)} + toIntervalDay(1)                                  AS ingested_at
FROM
(
    SELECT
        number,
        cityHash64(number, 7)                                  AS h,
        intDiv(h, 12) % 10 = 0                                 AS canary,
        (cityHash64(number, 8) % 1000000 + 0.5) / 1000000      AS u1,
        (cityHash64(number, 9) % 1000000 + 0.5) / 1000000      AS u2
    FROM numbers({requests:UInt64})
)
