-- Latency and failure report for one candidate's pairs in [from, to), overall (segment_key '')
-- and per segment. Reads deduplicated pairs (FINAL).
--
-- Metrics:
--   error_rate, timeout_rate, baseline_error_rate
--        share of all pairs (error_rate and timeout_rate: the candidate's calls); Wilson 95 % (z = 1.959963984540054)
--   latency_pXX_baseline, latency_pXX_candidate    (XX = 50, 95, 99)
--        quantilesExactInclusive (numpy 'linear') over pairs where both calls were ok, so both
--        quantiles describe the same events
--   latency_pXX_diff      the same quantile of the paired difference candidate − baseline
--   latency_pXX_ratio     latency_pXX_candidate / latency_pXX_baseline
-- Quantiles hold every value in memory: they use the deterministic sample
-- cityHash64(event_id) % {sample_mod} = 0 (1 = every pair); n is the sample size and
-- details.n_total the pairs it was drawn from. No interval is given for quantiles: a
-- distribution-free one needs order statistics at ranks that depend on each segment's n, which
-- quantilesExactInclusive (constant levels) cannot take; n says how much evidence there is.
WITH
    1.959963984540054 AS z,
    -- (metric, k, n) -> row with the Wilson score interval of k/n
    r -> (
        r.1,
        if(r.3 = 0, NULL, r.2 / r.3),
        toUInt64(r.3),
        if(r.3 = 0, NULL, greatest(0., ((r.2 / r.3) + z * z / (2 * r.3) - z * sqrt((r.2 / r.3) * (1 - r.2 / r.3) / r.3 + z * z / (4 * r.3 * r.3))) / (1 + z * z / r.3))),
        if(r.3 = 0, NULL, least(1., ((r.2 / r.3) + z * z / (2 * r.3) + z * sqrt((r.2 / r.3) * (1 - r.2 / r.3) / r.3 + z * z / (4 * r.3 * r.3))) / (1 + z * z / r.3))),
        'wilson-95',
        '{}'
    ) AS wilson_row,
    ['p50', 'p95', 'p99'] AS levels
SELECT
    'latency'                                     AS report,
    m.1                                           AS metric,
    segment_key,
    segment_value,
    m.2                                           AS value,
    m.3                                           AS n,
    m.4                                           AS lower,
    m.5                                           AS upper,
    CAST(NULL, 'Nullable(Float64)')               AS p_value,
    CAST(NULL, 'Nullable(Float64)')               AS p_adjusted,
    m.6                                           AS method,
    m.7                                           AS details
FROM
(
SELECT
    *,
    toJSONString(CAST(({sample_mod:UInt64}, n_ok), 'Tuple(sample_mod UInt64, n_total UInt64)')) AS q_details
FROM
(
    -- Two levels: the scan aggregates once per combination of segment values (partial states),
    -- then each segment merges the combinations it covers, so no row is aggregated once per
    -- segment key.
    SELECT
        seg.1                                                                   AS segment_key,
        seg.2                                                                   AS segment_value,
        countMerge(pairs_s)                                                     AS pairs,
        countIfMerge(candidate_errors_s)                                        AS candidate_errors,
        countIfMerge(candidate_timeouts_s)                                      AS candidate_timeouts,
        countIfMerge(baseline_errors_s)                                         AS baseline_errors,
        countIfMerge(n_ok_s)                                                    AS n_ok,
        countIfMerge(n_lat_s)                                                   AS n_lat,
        quantilesExactInclusiveIfMerge(0.5, 0.95, 0.99)(q_base_s)               AS q_base,
        quantilesExactInclusiveIfMerge(0.5, 0.95, 0.99)(q_cand_s)               AS q_cand,
        quantilesExactInclusiveIfMerge(0.5, 0.95, 0.99)(q_diff_s)               AS q_diff
    FROM
    (
        SELECT
            segments,
            countState()                                                        AS pairs_s,
            countIfState(candidate_status = 'error')                            AS candidate_errors_s,
            countIfState(candidate_status = 'timeout')                          AS candidate_timeouts_s,
            countIfState(baseline_status = 'error')                             AS baseline_errors_s,
            countIfState(ok)                                                    AS n_ok_s,
            countIfState(ok AND sampled)                                        AS n_lat_s,
            quantilesExactInclusiveIfState(0.5, 0.95, 0.99)(baseline_latency_ms, ok AND sampled)                        AS q_base_s,
            quantilesExactInclusiveIfState(0.5, 0.95, 0.99)(candidate_latency_ms, ok AND sampled)                       AS q_cand_s,
            quantilesExactInclusiveIfState(0.5, 0.95, 0.99)(candidate_latency_ms - baseline_latency_ms, ok AND sampled) AS q_diff_s
        FROM
        (
            SELECT
                -- the event's (key, value) for each requested segment key it has
                arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                baseline_status,
                candidate_status,
                baseline_latency_ms,
                candidate_latency_ms,
                baseline_status = 'ok' AND candidate_status = 'ok'    AS ok,
                cityHash64(event_id) % {sample_mod:UInt64} = 0        AS sampled
            FROM shadow_pairs FINAL
            WHERE experiment = {experiment:String}
              AND candidate = {candidate:String}
              AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
        )
        GROUP BY segments
    )
    ARRAY JOIN arrayConcat([('', '')], segments) AS seg
    GROUP BY segment_key, segment_value
) AS agg
FULL OUTER JOIN (SELECT '' AS segment_key, '' AS segment_value) AS overall USING (segment_key, segment_value)
)
ARRAY JOIN arrayFilter(r -> segment_key = '' OR r.3 > 0, arrayConcat(
    arrayMap(wilson_row, [
        ('error_rate', candidate_errors, pairs),
        ('timeout_rate', candidate_timeouts, pairs),
        ('baseline_error_rate', baseline_errors, pairs)
    ]),
    arrayFlatten(arrayMap(i -> [
        (concat('latency_', levels[i], '_baseline'), if(n_lat = 0, NULL, q_base[i]), toUInt64(n_lat), NULL, NULL,
         'quantile-exact-inclusive', q_details),
        (concat('latency_', levels[i], '_candidate'), if(n_lat = 0, NULL, q_cand[i]), toUInt64(n_lat), NULL, NULL,
         'quantile-exact-inclusive', q_details),
        (concat('latency_', levels[i], '_diff'), if(n_lat = 0, NULL, q_diff[i]), toUInt64(n_lat), NULL, NULL,
         'quantile-exact-inclusive-paired-difference', q_details),
        (concat('latency_', levels[i], '_ratio'), if(n_lat = 0 OR q_base[i] = 0, NULL, q_cand[i] / q_base[i]), toUInt64(n_lat), NULL, NULL,
         'quantile-ratio', q_details)
    ], range(1, 4)))
)) AS m
ORDER BY metric, segment_key, segment_value
