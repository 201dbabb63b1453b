-- Rolls the pairs of {experiment} in the whole hours [from, to) up into pair_rollups under
-- {version}: one row per candidate, role, hour and combination of the values of
-- {segment_keys:Array(String)}. Reads deduplicated pairs (FINAL), so a replayed pair counts once.
--
-- The states and the per-pair expressions are those of the raw side of agreement.sql and
-- latency.sql, copied here on purpose (the rollup test checks that both paths give the same
-- report): every state is computed as if the rolled candidate were the report's candidate; a
-- report merges the candidate states of its own candidate's rows and the A/A states (paths_s,
-- compared_s) of the rows whose role is 'noise'.
--
-- Quantile histograms: key 0 for |x| < 1e-12, else sign(x)·(40000 + ⌈ln|x| / ln γ⌉) with
-- γ = (1 + 0.005)/(1 − 0.005): a bucket's midpoint 2γ^i/(γ + 1) is within 0.5 % of every value
-- in it (DDSketch's mapping), and keys sort as the values do.
INSERT INTO pair_rollups
WITH
    log((1 + 0.005) / (1 - 0.005)) AS ln_gamma,
    x -> toInt32(if(NOT isFinite(x) OR abs(x) < 1e-12, 0, sign(x) * (40000 + ceil(log(abs(x)) / ln_gamma)))) AS dd_key
SELECT
    experiment,
    candidate,
    role,
    toUInt8(1)                                                    AS span_hours,
    toStartOfHour(event_time)                                     AS hour,
    {version:UInt64}                                              AS version,
    segments,
    countIfState(ok)                                              AS compared_s,
    countIfState(ok AND agree = 1)                                AS agreed_s,
    sumMapIfState(map(concat(ifNull(baseline_label, '(null)'), '\x1F', ifNull(candidate_label, '(null)')), toUInt64(1)),
                  ok AND (baseline_label IS NOT NULL OR candidate_label IS NOT NULL)) AS confusion_s,
    countIfState(num)                                             AS n_num_s,
    avgIfState(ad, num)                                           AS mae_s,
    stddevSampStableIfState(ad, num)                              AS mae_sd_s,
    avgIfState(d, num)                                            AS bias_s,
    stddevSampStableIfState(d, num)                               AS bias_sd_s,
    avgIfState(d * d, num)                                        AS mse_s,
    stddevSampStableIfState(d * d, num)                           AS mse_sd_s,
    maxIfState(ad, num)                                           AS ad_max_s,
    sumMapIfState(map(dd_key(ad), toUInt64(1)), num)              AS ad_hist_s,
    varSampStableIfState(bv, num)                                 AS var_b_s,
    varSampStableIfState(cv, num)                                 AS var_c_s,
    covarSampStableIfState(bv, cv, num)                           AS cov_bc_s,
    avgIfState(bv, num)                                           AS mean_b_s,
    avgIfState(cv, num)                                           AS mean_c_s,
    countIfState(ok AND within_tolerance IS NOT NULL)             AS n_tol_s,
    countIfState(ok AND within_tolerance = 1)                     AS k_tol_s,
    countIfState(ok AND topk_overlap IS NOT NULL)                 AS n_topk_s,
    avgIfState(topk_overlap, ok)                                  AS topk_mean_s,
    stddevSampStableIfState(topk_overlap, ok)                     AS topk_sd_s,
    countIfState(ok AND rbo IS NOT NULL)                          AS n_rbo_s,
    avgIfState(rbo, ok)                                           AS rbo_mean_s,
    stddevSampStableIfState(rbo, ok)                              AS rbo_sd_s,
    countIfState(ok AND jaccard IS NOT NULL)                      AS n_jaccard_s,
    avgIfState(jaccard, ok)                                       AS jaccard_mean_s,
    stddevSampStableIfState(jaccard, ok)                          AS jaccard_sd_s,
    sumMapIfState(dpaths, arrayResize([toUInt64(1)], length(dpaths), toUInt64(1)), ok) AS paths_s,
    countState()                                                  AS pairs_s,
    countIfState(candidate_status = 'error')                      AS candidate_errors_s,
    countIfState(candidate_status = 'timeout')                    AS candidate_timeouts_s,
    countIfState(baseline_status = 'error')                       AS baseline_errors_s,
    sumMapIfState(map(dd_key(baseline_latency_ms), toUInt64(1)), ok)                        AS lat_base_hist_s,
    sumMapIfState(map(dd_key(candidate_latency_ms), toUInt64(1)), ok)                       AS lat_cand_hist_s,
    sumMapIfState(map(dd_key(candidate_latency_ms - baseline_latency_ms), toUInt64(1)), ok) AS lat_diff_hist_s,
    groupArraySorted(1024)((cityHash64(event_id), baseline_status = 'ok', ok, bv, cv, baseline_label, candidate_label, baseline_latency_ms)) AS drift_sample
FROM
(
    SELECT
        experiment,
        candidate,
        role,
        event_time,
        event_id,
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
        within_tolerance,
        topk_overlap,
        rbo,
        jaccard,
        arrayDistinct(diff_paths)                             AS dpaths,
        baseline_status,
        candidate_status,
        baseline_latency_ms,
        candidate_latency_ms
    FROM shadow_pairs FINAL
    WHERE experiment = {experiment:String}
      AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
)
GROUP BY experiment, candidate, role, hour, segments
