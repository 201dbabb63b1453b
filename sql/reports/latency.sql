-- Latency and failure report for the pairs of each candidate in {candidates} in [from, to),
-- overall (segment_key '') and per segment. Reads deduplicated pairs (FINAL). One statement for
-- all candidates, as agreement.sql; rows start with the candidate's name.
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
-- cityHash64(event_id) % sample_mod = 0 (1 = every pair; each candidate's sample_mod at its
-- place in {sample_mods}); n is the sample size and
-- details.n_total the pairs it was drawn from. No interval is given for quantiles: a
-- distribution-free one needs order statistics at ranks that depend on each segment's n, which
-- quantilesExactInclusive (constant levels) cannot take; n says how much evidence there is.
--
-- Roll-ups, as in agreement.sql: the hours [roll_from, roll_to) come from pair_rollups, the rest
-- from shadow_pairs FINAL, merged as the same -State columns. With {hist} = 1 (set whenever
-- roll-ups are read) the quantiles come from log-bucket histograms of every ok pair instead: each
-- within 0.5 % of the exact quantile of all of them (method 'quantile-log-histogram', n = every
-- ok pair, details.relative_accuracy; see rollup_pairs.sql).
WITH
    1.959963984540054 AS z,
    c -> greatest({sample_mods:Array(UInt64)}[indexOf({candidates:Array(String)}, c)], 1) AS sample_mod_of,
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
    ['p50', 'p95', 'p99'] AS levels,
    log((1 + 0.005) / (1 - 0.005)) AS ln_gamma,
    x -> toInt32(if(NOT isFinite(x) OR abs(x) < 1e-12, 0, sign(x) * (40000 + ceil(log(abs(x)) / ln_gamma)))) AS dd_key,
    -- a histogram key back to its bucket's midpoint
    k -> if(k = 0, 0., sign(k) * 2 * exp((abs(k) - 40000) * ln_gamma) / (1 + exp(ln_gamma))) AS dd_value,
    -- quantile q of a histogram (sorted keys, cumulative counts, n values) at rank q·(n − 1),
    -- interpolated linearly between the buckets of the neighbouring ranks as numpy's 'linear'
    -- does. Call it with plain columns: a lambda argument is substituted as text, and an array
    -- expression inside the arrayFirstIndex lambda would be re-evaluated for every element.
    (keys, cum, n, q) -> dd_value(keys[arrayFirstIndex(c -> c > floor(q * (n - 1)), cum)])
        + (q * (n - 1) - floor(q * (n - 1)))
        * (dd_value(keys[arrayFirstIndex(c -> c > ceil(q * (n - 1)), cum)])
           - dd_value(keys[arrayFirstIndex(c -> c > floor(q * (n - 1)), cum)])) AS dd_quantile
SELECT
    candidate,
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
    -- the histograms stay behind: what leaves this level is copied once per metric row below
    * EXCEPT (qe_base, qe_cand, qe_diff, n_lat_e, h_base, h_cand, h_diff, hb_keys, hb_cum, hc_keys, hc_cum, hd_keys, hd_cum),
    if({hist:UInt8}, '{"relative_accuracy":0.005}',
       toJSONString(CAST((sample_mod_of(candidate), n_ok), 'Tuple(sample_mod UInt64, n_total UInt64)'))) AS q_details,
    if({hist:UInt8}, 'quantile-log-histogram', 'quantile-exact-inclusive')                    AS q_method,
    if({hist:UInt8}, 'quantile-log-histogram-paired-difference', 'quantile-exact-inclusive-paired-difference') AS q_diff_method,
    if({hist:UInt8}, n_ok, n_lat_e)                                                           AS n_lat,
    if({hist:UInt8} AND n_ok > 0, arrayMap(q -> dd_quantile(hb_keys, hb_cum, n_ok, q), [0.5, 0.95, 0.99]), qe_base) AS q_base,
    if({hist:UInt8} AND n_ok > 0, arrayMap(q -> dd_quantile(hc_keys, hc_cum, n_ok, q), [0.5, 0.95, 0.99]), qe_cand) AS q_cand,
    if({hist:UInt8} AND n_ok > 0, arrayMap(q -> dd_quantile(hd_keys, hd_cum, n_ok, q), [0.5, 0.95, 0.99]), qe_diff) AS q_diff
FROM
(
SELECT
    *,
    mapKeys(h_base)                AS hb_keys,
    arrayCumSum(mapValues(h_base)) AS hb_cum,
    mapKeys(h_cand)                AS hc_keys,
    arrayCumSum(mapValues(h_cand)) AS hc_cum,
    mapKeys(h_diff)                AS hd_keys,
    arrayCumSum(mapValues(h_diff)) AS hd_cum
FROM
(
    -- Two levels: the scan aggregates once per combination of segment values (partial states,
    -- as pair_rollups stores them), then each segment merges the combinations it covers, so no
    -- row is aggregated once per segment key.
    SELECT
        candidate,
        seg.1                                                                   AS segment_key,
        seg.2                                                                   AS segment_value,
        countMerge(pairs_s)                                                     AS pairs,
        countIfMerge(candidate_errors_s)                                        AS candidate_errors,
        countIfMerge(candidate_timeouts_s)                                      AS candidate_timeouts,
        countIfMerge(baseline_errors_s)                                         AS baseline_errors,
        countIfMerge(n_ok_s)                                                    AS n_ok,
        countIfMerge(n_lat_s)                                                   AS n_lat_e,
        quantilesExactInclusiveIfMerge(0.5, 0.95, 0.99)(q_base_s)               AS qe_base,
        quantilesExactInclusiveIfMerge(0.5, 0.95, 0.99)(q_cand_s)               AS qe_cand,
        quantilesExactInclusiveIfMerge(0.5, 0.95, 0.99)(q_diff_s)               AS qe_diff,
        sumMapIfMerge(h_base_s)                                                 AS h_base,
        sumMapIfMerge(h_cand_s)                                                 AS h_cand,
        sumMapIfMerge(h_diff_s)                                                 AS h_diff
    FROM
    (
        SELECT
            candidate,
            segments,
            countState()                                                        AS pairs_s,
            countIfState(candidate_status = 'error')                            AS candidate_errors_s,
            countIfState(candidate_status = 'timeout')                          AS candidate_timeouts_s,
            countIfState(baseline_status = 'error')                             AS baseline_errors_s,
            countIfState(ok)                                                    AS n_ok_s,
            countIfState(ok AND sampled)                                        AS n_lat_s,
            quantilesExactInclusiveIfState(0.5, 0.95, 0.99)(baseline_latency_ms, ok AND sampled AND NOT {hist:UInt8})                        AS q_base_s,
            quantilesExactInclusiveIfState(0.5, 0.95, 0.99)(candidate_latency_ms, ok AND sampled AND NOT {hist:UInt8})                       AS q_cand_s,
            quantilesExactInclusiveIfState(0.5, 0.95, 0.99)(candidate_latency_ms - baseline_latency_ms, ok AND sampled AND NOT {hist:UInt8}) AS q_diff_s,
            -- the keys are only computed when the histograms are wanted
            sumMapIfState(map(if({hist:UInt8}, dd_key(baseline_latency_ms), 0), toUInt64(1)), ok AND {hist:UInt8})                          AS h_base_s,
            sumMapIfState(map(if({hist:UInt8}, dd_key(candidate_latency_ms), 0), toUInt64(1)), ok AND {hist:UInt8})                         AS h_cand_s,
            sumMapIfState(map(if({hist:UInt8}, dd_key(candidate_latency_ms - baseline_latency_ms), 0), toUInt64(1)), ok AND {hist:UInt8})   AS h_diff_s
        FROM
        (
            SELECT
                candidate,
                -- the event's (key, value) for each requested segment key it has
                arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                baseline_status,
                candidate_status,
                baseline_latency_ms,
                candidate_latency_ms,
                baseline_status = 'ok' AND candidate_status = 'ok'    AS ok,
                cityHash64(event_id) % sample_mod_of(candidate) = 0   AS sampled
            FROM shadow_pairs FINAL
            WHERE experiment = {experiment:String}
              AND candidate IN {candidates:Array(String)}
              -- [from, to) without the rolled hours [roll_from, roll_to)
              AND ((event_time >= {from:DateTime64(3)} AND event_time < {roll_from:DateTime64(3)})
                OR (event_time >= {roll_to:DateTime64(3)} AND event_time < {to:DateTime64(3)}))
        )
        GROUP BY candidate, segments
        UNION ALL
        SELECT
            candidate,
            arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), segments) AS segments,
            pairs_s,
            candidate_errors_s,
            candidate_timeouts_s,
            baseline_errors_s,
            compared_s                                                          AS n_ok_s,
            initializeAggregation('countIfState', toUInt8(0))                   AS n_lat_s,
            initializeAggregation('quantilesExactInclusiveIfState(0.5, 0.95, 0.99)', 0., toUInt8(0)) AS q_base_s,
            initializeAggregation('quantilesExactInclusiveIfState(0.5, 0.95, 0.99)', 0., toUInt8(0)) AS q_cand_s,
            initializeAggregation('quantilesExactInclusiveIfState(0.5, 0.95, 0.99)', 0., toUInt8(0)) AS q_diff_s,
            lat_base_hist_s                                                     AS h_base_s,
            lat_cand_hist_s                                                     AS h_cand_s,
            lat_diff_hist_s                                                     AS h_diff_s
        FROM pair_rollups
        WHERE experiment = {experiment:String}
          AND candidate IN {candidates:Array(String)}
          AND hour >= {roll_from:DateTime64(3)} AND hour < {roll_to:DateTime64(3)}
          -- the spans (hours or whole days) and versions the ledger names, from the comparator
          AND has(arrayZip({roll_spans:Array(UInt8)}, {roll_hours:Array(DateTime('UTC'))}, {roll_versions:Array(UInt64)}), (span_hours, hour, version))
    )
    ARRAY JOIN arrayConcat([('', '')], segments) AS seg
    GROUP BY candidate, segment_key, segment_value
) AS agg
FULL OUTER JOIN (SELECT arrayJoin({candidates:Array(String)}) AS candidate, '' AS segment_key, '' AS segment_value) AS overall
    USING (candidate, segment_key, segment_value)
)
)
ARRAY JOIN arrayFilter(r -> segment_key = '' OR r.3 > 0, arrayConcat(
    arrayMap(wilson_row, [
        ('error_rate', candidate_errors, pairs),
        ('timeout_rate', candidate_timeouts, pairs),
        ('baseline_error_rate', baseline_errors, pairs)
    ]),
    arrayFlatten(arrayMap(i -> [
        (concat('latency_', levels[i], '_baseline'), if(n_lat = 0, NULL, q_base[i]), toUInt64(n_lat), NULL, NULL,
         q_method, q_details),
        (concat('latency_', levels[i], '_candidate'), if(n_lat = 0, NULL, q_cand[i]), toUInt64(n_lat), NULL, NULL,
         q_method, q_details),
        (concat('latency_', levels[i], '_diff'), if(n_lat = 0, NULL, q_diff[i]), toUInt64(n_lat), NULL, NULL,
         q_diff_method, q_details),
        (concat('latency_', levels[i], '_ratio'), if(n_lat = 0 OR q_base[i] = 0, NULL, q_cand[i] / q_base[i]), toUInt64(n_lat), NULL, NULL,
         'quantile-ratio', q_details)
    ], range(1, 4)))
)) AS m
ORDER BY candidate, metric, segment_key, segment_value
-- optimize_and_compare_chain = 0: that analyzer pass derives extra constant comparisons from
-- the AND chains of the time filters; on this statement it cost 50-80 ms of planning per run
-- (near-empty window, chDB 26.7) and adds no filter the ranges do not already state.
-- compile_expressions = 0: the third run of the same statement (same window) JIT-compiles its
-- expressions with LLVM, ~1 s of CPU at once that stalled the whole report set (0.8 s -> 2 s);
-- on roll-ups there is too little data for compiled code to win that back.
SETTINGS optimize_and_compare_chain = 0, compile_expressions = 0
