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
--
-- Roll-ups, as in latency.sql: the hours [roll_from, roll_to) come from request_rollups (the spans
-- and versions the ledger request_rollup_hours names), the rest of [from, to) from
-- request_events FINAL, merged as the same -State columns; counts, error rates and the z-test are
-- the same as from the raw events. With {hist} = 1 (set whenever roll-ups are read) Mann-Whitney
-- and the quantiles use every ok request through per-arm log-bucket histograms of latency with
-- relative accuracy 1e-3 (rollup_requests.sql) instead of the sample:
--   latency_mann_whitney   U = Σ over buckets of canary count × (stable count below + ½ stable
--                          count in the bucket), the tie correction and p as above with each
--                          bucket a tie group. Equal values share a bucket, so this is the exact U
--                          unless distinct values of both arms fall in one bucket (within 0.2 %
--                          of each other); each such cross-arm pair moves U by at most ½.
--                          'mann-whitney-asymptotic-histogram', details.relative_accuracy
--   latency_pXX_*          from the same histograms, each within 0.1 % of the exact quantile of
--                          every ok request: 'quantile-log-histogram', n = every ok request
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
    ['p50', 'p95', 'p99'] AS levels,
    log((1 + 0.001) / (1 - 0.001)) AS ln_gamma,
    x -> toInt32(if(NOT isFinite(x) OR abs(x) < 1e-12, 0, sign(x) * (1000000 + ceil(log(abs(x)) / ln_gamma)))) AS lat_key,
    -- a histogram key back to its bucket's midpoint
    k -> if(k = 0, 0., sign(k) * 2 * exp((abs(k) - 1000000) * ln_gamma) / (1 + exp(ln_gamma))) AS lat_value,
    -- quantile q of a histogram (sorted keys, cumulative counts, n values), as latency.sql's dd_quantile
    (keys, cum, n, q) -> lat_value(keys[arrayFirstIndex(c -> c > floor(q * (n - 1)), cum)])
        + (q * (n - 1) - floor(q * (n - 1)))
        * (lat_value(keys[arrayFirstIndex(c -> c > ceil(q * (n - 1)), cum)])
           - lat_value(keys[arrayFirstIndex(c -> c > floor(q * (n - 1)), cum)])) AS hist_quantile
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
-- only what the rows need leaves this level: the latency samples and histograms stay behind
-- instead of being copied once per metric row by the ARRAY JOIN below
SELECT
    segment_key, segment_value, n_stable, n_canary, stable_errors, canary_errors, n_stable_lat, n_canary_lat,
    z_possible, ztest, mw_possible, mw_u, mw_p, mw_method, mw_details, q_stable, q_canary, q_method, q_details
FROM
(
    SELECT
        *,
        if({hist:UInt8}, n_stable_ok, length(stable_latency))               AS n_stable_lat,
        if({hist:UInt8}, n_canary_ok, length(canary_latency))               AS n_canary_lat,
        n_stable > 0 AND n_canary > 0 AND stable_errors + canary_errors > 0
            AND stable_errors + canary_errors < n_stable + n_canary          AS z_possible,
        proportionsZTest(canary_errors, stable_errors, greatest(n_canary, 1), greatest(n_stable, 1), 0.95, 'pooled') AS ztest,
        n_stable_lat > 0 AND n_canary_lat > 0                                AS mw_possible,
        -- the function refuses an empty sample: a two-value stand-in when an arm has none
        arrayReduce('mannWhitneyUTest(''two-sided'')',
                    if(mw_possible AND NOT {hist:UInt8}, arrayConcat(canary_latency, stable_latency), [0., 1.]),
                    if(mw_possible AND NOT {hist:UInt8}, arrayConcat(arrayResize(CAST([], 'Array(UInt8)'), n_canary_lat, 0),
                                                arrayResize(CAST([], 'Array(UInt8)'), n_stable_lat, 1)), [toUInt8(0), toUInt8(1)])) AS mw_exact,
        -- {hist} = 1: U over the buckets, the tie correction Σ (t³ − t) over buckets, and p with the
        -- continuity correction, as scipy's mannwhitneyu(method='asymptotic')
        arraySum((c, s, cs) -> c * (cs - s + 0.5 * s), h_canary, h_stable, h_stable_cum)                AS u_hist,
        arraySum((s, c) -> pow(s + c, 3) - (s + c), h_stable, h_canary)                                AS ties_hist,
        sqrt(n_stable_lat * n_canary_lat / 12 * ((n_stable_lat + n_canary_lat + 1)
             - ties_hist / ((n_stable_lat + n_canary_lat) * (n_stable_lat + n_canary_lat - 1))))     AS sigma_hist,
        if({hist:UInt8}, u_hist, mw_exact.u_statistic)                      AS mw_u,
        if({hist:UInt8},
           if(sigma_hist > 0, least(1., erfc((abs(u_hist - n_stable_lat * n_canary_lat / 2) - 0.5) / sigma_hist / sqrt(2))), NULL),
           mw_exact.p_value)                                                 AS mw_p,
        if({hist:UInt8}, 'mann-whitney-asymptotic-histogram', 'mann-whitney-asymptotic') AS mw_method,
        if({hist:UInt8},
           toJSONString(CAST((if(mw_possible, mw_u / (n_stable_lat * n_canary_lat), NULL), n_stable_lat, n_canary_lat, 0.001),
                             'Tuple(auc Nullable(Float64), n_stable UInt64, n_canary UInt64, relative_accuracy Float64)')),
           toJSONString(CAST((if(mw_possible, mw_u / (n_stable_lat * n_canary_lat), NULL), n_stable_lat, n_canary_lat, {sample_mod:UInt64}),
                             'Tuple(auc Nullable(Float64), n_stable UInt64, n_canary UInt64, sample_mod UInt64)'))) AS mw_details,
        if({hist:UInt8},
           if(n_stable_lat = 0, CAST([], 'Array(Float64)'),
              arrayMap(q -> hist_quantile(h_keys, h_stable_cum, n_stable_lat, q), [0.5, 0.95, 0.99])),
           if(n_stable_lat = 0, CAST([], 'Array(Float64)'), arrayReduce('quantilesExactInclusive(0.5, 0.95, 0.99)', stable_latency))) AS q_stable,
        if({hist:UInt8},
           if(n_canary_lat = 0, CAST([], 'Array(Float64)'),
              arrayMap(q -> hist_quantile(h_keys, h_canary_cum, n_canary_lat, q), [0.5, 0.95, 0.99])),
           if(n_canary_lat = 0, CAST([], 'Array(Float64)'), arrayReduce('quantilesExactInclusive(0.5, 0.95, 0.99)', canary_latency))) AS q_canary,
        if({hist:UInt8}, 'quantile-log-histogram', 'quantile-exact-inclusive') AS q_method,
        if({hist:UInt8}, '{"relative_accuracy":0.001}',
           toJSONString(CAST(({sample_mod:UInt64}, n_stable_ok, n_canary_ok), 'Tuple(sample_mod UInt64, n_stable_total UInt64, n_canary_total UInt64)'))) AS q_details
    FROM
    (
        SELECT
            *,
            h.1                      AS h_keys,
            h.2                      AS h_stable,
            h.3                      AS h_canary,
            arrayCumSum(h_stable)    AS h_stable_cum,
            arrayCumSum(h_canary)    AS h_canary_cum
        FROM
        (
            -- one row per segment: the arms side by side, their histograms aligned on one key array
            SELECT
                segment_key,
                segment_value,
                sumIf(requests, arm = {stable_arm:String})                          AS n_stable,
                sumIf(requests, arm = {canary_arm:String})                          AS n_canary,
                sumIf(errors, arm = {stable_arm:String})                            AS stable_errors,
                sumIf(errors, arm = {canary_arm:String})                            AS canary_errors,
                sumIf(ok, arm = {stable_arm:String})                                AS n_stable_ok,
                sumIf(ok, arm = {canary_arm:String})                                AS n_canary_ok,
                anyIf(latency, arm = {stable_arm:String})                           AS stable_latency,
                anyIf(latency, arm = {canary_arm:String})                           AS canary_latency,
                sumMap(mapKeys(hist),
                       if(arm = {stable_arm:String}, mapValues(hist), arrayResize(CAST([], 'Array(UInt64)'), length(hist), 0)),
                       if(arm = {canary_arm:String}, mapValues(hist), arrayResize(CAST([], 'Array(UInt64)'), length(hist), 0))) AS h
            FROM
            (
                -- Two levels: the scan aggregates once per arm and combination of segment values
                -- (partial states, as request_rollups stores them), then each segment merges the
                -- combinations it covers.
                SELECT
                    seg.1                                                            AS segment_key,
                    seg.2                                                            AS segment_value,
                    arm,
                    countMerge(requests_s)                                           AS requests,
                    countIfMerge(errors_s)                                           AS errors,
                    countIfMerge(ok_s)                                               AS ok,
                    groupArrayIfMerge(latency_s)                                     AS latency,
                    sumMapIfMerge(latency_hist_s)                                    AS hist
                FROM
                (
                    SELECT
                        -- the request's (key, value) for each requested segment key it has
                        arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                        arm,
                        countState()                                                 AS requests_s,
                        countIfState(status = 'error')                               AS errors_s,
                        countIfState(status = 'ok')                                  AS ok_s,
                        groupArrayIfState(latency_ms, status = 'ok' AND NOT {hist:UInt8} AND cityHash64(event_id) % {sample_mod:UInt64} = 0) AS latency_s,
                        -- the keys are only computed when the histograms are wanted
                        sumMapIfState(map(if({hist:UInt8}, lat_key(latency_ms), 0), toUInt64(1)), status = 'ok' AND {hist:UInt8}) AS latency_hist_s
                    FROM request_events FINAL
                    WHERE model_name = {model:String}
                      AND arm IN ({stable_arm:String}, {canary_arm:String})
                      -- [from, to) without the rolled hours [roll_from, roll_to)
                      AND ((event_time >= {from:DateTime64(3)} AND event_time < {roll_from:DateTime64(3)})
                        OR (event_time >= {roll_to:DateTime64(3)} AND event_time < {to:DateTime64(3)}))
                    GROUP BY segments, arm
                    UNION ALL
                    SELECT
                        arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), segments) AS segments,
                        arm,
                        requests_s,
                        errors_s,
                        ok_s,
                        initializeAggregation('groupArrayIfState', 0., toUInt8(0))   AS latency_s,
                        latency_hist_s
                    FROM request_rollups
                    WHERE model_name = {model:String}
                      AND arm IN ({stable_arm:String}, {canary_arm:String})
                      AND hour >= {roll_from:DateTime64(3)} AND hour < {roll_to:DateTime64(3)}
                      -- the spans (hours or whole days) and versions the ledger names, from the comparator
                      AND has(arrayZip({roll_spans:Array(UInt8)}, {roll_hours:Array(DateTime('UTC'))}, {roll_versions:Array(UInt64)}), (span_hours, hour, version))
                )
                ARRAY JOIN arrayConcat([('', '')], segments) AS seg
                GROUP BY segment_key, segment_value, arm
            )
            GROUP BY segment_key, segment_value
        ) AS agg
        FULL OUTER JOIN (SELECT '' AS segment_key, '' AS segment_value) AS overall USING (segment_key, segment_value)
    )
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
         if(mw_possible, mw_u, NULL),
         toUInt64(n_stable_lat + n_canary_lat),
         NULL, NULL,
         if(mw_possible, mw_p, NULL),
         mw_method,
         mw_details)
    ],
    arrayFlatten(arrayMap(i -> [
        (concat('latency_', levels[i], '_stable'), if(n_stable_lat = 0, NULL, q_stable[i]), toUInt64(n_stable_lat), NULL, NULL, NULL,
         q_method, q_details),
        (concat('latency_', levels[i], '_canary'), if(n_canary_lat = 0, NULL, q_canary[i]), toUInt64(n_canary_lat), NULL, NULL, NULL,
         q_method, q_details),
        (concat('latency_', levels[i], '_ratio'), if(n_stable_lat = 0 OR n_canary_lat = 0 OR q_stable[i] = 0, NULL, q_canary[i] / q_stable[i]),
         toUInt64(n_canary_lat), NULL, NULL, NULL, 'quantile-ratio', q_details)
    ], range(1, 4)))
)) AS m
ORDER BY metric, segment_key, segment_value
-- optimize_and_compare_chain = 0: that analyzer pass derives extra constant comparisons from
-- the AND chains of the time filters; on this statement it cost 50-80 ms of planning per run
-- (near-empty window, chDB 26.7) and adds no filter the ranges do not already state.
-- compile_expressions = 0: the third run of the same statement (same window) JIT-compiles its
-- expressions with LLVM, ~1 s of CPU at once that stalled the whole report set (0.8 s -> 2 s);
-- on roll-ups there is too little data for compiled code to win that back.
SETTINGS optimize_and_compare_chain = 0, compile_expressions = 0
