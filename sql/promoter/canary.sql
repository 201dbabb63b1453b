-- Unpaired evidence from live traffic while the candidate serves part of it: requests, errors and
-- latency of the stable and the canary arm of one model over one event-time window, overall
-- (segment_key '') and per value of each requested segment key. Each request was served by one
-- arm only, so these are two independent samples, not pairs. Reads deduplicated events (FINAL).
--
-- exceedance: canary latencies above ratio x the stable arm's quantile in the same window and
-- segment, one (quantile, ratio, k, n) per pair of the exceed_* arrays; n is 0 while the stable
-- arm has no successful request to take the quantile from.
WITH
    events AS
    (
        SELECT
            seg.1                     AS segment_key,
            seg.2                     AS segment_value,
            arm = {stable_arm:String} AS stable,
            status = 'ok'             AS ok,
            latency_ms
        FROM
        (
            SELECT arm, status, latency_ms, attributes
            FROM request_events FINAL
            WHERE model_name = {model:String}
              AND arm IN ({stable_arm:String}, {canary_arm:String})
              AND event_time >= {from:DateTime64(3, 'UTC')}
              AND event_time < {to:DateTime64(3, 'UTC')}
        )
        ARRAY JOIN arrayConcat(
            [('', '')],
            arrayMap(k -> (k, attributes[k]), arrayFilter(k -> mapContains(attributes, k), {segment_keys:Array(String)}))
        ) AS seg
    )
SELECT
    segment_key,
    segment_value,
    stable_n,
    stable_errors,
    stable_latency[3]  AS stable_p99,
    canary_n,
    canary_errors,
    canary_p99,
    exceedance
FROM
(
    SELECT
        segment_key,
        segment_value,
        countIf(stable)                                                          AS stable_n,
        countIf(stable AND NOT ok)                                               AS stable_errors,
        countIf(stable AND ok)                                                   AS stable_ok,
        quantilesExactInclusiveIf(0.5, 0.95, 0.99)(latency_ms, stable AND ok)    AS stable_latency,
        countIf(NOT stable)                                                      AS canary_n,
        countIf(NOT stable AND NOT ok)                                           AS canary_errors,
        quantileExactInclusiveIf(0.99)(latency_ms, NOT stable AND ok)            AS canary_p99,
        groupArrayIf(latency_ms, NOT stable AND ok)                              AS canary_latencies,
        arrayMap(
            (q, r) -> (q, r,
                       if(stable_ok = 0, 0, arrayCount(x -> x > r * multiIf(q = 0.5, stable_latency[1], q = 0.95, stable_latency[2], stable_latency[3]), canary_latencies)),
                       if(stable_ok = 0, 0, length(canary_latencies))),
            {exceed_quantiles:Array(Float64)}, {exceed_ratios:Array(Float64)})  AS exceedance
    FROM events
    GROUP BY segment_key, segment_value
)
ORDER BY segment_key, segment_value
