-- The roll-up rows themselves; pair_rollup_hours (007) is their ledger, and its header tells how
-- they are written and read.
-- One row per (experiment, candidate, role, span, hour, version, combination of segment values): the
-- -State columns of sql/reports/agreement.sql and latency.sql, computed with the same
-- expressions. Quantiles are log-bucket histograms (relative accuracy 0.005): exact quantiles
-- would have to keep every value. Drift statistics need values in memory: a bottom-k hash sample.
CREATE TABLE IF NOT EXISTS pair_rollups
(
    experiment          LowCardinality(String),
    candidate           LowCardinality(String),
    role                LowCardinality(String),
    span_hours          UInt8,
    hour                DateTime('UTC'),
    version             UInt64,
    segments            Array(Tuple(String, String)),
    -- agreement
    compared_s          AggregateFunction(countIf, UInt8),
    agreed_s            AggregateFunction(countIf, UInt8),
    confusion_s         AggregateFunction(sumMapIf, Map(String, UInt64), UInt8),
    n_num_s             AggregateFunction(countIf, UInt8),
    mae_s               AggregateFunction(avgIf, Float64, UInt8),
    mae_sd_s            AggregateFunction(stddevSampStableIf, Float64, UInt8),
    bias_s              AggregateFunction(avgIf, Float64, UInt8),
    bias_sd_s           AggregateFunction(stddevSampStableIf, Float64, UInt8),
    mse_s               AggregateFunction(avgIf, Float64, UInt8),
    mse_sd_s            AggregateFunction(stddevSampStableIf, Float64, UInt8),
    ad_max_s            AggregateFunction(maxIf, Float64, UInt8),
    ad_hist_s           AggregateFunction(sumMapIf, Map(Int32, UInt64), UInt8),
    var_b_s             AggregateFunction(varSampStableIf, Float64, UInt8),
    var_c_s             AggregateFunction(varSampStableIf, Float64, UInt8),
    cov_bc_s            AggregateFunction(covarSampStableIf, Float64, Float64, UInt8),
    mean_b_s            AggregateFunction(avgIf, Float64, UInt8),
    mean_c_s            AggregateFunction(avgIf, Float64, UInt8),
    n_tol_s             AggregateFunction(countIf, UInt8),
    k_tol_s             AggregateFunction(countIf, Nullable(UInt8)),
    n_topk_s            AggregateFunction(countIf, UInt8),
    topk_mean_s         AggregateFunction(avgIf, Nullable(Float64), UInt8),
    topk_sd_s           AggregateFunction(stddevSampStableIf, Nullable(Float64), UInt8),
    n_rbo_s             AggregateFunction(countIf, UInt8),
    rbo_mean_s          AggregateFunction(avgIf, Nullable(Float64), UInt8),
    rbo_sd_s            AggregateFunction(stddevSampStableIf, Nullable(Float64), UInt8),
    n_jaccard_s         AggregateFunction(countIf, UInt8),
    jaccard_mean_s      AggregateFunction(avgIf, Nullable(Float64), UInt8),
    jaccard_sd_s        AggregateFunction(stddevSampStableIf, Nullable(Float64), UInt8),
    paths_s             AggregateFunction(sumMapIf, Array(String), Array(UInt64), UInt8),
    -- latency
    pairs_s             AggregateFunction(count),
    candidate_errors_s  AggregateFunction(countIf, UInt8),
    candidate_timeouts_s AggregateFunction(countIf, UInt8),
    baseline_errors_s   AggregateFunction(countIf, UInt8),
    lat_base_hist_s     AggregateFunction(sumMapIf, Map(Int32, UInt64), UInt8),
    lat_cand_hist_s     AggregateFunction(sumMapIf, Map(Int32, UInt64), UInt8),
    lat_diff_hist_s     AggregateFunction(sumMapIf, Map(Int32, UInt64), UInt8),
    -- drift: the 1024 pairs with the smallest cityHash64(event_id) (hash, baseline ok, both ok,
    -- baseline value, candidate value, baseline label, candidate label, baseline latency), sorted;
    -- any window's hash-threshold sample can be drawn from these (a plain array, not a
    -- groupArraySorted state: it reads several times faster, and day rows merge it exactly)
    drift_sample        Array(Tuple(UInt64, UInt8, UInt8, Float64, Float64, Nullable(String), Nullable(String), Float64))
)
ENGINE = MergeTree
PARTITION BY toDate(hour)
ORDER BY (experiment, candidate, span_hours, hour, version)
TTL hour + INTERVAL 90 DAY;
