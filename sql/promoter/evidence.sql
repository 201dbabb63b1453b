-- The promoter's evidence for one candidate over one event-time window: one row for overall
-- (segment_key '') and one per value of each requested segment key. Reads deduplicated pairs
-- (FINAL) of role 'candidate' only: the A/A noise run is not evidence about the candidate.
--
-- agreement: pairs where both sides answered; latency: quantiles per side on the same events, a
-- sign count (candidate slower than baseline, ties left out) and the exceedance counts the latency
-- ratio gates test (candidate latencies above ratio x the baseline's quantile, one per pair of
-- the exceed_* arrays); drift: PSI and Jensen-Shannon distance of candidate_value against the
-- baseline's deciles (each bin smoothed by half an observation), and the two-sample
-- Kolmogorov-Smirnov p-value of the same values.
--
-- One pass and one aggregation: the values the two-step statistics need (exceedance, bins) are
-- kept as arrays per segment and finished with array functions, instead of joining back.
WITH
    pairs AS
    (
        SELECT
            seg.1                                                     AS segment_key,
            seg.2                                                     AS segment_value,
            baseline_status = 'ok' AND candidate_status = 'ok'        AS both_ok,
            both_ok AND isNotNull(baseline_value) AND isNotNull(candidate_value)
                AND isFinite(assumeNotNull(baseline_value)) AND isFinite(assumeNotNull(candidate_value)) AS valued,
            candidate_status,
            agree,
            baseline_latency_ms,
            candidate_latency_ms,
            assumeNotNull(baseline_value)                             AS bv,
            assumeNotNull(candidate_value)                            AS cv
        FROM
        (
            SELECT attributes, baseline_status, candidate_status, agree, baseline_latency_ms,
                   candidate_latency_ms, baseline_value, candidate_value
            FROM shadow_pairs FINAL
            WHERE experiment = {experiment:String}
              AND candidate = {candidate:String}
              AND role = 'candidate'
              AND event_time >= {from:DateTime64(3, 'UTC')}
              AND event_time < {to:DateTime64(3, 'UTC')}
        )
        ARRAY JOIN arrayConcat(
            [('', '')],
            arrayMap(k -> (k, attributes[k]), arrayFilter(k -> mapContains(attributes, k), {segment_keys:Array(String)}))
        ) AS seg
    ),
    grouped AS
    (
        SELECT
            segment_key,
            segment_value,
            count()                                                              AS n,
            countIf(both_ok)                                                     AS compared,
            countIf(both_ok AND agree = 1)                                       AS agreed,
            countIf(candidate_status = 'error')                                  AS candidate_errors,
            countIf(candidate_status = 'timeout')                                AS candidate_timeouts,
            quantilesExactInclusiveIf(0.5, 0.95, 0.99)(baseline_latency_ms, both_ok)  AS baseline_latency,
            quantilesExactInclusiveIf(0.5, 0.95, 0.99)(candidate_latency_ms, both_ok) AS candidate_latency,
            countIf(both_ok AND candidate_latency_ms > baseline_latency_ms)      AS slower,
            countIf(both_ok AND candidate_latency_ms != baseline_latency_ms)     AS latency_untied,
            groupArrayIf(candidate_latency_ms, both_ok)                          AS candidate_latencies,
            arrayDistinct(quantilesExactInclusiveIf(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)(bv, valued)) AS cuts,
            groupArrayIf(bv, valued)                                             AS baseline_values,
            groupArrayIf(cv, valued)                                             AS candidate_values
        FROM pairs
        GROUP BY segment_key, segment_value
    )
SELECT
    segment_key,
    segment_value,
    n,
    compared,
    agreed,
    candidate_errors,
    candidate_timeouts,
    baseline_latency,
    candidate_latency,
    slower,
    latency_untied,
    exceedance,
    drift_n,
    psi,
    js_distance,
    ks_p
FROM
(
    SELECT
        *,
        arrayMap(
            (q, r) -> (q, r,
                       arrayCount(x -> x > r * multiIf(q = 0.5, baseline_latency[1], q = 0.95, baseline_latency[2], baseline_latency[3]), candidate_latencies),
                       length(candidate_latencies)),
            {exceed_quantiles:Array(Float64)}, {exceed_ratios:Array(Float64)})  AS exceedance,
        length(baseline_values)                                                  AS drift_n,
        length(cuts) + 1                                                         AS bin_count,
        arrayMap(v -> arrayCount(c -> v > c, cuts), baseline_values)             AS baseline_bins,
        arrayMap(v -> arrayCount(c -> v > c, cuts), candidate_values)            AS candidate_bins,
        arrayMap(i -> (countEqual(baseline_bins, i) + 0.5) / (drift_n + 0.5 * bin_count), range(bin_count))  AS p,
        arrayMap(i -> (countEqual(candidate_bins, i) + 0.5) / (drift_n + 0.5 * bin_count), range(bin_count)) AS q,
        if(drift_n > 0, arraySum(arrayMap((a, b) -> (b - a) * log(b / a), p, q)), NULL) AS psi,
        -- Jensen-Shannon distance: the square root of the divergence in bits, in [0, 1].
        if(drift_n > 0,
           sqrt(greatest(0, arraySum(arrayMap((a, b) -> 0.5 * a * log2(2 * a / (a + b)) + 0.5 * b * log2(2 * b / (a + b)), p, q)))),
           NULL)                                                                 AS js_distance,
        if(drift_n > 0,
           arrayReduce('kolmogorovSmirnovTest', arrayConcat(baseline_values, candidate_values),
                       arrayConcat(arrayWithConstant(drift_n, 0), arrayWithConstant(drift_n, 1))).2,
           NULL)                                                                 AS ks_p
    FROM grouped
)
ORDER BY segment_key, segment_value
