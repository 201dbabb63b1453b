-- The benchmark's pairs as fixed-width little-endian Float64 rows (RowBinary), for the scipy
-- side of the comparison. Strings become codes: segment values by position in their list,
-- labels 'lN' as N, statuses ok = 0, error = 1, timeout = 2, diff paths as bits.
SELECT
    toFloat64(role = 'noise')                                                            AS noise,
    toFloat64(indexOf(['eu', 'us', 'ap', 'sa'], attributes['region']))                   AS region,
    toFloat64(indexOf(['web', 'ios', 'android'], attributes['client']))                  AS client,
    toFloat64(indexOf(['short', 'long'], attributes['input_class']))                     AS input_class,
    toFloat64(toUnixTimestamp64Milli(event_time) - toUnixTimestamp64Milli({start:DateTime64(3)})) AS t_ms,
    toFloat64(indexOf(['ok', 'error'], baseline_status) - 1)                             AS baseline_status,
    toFloat64(indexOf(['ok', 'error', 'timeout'], candidate_status) - 1)                 AS candidate_status,
    toFloat64(agree)                                                                     AS agree,
    toFloat64OrZero(substring(ifNull(baseline_label, 'l-1'), 2))                         AS baseline_label,
    toFloat64OrZero(substring(ifNull(candidate_label, 'l-1'), 2))                        AS candidate_label,
    ifNull(baseline_value, nan)                                                          AS baseline_value,
    ifNull(candidate_value, nan)                                                         AS candidate_value,
    baseline_latency_ms,
    candidate_latency_ms,
    toFloat64(ifNull(within_tolerance, 0))                                               AS within_tolerance,
    ifNull(topk_overlap, nan)                                                            AS topk_overlap,
    ifNull(rbo, nan)                                                                     AS rbo,
    ifNull(jaccard, nan)                                                                 AS jaccard,
    toFloat64(has(diff_paths, '$.label') + 2 * has(diff_paths, '$.scores[0]') + 4 * has(diff_paths, '$.meta.ts')) AS paths
FROM shadow_pairs FINAL
WHERE experiment = 'bench' AND event_time >= {start:DateTime64(3)}
FORMAT RowBinary
