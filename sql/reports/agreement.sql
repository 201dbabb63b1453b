-- Agreement report: each candidate in {candidates} against the baseline on the same events,
-- overall (segment_key '') and per segment (every key in {segment_keys} x every value it takes; a
-- pair without the key counts only overall). Reads deduplicated pairs (FINAL) in [from, to).
-- One statement for all candidates: planning this statement costs more than running it on
-- rolled-up data, so it is planned once per report, not once per candidate.
--
-- Rows are the candidate's name, then MetricRows: report, metric, segment_key, segment_value, value, n, lower, upper,
-- p_value, p_adjusted (NULL here: the comparator adjusts across segments), method, details (JSON).
-- The overall segment always has its scalar metrics (n = 0, NULL values on an empty window);
-- a segment has a metric only where n > 0.
--
-- Metrics (pairs "compared" = baseline and candidate both ok):
--   agreement_rate     share of compared pairs that agree; Wilson 95 % (z = 1.959963984540054)
--   label_flip_mcnemar per label L over compared pairs with a label (a NULL label is '(null)'):
--                      b = baseline says L and the candidate not, c = the reverse. value = (c − b)/n,
--                      the net share of traffic the candidate moves into L, with a paired Wald 95 %
--                      interval; p from McNemar with continuity correction,
--                      χ² = max(|b − c| − 1, 0)²/(b + c), p = erfc(√(χ²/2)). One test per label
--                      answers "does the candidate systematically move mass into or out of L",
--                      which a single agreement rate cannot; the comparator adjusts the family
--                      (labels x segments) with Holm.
--   confusion          count of (baseline label, candidate label); details {baseline, candidate}
--   mae, bias          mean |c − b|, mean (c − b) over compared pairs with finite values;
--                      normal 95 % interval (sample sd)
--   rmse               √mean (c − b)²; the normal interval of the mean square, square-rooted
--   abs_diff_p99       quantileExactInclusive(0.99) of |c − b| (numpy 'linear'); on the
--                      deterministic sample cityHash64(event_id) % sample_mod = 0, each
--                      candidate's sample_mod at its place in {sample_mods}
--   abs_diff_max       max |c − b|
--   within_tolerance   share within the replayer's atol + rtol·|b|; Wilson 95 %
--   slope              OLS slope of c on b (1 = no systematic scaling); normal 95 % interval
--                      from the slope's standard error; details.intercept
--   topk_overlap_mean, rbo_mean, jaccard_mean   ranking agreement; normal 95 % intervals
--   field_diff_rate    per JSON path: share of compared pairs whose outputs differ there;
--                      Wilson 95 %. With A/A pairs (role 'noise') in the same window and segment,
--                      Diffy-style noise subtraction: the path is a real difference only when the
--                      candidate's rate r beats the A/A rate q (r > q) by both
--                      |r − q|/(r + q) >= {rel_threshold} and |r − q| >= {abs_threshold}
--                      (Diffy's count formulas, with rates so the two totals may differ);
--                      details.counts is NULL without A/A pairs.
--
-- Roll-ups: the hours [roll_from, roll_to) come from pair_rollups (the spans and versions the
-- ledger pair_rollup_hours names, passed as roll_spans/roll_hours/roll_versions), the rest of [from, to) from shadow_pairs FINAL; both sides carry
-- the same -State columns and are merged together, so counts, sums and moments are the same as
-- from the raw pairs alone. An empty [roll_from, roll_to) reads raw pairs only. With {hist} = 1
-- (the comparator sets it whenever roll-ups are read) abs_diff_p99 comes from a log-bucket
-- histogram of every pair (within 0.5 % of the exact quantile, 'quantile-log-histogram'; see
-- rollup_pairs.sql) instead of exact quantiles of the hash sample.
WITH
    1.959963984540054 AS z,
    -- the hash-sample modulus of a candidate (1 for one not in {candidates}: an A/A run's rows
    -- feed the other candidates' noise states, never their sampled quantiles)
    c -> greatest({sample_mods:Array(UInt64)}[indexOf({candidates:Array(String)}, c)], 1) AS sample_mod_of,
    -- (metric, k, n, method, details) -> row with the Wilson score interval of k/n
    r -> (
        r.1,
        if(r.3 = 0, NULL, r.2 / r.3),
        toUInt64(r.3),
        if(r.3 = 0, NULL, greatest(0., ((r.2 / r.3) + z * z / (2 * r.3) - z * sqrt((r.2 / r.3) * (1 - r.2 / r.3) / r.3 + z * z / (4 * r.3 * r.3))) / (1 + z * z / r.3))),
        if(r.3 = 0, NULL, least(1., ((r.2 / r.3) + z * z / (2 * r.3) + z * sqrt((r.2 / r.3) * (1 - r.2 / r.3) / r.3 + z * z / (4 * r.3 * r.3))) / (1 + z * z / r.3))),
        CAST(NULL, 'Nullable(Float64)'),
        r.4,
        r.5
    ) AS wilson_row,
    -- (metric, mean, sample sd, n) -> row with the normal 95 % interval of the mean
    r -> (
        r.1,
        if(r.4 = 0, NULL, r.2),
        toUInt64(r.4),
        if(r.4 < 2, NULL, r.2 - z * r.3 / sqrt(r.4)),
        if(r.4 < 2, NULL, r.2 + z * r.3 / sqrt(r.4)),
        CAST(NULL, 'Nullable(Float64)'),
        'normal-95',
        '{}'
    ) AS mean_row,
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
    target                                        AS candidate,
    'agreement'                                   AS report,
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
    SELECT
        -- the maps stay behind: what leaves this level is copied once per metric row below
        * EXCEPT (confusion, paths, noise_paths, ad_hist),
        -- labels: McNemar counts per label from the confusion matrix
        arrayMap(k -> (splitByChar('\x1F', k)[1], splitByChar('\x1F', k)[2]), mapKeys(confusion)) AS cm_keys,
        mapValues(confusion)                                              AS cm_counts,
        arraySum(cm_counts)                                               AS n_labelled,
        arraySort(arrayDistinct(arrayConcat(arrayMap(t -> t.1, cm_keys), arrayMap(t -> t.2, cm_keys)))) AS labels,
        arrayMap(l -> toInt64(arraySum(arrayMap((t, c) -> if(t.1 = l AND t.2 != l, c, 0), cm_keys, cm_counts))), labels) AS label_b,
        arrayMap(l -> toInt64(arraySum(arrayMap((t, c) -> if(t.2 = l AND t.1 != l, c, 0), cm_keys, cm_counts))), labels) AS label_c,
        -- structured: A/A counts aligned to the candidate's paths
        arraySort(arrayDistinct(arrayConcat(paths.1, noise_paths.1)))     AS all_paths,
        arrayMap(p -> toUInt64(arraySum(arrayMap((q, c) -> if(q = p, c, 0), paths.1, paths.2))), all_paths) AS path_counts,
        arrayMap(p -> toUInt64(arraySum(arrayMap((q, c) -> if(q = p, c, 0), noise_paths.1, noise_paths.2))), all_paths) AS noise_counts,
        if({hist:UInt8} AND n_num > 0, dd_quantile(mapKeys(ad_hist), arrayCumSum(mapValues(ad_hist)), n_num, 0.99), NULL) AS ad_p99_hist,
        -- OLS of c on b from the stable (co)variances
        if(n_num < 3 OR var_b <= 0, NULL, cov_bc / var_b)                 AS slope,
        if(n_num < 3 OR var_b <= 0, NULL,
           sqrt(greatest(var_c - cov_bc * cov_bc / var_b, 0) * (n_num - 1) / (n_num - 2) / (var_b * (n_num - 1)))) AS slope_se
    FROM
    (
        -- Two levels: the scan aggregates once per candidate, role and combination of segment
        -- values (partial states, as pair_rollups stores them), then each segment merges the
        -- combinations it covers, so no row is aggregated once per segment key. A target
        -- candidate's states come from its own rows, the A/A ones from the rows of role 'noise'
        -- (which go to every target).
        SELECT
            target,
            seg.1                                                         AS segment_key,
            seg.2                                                         AS segment_value,
            countIfMergeIf(compared_s, is_cand)                           AS compared,
            countIfMergeIf(agreed_s, is_cand)                             AS agreed,
            sumMapIfMergeIf(confusion_s, is_cand)                         AS confusion,
            countIfMergeIf(n_num_s, is_cand)                              AS n_num,
            avgIfMergeIf(mae_s, is_cand)                                  AS mae,
            stddevSampStableIfMergeIf(mae_sd_s, is_cand)                  AS mae_sd,
            avgIfMergeIf(bias_s, is_cand)                                 AS bias,
            stddevSampStableIfMergeIf(bias_sd_s, is_cand)                 AS bias_sd,
            avgIfMergeIf(mse_s, is_cand)                                  AS mse,
            stddevSampStableIfMergeIf(mse_sd_s, is_cand)                  AS mse_sd,
            maxIfMergeIf(ad_max_s, is_cand)                               AS ad_max,
            quantileExactInclusiveIfMergeIf(0.99)(ad_p99_s, is_cand)      AS ad_p99,
            sumMapIfMergeIf(ad_hist_s, is_cand)                           AS ad_hist,
            countIfMergeIf(n_num_sampled_s, is_cand)                      AS n_num_sampled,
            varSampStableIfMergeIf(var_b_s, is_cand)                      AS var_b,
            varSampStableIfMergeIf(var_c_s, is_cand)                      AS var_c,
            covarSampStableIfMergeIf(cov_bc_s, is_cand)                   AS cov_bc,
            avgIfMergeIf(mean_b_s, is_cand)                               AS mean_b,
            avgIfMergeIf(mean_c_s, is_cand)                               AS mean_c,
            countIfMergeIf(n_tol_s, is_cand)                              AS n_tol,
            countIfMergeIf(k_tol_s, is_cand)                              AS k_tol,
            countIfMergeIf(n_topk_s, is_cand)                             AS n_topk,
            avgIfMergeIf(topk_mean_s, is_cand)                            AS topk_mean,
            stddevSampStableIfMergeIf(topk_sd_s, is_cand)                 AS topk_sd,
            countIfMergeIf(n_rbo_s, is_cand)                              AS n_rbo,
            avgIfMergeIf(rbo_mean_s, is_cand)                             AS rbo_mean,
            stddevSampStableIfMergeIf(rbo_sd_s, is_cand)                  AS rbo_sd,
            countIfMergeIf(n_jaccard_s, is_cand)                          AS n_jaccard,
            avgIfMergeIf(jaccard_mean_s, is_cand)                         AS jaccard_mean,
            stddevSampStableIfMergeIf(jaccard_sd_s, is_cand)              AS jaccard_sd,
            sumMapIfMergeIf(paths_s, is_cand)                             AS paths,
            sumMapIfMergeIf(paths_s, is_noise)                            AS noise_paths,
            countIfMergeIf(compared_s, is_noise)                          AS noise_compared
        FROM
        (
            SELECT
                target,
                candidate = target                                        AS is_cand,
                role = 'noise'                                            AS is_noise,
                *
            FROM
            (
                SELECT
                    candidate,
                    role,
                    segments,
                    countIfState(ok)                                          AS compared_s,
                    countIfState(ok AND agree = 1)                            AS agreed_s,
                    -- one string key per (baseline, candidate) label pair, split again below: a
                    -- per-row tuple array costs several times more in sumMap
                    sumMapIfState(map(concat(ifNull(baseline_label, '(null)'), '\x1F', ifNull(candidate_label, '(null)')), toUInt64(1)),
                                  ok AND (baseline_label IS NOT NULL OR candidate_label IS NOT NULL)) AS confusion_s,
                    countIfState(num)                                         AS n_num_s,
                    avgIfState(ad, num)                                       AS mae_s,
                    stddevSampStableIfState(ad, num)                          AS mae_sd_s,
                    avgIfState(d, num)                                        AS bias_s,
                    stddevSampStableIfState(d, num)                           AS bias_sd_s,
                    avgIfState(d * d, num)                                    AS mse_s,
                    stddevSampStableIfState(d * d, num)                       AS mse_sd_s,
                    maxIfState(ad, num)                                       AS ad_max_s,
                    quantileExactInclusiveIfState(0.99)(ad, num AND sampled AND NOT {hist:UInt8}) AS ad_p99_s,
                    -- the key is only computed when the histogram is wanted
                    sumMapIfState(map(if({hist:UInt8}, dd_key(ad), 0), toUInt64(1)), num AND {hist:UInt8}) AS ad_hist_s,
                    countIfState(num AND sampled)                             AS n_num_sampled_s,
                    varSampStableIfState(bv, num)                             AS var_b_s,
                    varSampStableIfState(cv, num)                             AS var_c_s,
                    covarSampStableIfState(bv, cv, num)                       AS cov_bc_s,
                    avgIfState(bv, num)                                       AS mean_b_s,
                    avgIfState(cv, num)                                       AS mean_c_s,
                    countIfState(ok AND within_tolerance IS NOT NULL)         AS n_tol_s,
                    countIfState(ok AND within_tolerance = 1)                 AS k_tol_s,
                    countIfState(ok AND topk_overlap IS NOT NULL)             AS n_topk_s,
                    avgIfState(topk_overlap, ok)                              AS topk_mean_s,
                    stddevSampStableIfState(topk_overlap, ok)                 AS topk_sd_s,
                    countIfState(ok AND rbo IS NOT NULL)                      AS n_rbo_s,
                    avgIfState(rbo, ok)                                       AS rbo_mean_s,
                    stddevSampStableIfState(rbo, ok)                          AS rbo_sd_s,
                    countIfState(ok AND jaccard IS NOT NULL)                  AS n_jaccard_s,
                    avgIfState(jaccard, ok)                                   AS jaccard_mean_s,
                    stddevSampStableIfState(jaccard, ok)                      AS jaccard_sd_s,
                    sumMapIfState(dpaths, arrayResize([toUInt64(1)], length(dpaths), toUInt64(1)), ok) AS paths_s
                FROM
                (
                    SELECT
                        candidate,
                        role,
                        -- the event's (key, value) for each requested segment key it has
                        arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                        baseline_status = 'ok' AND candidate_status = 'ok'    AS ok,
                        agree,
                        baseline_label,
                        candidate_label,
                        ifNull(baseline_value, nan)                           AS bv,
                        ifNull(candidate_value, nan)                          AS cv,
                        cv - bv                                               AS d,
                        abs(d)                                                AS ad,
                        ok AND isFinite(bv) AND isFinite(cv)                  AS num,
                        cityHash64(event_id) % sample_mod_of(candidate) = 0   AS sampled,
                        within_tolerance,
                        topk_overlap,
                        rbo,
                        jaccard,
                        arrayDistinct(diff_paths)                             AS dpaths
                    FROM shadow_pairs FINAL
                    WHERE experiment = {experiment:String}
                      AND (candidate IN {candidates:Array(String)} OR role = 'noise')
                      -- [from, to) without the rolled hours [roll_from, roll_to)
                      AND ((event_time >= {from:DateTime64(3)} AND event_time < {roll_from:DateTime64(3)})
                        OR (event_time >= {roll_to:DateTime64(3)} AND event_time < {to:DateTime64(3)}))
                )
                GROUP BY candidate, role, segments
                UNION ALL
                SELECT
                    candidate,
                    role,
                    arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), segments) AS segments,
                    compared_s, agreed_s, confusion_s, n_num_s, mae_s, mae_sd_s, bias_s, bias_sd_s, mse_s, mse_sd_s, ad_max_s,
                    initializeAggregation('quantileExactInclusiveIfState(0.99)', nan, toUInt8(0)) AS ad_p99_s,
                    ad_hist_s,
                    initializeAggregation('countIfState', toUInt8(0))     AS n_num_sampled_s,
                    var_b_s, var_c_s, cov_bc_s, mean_b_s, mean_c_s, n_tol_s, k_tol_s, n_topk_s, topk_mean_s, topk_sd_s,
                    n_rbo_s, rbo_mean_s, rbo_sd_s, n_jaccard_s, jaccard_mean_s, jaccard_sd_s, paths_s
                FROM pair_rollups
                WHERE experiment = {experiment:String}
                  AND (candidate IN {candidates:Array(String)} OR role = 'noise')
                  AND hour >= {roll_from:DateTime64(3)} AND hour < {roll_to:DateTime64(3)}
                  -- the spans (hours or whole days) and versions the ledger names, from the comparator
                  AND has(arrayZip({roll_spans:Array(UInt8)}, {roll_hours:Array(DateTime('UTC'))}, {roll_versions:Array(UInt64)}), (span_hours, hour, version))
            )
            ARRAY JOIN if(role = 'noise', {candidates:Array(String)}, [candidate]) AS target
        )
        ARRAY JOIN arrayConcat([('', '')], segments) AS seg
        GROUP BY target, segment_key, segment_value
    ) AS agg
    FULL OUTER JOIN (SELECT arrayJoin({candidates:Array(String)}) AS target, '' AS segment_key, '' AS segment_value) AS overall
        USING (target, segment_key, segment_value)
)
ARRAY JOIN arrayFilter(r -> segment_key = '' OR r.3 > 0, arrayConcat(
    arrayMap(wilson_row, [
        ('agreement_rate', agreed, compared, 'wilson-95', '{}'),
        ('within_tolerance', k_tol, n_tol, 'wilson-95', '{}')
    ]),
    arrayMap(mean_row, [
        ('mae', mae, mae_sd, n_num),
        ('bias', bias, bias_sd, n_num),
        ('topk_overlap_mean', topk_mean, topk_sd, n_topk),
        ('rbo_mean', rbo_mean, rbo_sd, n_rbo),
        ('jaccard_mean', jaccard_mean, jaccard_sd, n_jaccard)
    ]),
    [
        ('rmse', if(n_num = 0, NULL, sqrt(mse)), toUInt64(n_num),
         if(n_num < 2, NULL, sqrt(greatest(mse - z * mse_sd / sqrt(n_num), 0))),
         if(n_num < 2, NULL, sqrt(mse + z * mse_sd / sqrt(n_num))),
         NULL, 'normal-95-mse-sqrt', '{}'),
        if({hist:UInt8},
           ('abs_diff_p99', ad_p99_hist, toUInt64(n_num), NULL, NULL, NULL,
            'quantile-log-histogram', '{"relative_accuracy":0.005}'),
           ('abs_diff_p99', if(n_num_sampled = 0, NULL, ad_p99), toUInt64(n_num_sampled), NULL, NULL, NULL,
            'quantile-exact-inclusive',
            toJSONString(CAST((sample_mod_of(target), n_num), 'Tuple(sample_mod UInt64, n_total UInt64)')))),
        ('abs_diff_max', if(n_num = 0, NULL, ad_max), toUInt64(n_num), NULL, NULL, NULL, 'max', '{}'),
        ('slope', slope, toUInt64(n_num), slope - z * slope_se, slope + z * slope_se, NULL, 'ols-normal-95',
         toJSONString(CAST((if(slope IS NULL, NULL, mean_c - slope * mean_b), slope_se), 'Tuple(intercept Nullable(Float64), stderr Nullable(Float64))')))
    ],
    arrayMap((l, b, c) -> (
        'label_flip_mcnemar',
        (c - b) / n_labelled,
        toUInt64(n_labelled),
        (c - b) / n_labelled - z * sqrt(greatest(b + c - (c - b) * (c - b) / n_labelled, 0)) / n_labelled,
        (c - b) / n_labelled + z * sqrt(greatest(b + c - (c - b) * (c - b) / n_labelled, 0)) / n_labelled,
        if(b + c = 0, NULL, erfc(sqrt(pow(greatest(abs(b - c) - 1, 0), 2) / (b + c) / 2))),
        'mcnemar-cc',
        toJSONString(CAST((l, b, c, if(b + c = 0, NULL, pow(greatest(abs(b - c) - 1, 0), 2) / (b + c)), 'wald-paired-95'),
                          'Tuple(label String, b Int64, c Int64, chi2 Nullable(Float64), interval String)'))
    ), labels, label_b, label_c),
    arrayMap((k, c) -> (
        'confusion', toFloat64(c), toUInt64(n_labelled), NULL, NULL, NULL, 'count',
        toJSONString(CAST((k.1, k.2), 'Tuple(baseline String, candidate String)'))
    ), cm_keys, cm_counts),
    arrayMap(wilson_row, arrayMap((p, c, q) -> (
        'field_diff_rate', c, compared, 'wilson-95',
        toJSONString(CAST((
            p, c, q, noise_compared,
            if(noise_compared = 0, NULL, q / noise_compared),
            if(noise_compared = 0 OR compared = 0, NULL,
               if(c / compared + q / noise_compared = 0, 0,
                  abs(c / compared - q / noise_compared) / (c / compared + q / noise_compared))),
            if(noise_compared = 0 OR compared = 0, NULL, abs(c / compared - q / noise_compared)),
            if(noise_compared = 0 OR compared = 0, NULL,
               c / compared > q / noise_compared
               AND abs(c / compared - q / noise_compared) / (c / compared + q / noise_compared) >= {rel_threshold:Float64}
               AND abs(c / compared - q / noise_compared) >= {abs_threshold:Float64})
        ), 'Tuple(path String, count UInt64, noise_count UInt64, noise_n UInt64, noise_rate Nullable(Float64), rel_diff Nullable(Float64), abs_diff Nullable(Float64), counts Nullable(Bool))'))
    ), all_paths, path_counts, noise_counts))
)) AS m
ORDER BY candidate, metric, segment_key, segment_value, details
-- optimize_and_compare_chain = 0: that analyzer pass derives extra constant comparisons from
-- the AND chains of the time filters; on this statement it cost 50-80 ms of planning per run
-- (near-empty window, chDB 26.7) and adds no filter the ranges do not already state.
-- compile_expressions = 0: the third run of the same statement (same window) JIT-compiles its
-- expressions with LLVM, ~1 s of CPU at once that stalled the whole report set (0.8 s -> 2 s);
-- on roll-ups there is too little data for compiled code to win that back.
SETTINGS optimize_and_compare_chain = 0, compile_expressions = 0
