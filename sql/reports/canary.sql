-- Canary report: unpaired arms of one model in request_events ({stable_arm} vs {canary_arm},
-- different requests), in [from, to), overall (segment_key '') and per segment. Reads
-- deduplicated events (FINAL).
--
-- Metrics:
--   stable_error_rate, canary_error_rate    Wilson 95 % (z = 1.959963984540054)
--   error_rate_diff        canary rate − stable rate; p from proportionsZTest(canary errors,
--                          stable errors, canary n, stable n, 0.95, 'pooled') (the pooled z-test,
--                          as scipy/statsmodels), interval the function's 95 % interval; NULL when an
--                          arm is empty or no arm (or every request) failed. 'two-proportion-z-pooled'
--   latency_mann_whitney   Mann-Whitney U of ok requests' latency, canary vs stable: value = U of the
--                          canary sample (scipy's mannwhitneyu(canary, stable).statistic), p from the
--                          normal approximation with tie and continuity correction; details.auc =
--                          U/(n_canary·n_stable) = P(canary slower) + ½P(tie). Mann-Whitney misses
--                          changes in spread and tails: gate the quantiles too. 'mann-whitney-asymptotic'
--   latency_pXX_stable, latency_pXX_canary, latency_pXX_ratio (XX = 50, 95, 99)
--                          quantilesExactInclusive (numpy 'linear') of ok requests; ratio canary/stable
-- Mann-Whitney and the quantiles hold every value in memory: they use the deterministic sample
-- cityHash64(event_id) % {sample_mod} = 0 (1 = every request), and n is the sample size.
WITH
    1.959963984540054 AS z,
    -- (metric, k, n) -> row with the Wilson score interval of k/n
    r -> (
        r.1,
        if(r.3 = 0, NULL, r.2 / r.3),
        toUInt64(r.3),
        if(r.3 = 0, NULL, greatest(0., ((r.2 / r.3) + z * z / (2 * r.3) - z * sqrt((r.2 / r.3) * (1 - r.2 / r.3) / r.3 + z * z / (4 * r.3 * r.3))) / (1 + z * z / r.3))),
        if(r.3 = 0, NULL, least(1., ((r.2 / r.3) + z * z / (2 * r.3) + z * sqrt((r.2 / r.3) * (1 - r.2 / r.3) / r.3 + z * z / (4 * r.3 * r.3))) / (1 + z * z / r.3))),
        CAST(NULL, 'Nullable(Float64)'),
        'wilson-95',
        '{}'
    ) AS wilson_row,
    ['p50', 'p95', 'p99'] AS levels
SELECT
    'canary'                                      AS report,
    m.1                                           AS metric,
    segment_key,
    segment_value,
    m.2                                           AS value,
    m.3                                           AS n,
    m.4                                           AS lower,
    m.5                                           AS upper,
    m.6                                           AS p_value,
    CAST(NULL, 'Nullable(Float64)')               AS p_adjusted,
    m.7                                           AS method,
    m.8                                           AS details
FROM
(
-- only what the rows need leaves this level: the latency samples stay behind instead of being
-- copied once per metric row by the ARRAY JOIN below
SELECT
    segment_key, segment_value, n_stable, n_canary, stable_errors, canary_errors, n_stable_lat, n_canary_lat,
    z_possible, ztest, mw_possible, mw, q_stable, q_canary, q_details
FROM
(
    SELECT
        *,
        length(stable_latency)                                               AS n_stable_lat,
        length(canary_latency)                                               AS n_canary_lat,
        n_stable > 0 AND n_canary > 0 AND stable_errors + canary_errors > 0
            AND stable_errors + canary_errors < n_stable + n_canary          AS z_possible,
        proportionsZTest(canary_errors, stable_errors, greatest(n_canary, 1), greatest(n_stable, 1), 0.95, 'pooled') AS ztest,
        n_stable_lat > 0 AND n_canary_lat > 0                                AS mw_possible,
        -- the function refuses an empty sample: a two-value stand-in when an arm has none
        arrayReduce('mannWhitneyUTest(''two-sided'')',
                    if(mw_possible, arrayConcat(canary_latency, stable_latency), [0., 1.]),
                    if(mw_possible, arrayConcat(arrayResize(CAST([], 'Array(UInt8)'), n_canary_lat, 0),
                                                arrayResize(CAST([], 'Array(UInt8)'), n_stable_lat, 1)), [toUInt8(0), toUInt8(1)])) AS mw,
        if(n_stable_lat = 0, CAST([], 'Array(Float64)'), arrayReduce('quantilesExactInclusive(0.5, 0.95, 0.99)', stable_latency)) AS q_stable,
        if(n_canary_lat = 0, CAST([], 'Array(Float64)'), arrayReduce('quantilesExactInclusive(0.5, 0.95, 0.99)', canary_latency)) AS q_canary,
        toJSONString(CAST(({sample_mod:UInt64}, n_stable_ok, n_canary_ok), 'Tuple(sample_mod UInt64, n_stable_total UInt64, n_canary_total UInt64)')) AS q_details
    FROM
    (
        -- Two levels: the scan aggregates once per combination of segment values (partial
        -- states), then each segment merges the combinations it covers.
        SELECT
            seg.1                                                                    AS segment_key,
            seg.2                                                                    AS segment_value,
            countIfMerge(n_stable_s)                                                 AS n_stable,
            countIfMerge(n_canary_s)                                                 AS n_canary,
            countIfMerge(stable_errors_s)                                            AS stable_errors,
            countIfMerge(canary_errors_s)                                            AS canary_errors,
            countIfMerge(n_stable_ok_s)                                              AS n_stable_ok,
            countIfMerge(n_canary_ok_s)                                              AS n_canary_ok,
            groupArrayIfMerge(stable_latency_s)                                      AS stable_latency,
            groupArrayIfMerge(canary_latency_s)                                      AS canary_latency
        FROM
        (
            SELECT
                segments,
                countIfState(arm = {stable_arm:String})                              AS n_stable_s,
                countIfState(arm = {canary_arm:String})                              AS n_canary_s,
                countIfState(arm = {stable_arm:String} AND status = 'error')         AS stable_errors_s,
                countIfState(arm = {canary_arm:String} AND status = 'error')         AS canary_errors_s,
                countIfState(arm = {stable_arm:String} AND status = 'ok')            AS n_stable_ok_s,
                countIfState(arm = {canary_arm:String} AND status = 'ok')            AS n_canary_ok_s,
                groupArrayIfState(latency_ms, arm = {stable_arm:String} AND status = 'ok' AND sampled) AS stable_latency_s,
                groupArrayIfState(latency_ms, arm = {canary_arm:String} AND status = 'ok' AND sampled) AS canary_latency_s
            FROM
            (
                SELECT
                    -- the request's (key, value) for each requested segment key it has
                    arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                    arm,
                    status,
                    latency_ms,
                    cityHash64(event_id) % {sample_mod:UInt64} = 0     AS sampled
                FROM request_events FINAL
                WHERE model_name = {model:String}
                  AND arm IN ({stable_arm:String}, {canary_arm:String})
                  AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
            )
            GROUP BY segments
        )
        ARRAY JOIN arrayConcat([('', '')], segments) AS seg
        GROUP BY segment_key, segment_value
    ) AS agg
    FULL OUTER JOIN (SELECT '' AS segment_key, '' AS segment_value) AS overall USING (segment_key, segment_value)
)
)
ARRAY JOIN arrayFilter(r -> segment_key = '' OR r.3 > 0, arrayConcat(
    arrayMap(wilson_row, [
        ('stable_error_rate', stable_errors, n_stable),
        ('canary_error_rate', canary_errors, n_canary)
    ]),
    [
        ('error_rate_diff',
         if(n_stable = 0 OR n_canary = 0, NULL, canary_errors / n_canary - stable_errors / n_stable),
         toUInt64(n_stable + n_canary),
         if(z_possible, ztest.confidence_interval_low, NULL),
         if(z_possible, ztest.confidence_interval_high, NULL),
         if(z_possible, ztest.p_value, NULL),
         'two-proportion-z-pooled',
         toJSONString(CAST((if(z_possible, ztest.z_statistic, NULL), stable_errors, n_stable, canary_errors, n_canary),
                           'Tuple(z Nullable(Float64), stable_errors UInt64, n_stable UInt64, canary_errors UInt64, n_canary UInt64)'))),
        ('latency_mann_whitney',
         if(mw_possible, mw.u_statistic, NULL),
         toUInt64(n_stable_lat + n_canary_lat),
         NULL, NULL,
         if(mw_possible, mw.p_value, NULL),
         'mann-whitney-asymptotic',
         toJSONString(CAST((if(mw_possible, mw.u_statistic / (n_stable_lat * n_canary_lat), NULL), n_stable_lat, n_canary_lat, {sample_mod:UInt64}),
                           'Tuple(auc Nullable(Float64), n_stable UInt64, n_canary UInt64, sample_mod UInt64)')))
    ],
    arrayFlatten(arrayMap(i -> [
        (concat('latency_', levels[i], '_stable'), if(n_stable_lat = 0, NULL, q_stable[i]), toUInt64(n_stable_lat), NULL, NULL, NULL,
         'quantile-exact-inclusive', q_details),
        (concat('latency_', levels[i], '_canary'), if(n_canary_lat = 0, NULL, q_canary[i]), toUInt64(n_canary_lat), NULL, NULL, NULL,
         'quantile-exact-inclusive', q_details),
        (concat('latency_', levels[i], '_ratio'), if(n_stable_lat = 0 OR n_canary_lat = 0 OR q_stable[i] = 0, NULL, q_canary[i] / q_stable[i]),
         toUInt64(n_canary_lat), NULL, NULL, NULL, 'quantile-ratio', q_details)
    ], range(1, 4)))
)) AS m
ORDER BY metric, segment_key, segment_value
