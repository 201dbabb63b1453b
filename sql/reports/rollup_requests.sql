-- Rolls the request_events of model {model_name} in the whole hours [from, to) up into
-- request_rollups under {version}: one row per arm, hour and combination of the values of
-- {segment_keys:Array(String)}. Reads deduplicated events (FINAL), so a re-delivered event
-- counts once. The states are those of the raw side of canary.sql with {hist} = 1, copied here on
-- purpose (the rollup test checks that both paths give the same report).
--
-- Latency histogram: key 0 for |x| < 1e-12, else sign(x)·(1000000 + ⌈ln|x| / ln γ⌉) with
-- γ = (1 + 1e-3)/(1 − 1e-3): a bucket's midpoint is within 0.1 % of every value in it, equal
-- values share a bucket, and keys sort as the values do.
INSERT INTO request_rollups
WITH
    log((1 + 0.001) / (1 - 0.001)) AS ln_gamma,
    x -> toInt32(if(NOT isFinite(x) OR abs(x) < 1e-12, 0, sign(x) * (1000000 + ceil(log(abs(x)) / ln_gamma)))) AS lat_key
SELECT
    model_name,
    arm,
    toUInt8(1)                                                              AS span_hours,
    toStartOfHour(event_time)                                               AS hour,
    {version:UInt64}                                                        AS version,
    arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
    countState()                                                            AS requests_s,
    countIfState(status = 'error')                                          AS errors_s,
    countIfState(status = 'ok')                                             AS ok_s,
    sumMapIfState(map(lat_key(latency_ms), toUInt64(1)), status = 'ok')     AS latency_hist_s
FROM request_events FINAL
WHERE model_name = {model_name:String}
  AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
GROUP BY model_name, arm, hour, segments
