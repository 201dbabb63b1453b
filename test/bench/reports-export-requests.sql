-- The benchmark's requests as little-endian Float64 rows (RowBinary) for the scipy side.
SELECT
    toFloat64(arm = 'canary')                                                            AS canary,
    toFloat64(indexOf(['eu', 'us', 'ap', 'sa'], attributes['region']))                   AS region,
    toFloat64(indexOf(['web', 'ios', 'android'], attributes['client']))                  AS client,
    latency_ms,
    toFloat64(status = 'error')                                                          AS error
FROM request_events FINAL
WHERE model_name = 'bench-model' AND event_time >= {start:DateTime64(3)}
FORMAT RowBinary
