-- Merges the 24 hour rows of one UTC day [{day}, {day} + 1 day) of {experiment} into day rows
-- (span_hours 24) under {version}: the same states, 24 times fewer to merge for a report over
-- whole days. Reads only the hour rows of the versions the ledger names ({hours}, {versions}).
INSERT INTO pair_rollups
SELECT
    experiment,
    candidate,
    role,
    toUInt8(24)                                              AS span_hours,
    toDateTime({day:DateTime('UTC')}, 'UTC')                 AS hour,
    {version:UInt64}                                         AS version,
    segments,
    countIfMergeState(compared_s)                            AS compared_s,
    countIfMergeState(agreed_s)                              AS agreed_s,
    sumMapIfMergeState(confusion_s)                          AS confusion_s,
    countIfMergeState(n_num_s)                               AS n_num_s,
    avgIfMergeState(mae_s)                                   AS mae_s,
    stddevSampStableIfMergeState(mae_sd_s)                   AS mae_sd_s,
    avgIfMergeState(bias_s)                                  AS bias_s,
    stddevSampStableIfMergeState(bias_sd_s)                  AS bias_sd_s,
    avgIfMergeState(mse_s)                                   AS mse_s,
    stddevSampStableIfMergeState(mse_sd_s)                   AS mse_sd_s,
    maxIfMergeState(ad_max_s)                                AS ad_max_s,
    sumMapIfMergeState(ad_hist_s)                            AS ad_hist_s,
    varSampStableIfMergeState(var_b_s)                       AS var_b_s,
    varSampStableIfMergeState(var_c_s)                       AS var_c_s,
    covarSampStableIfMergeState(cov_bc_s)                    AS cov_bc_s,
    avgIfMergeState(mean_b_s)                                AS mean_b_s,
    avgIfMergeState(mean_c_s)                                AS mean_c_s,
    countIfMergeState(n_tol_s)                               AS n_tol_s,
    countIfMergeState(k_tol_s)                               AS k_tol_s,
    countIfMergeState(n_topk_s)                              AS n_topk_s,
    avgIfMergeState(topk_mean_s)                             AS topk_mean_s,
    stddevSampStableIfMergeState(topk_sd_s)                  AS topk_sd_s,
    countIfMergeState(n_rbo_s)                               AS n_rbo_s,
    avgIfMergeState(rbo_mean_s)                              AS rbo_mean_s,
    stddevSampStableIfMergeState(rbo_sd_s)                   AS rbo_sd_s,
    countIfMergeState(n_jaccard_s)                           AS n_jaccard_s,
    avgIfMergeState(jaccard_mean_s)                          AS jaccard_mean_s,
    stddevSampStableIfMergeState(jaccard_sd_s)               AS jaccard_sd_s,
    sumMapIfMergeState(paths_s)                              AS paths_s,
    countMergeState(pairs_s)                                 AS pairs_s,
    countIfMergeState(candidate_errors_s)                    AS candidate_errors_s,
    countIfMergeState(candidate_timeouts_s)                  AS candidate_timeouts_s,
    countIfMergeState(baseline_errors_s)                     AS baseline_errors_s,
    sumMapIfMergeState(lat_base_hist_s)                      AS lat_base_hist_s,
    sumMapIfMergeState(lat_cand_hist_s)                      AS lat_cand_hist_s,
    sumMapIfMergeState(lat_diff_hist_s)                      AS lat_diff_hist_s,
    -- the 1024 smallest of the hours' 1024 smallest: the day's 1024 smallest
    arraySlice(arraySort(arrayFlatten(groupArray(drift_sample))), 1, 1024) AS drift_sample
FROM
(
    -- a subquery, so the hour and version aliases above do not shadow the columns here
    SELECT *
    FROM pair_rollups
    WHERE experiment = {experiment:String}
      AND span_hours = 1
      AND hour >= {day:DateTime('UTC')} AND hour < {day:DateTime('UTC')} + INTERVAL 1 DAY
      AND has(arrayZip({hours:Array(DateTime('UTC'))}, {versions:Array(UInt64)}), (hour, version))
)
GROUP BY experiment, candidate, role, segments
