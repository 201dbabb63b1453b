-- Per candidate: pairs, agreement with a Wilson 95 % interval, candidate errors and timeouts, and
-- latency quantiles of baseline vs candidate on the same events. Reads deduplicated pairs (FINAL).
WITH 1.959963984540054 AS z
SELECT
    candidate,
    any(role)                                                        AS role,
    count()                                                          AS pairs,
    countIf(baseline_status = 'ok' AND candidate_status = 'ok')      AS compared,
    countIf(agree = 1 AND baseline_status = 'ok' AND candidate_status = 'ok') AS agreed,
    agreed / nullIf(compared, 0)                                     AS agreement,
    (agreement + z * z / (2 * compared) - z * sqrt(agreement * (1 - agreement) / compared + z * z / (4 * compared * compared)))
        / (1 + z * z / compared)                                     AS agreement_lower,
    (agreement + z * z / (2 * compared) + z * sqrt(agreement * (1 - agreement) / compared + z * z / (4 * compared * compared)))
        / (1 + z * z / compared)                                     AS agreement_upper,
    countIf(candidate_status = 'error')                              AS errors,
    countIf(candidate_status = 'timeout')                            AS timeouts,
    quantilesExactInclusive(0.5, 0.95, 0.99)(baseline_latency_ms)    AS baseline_latency_ms,
    quantilesExactInclusive(0.5, 0.95, 0.99)(candidate_latency_ms)   AS candidate_latency_ms
FROM shadow_pairs FINAL
WHERE experiment = {experiment:String}
GROUP BY candidate
ORDER BY role, candidate
