-- Synthetic pairs for the report benchmark, generated inside the engine: {events:UInt64} events of
-- experiment 'bench' spread over the day from {start}, replayed against candidate 'cand-a', and
-- every tenth event also replayed A/A ('baseline-aa', role noise). Values come from hashes of the
-- event number, so a run is repeatable. Labels: 10 classes, the candidate changes 5 %; scores
-- uniform, the candidate's shifted by +0.005 with noise; latency log-normal around 20 ms.
INSERT INTO shadow_pairs
SELECT
    'bench'                                                            AS experiment,
    if(aa, 'baseline-aa', 'cand-a')                                    AS candidate,
    if(aa, 'noise', 'candidate')                                       AS role,
    concat('e', toString(i))                                           AS event_id,
    {start:DateTime64(3)} + toIntervalMillisecond(intDiv(i * 86400000, {events:UInt64})) AS event_time,
    'stable'                                                           AS arm,
    'model'                                                            AS baseline_model,
    'v1'                                                               AS baseline_version,
    map('region', ['eu', 'us', 'ap', 'sa'][1 + h1 % 4],
        'client', ['web', 'ios', 'android'][1 + intDiv(h1, 4) % 3],
        'input_class', ['short', 'long'][1 + intDiv(h1, 12) % 2])      AS attributes,
    'classification'                                                   AS task,
    NULL AS baseline_output,
    NULL AS candidate_output,
    bl_lat                                                             AS baseline_latency_ms,
    if(aa, bl_lat * (0.95 + u3 * 0.1), bl_lat * (0.9 + u3 * 0.3))      AS candidate_latency_ms,
    if(h2 % 1000 = 0, 'error', 'ok')                                   AS baseline_status,
    multiIf(h2 % 500 = 1, 'error', h2 % 700 = 2, 'timeout', 'ok')     AS candidate_status,
    NULL AS candidate_error,
    toUInt8(bl = cl)                                                   AS agree,
    concat('l', toString(bl))                                          AS baseline_label,
    concat('l', toString(cl))                                          AS candidate_label,
    bv                                                                 AS baseline_value,
    cv                                                                 AS candidate_value,
    abs(cv - bv)                                                       AS abs_error,
    abs(cv - bv) / greatest(abs(bv), 1e-9)                             AS rel_error,
    toUInt8(abs(cv - bv) <= 0.01 + 0.01 * abs(bv))                     AS within_tolerance,
    -- the reports read the ranking metrics below, not the lists; empty lists keep generation fast
    []                                                                 AS baseline_ranking,
    []                                                                 AS candidate_ranking,
    if(u3 < 0.5, 1.0, 0.9)                                             AS topk_overlap,
    if(u3 < 0.5, 1.0, 9 / 11)                                          AS jaccard,
    if(u3 < 0.5, 1.0, 0.8)                                             AS rbo,
    if(bl = cl, if(h3 % 50 = 0, ['$.meta.ts'], []), ['$.label', '$.scores[0]'])  AS diff_paths,
    {start:DateTime64(3)} + toIntervalDay(1)                          AS replayed_at,
    'baseline'                                                         AS served,
    NULL                                                               AS baseline_error
FROM
(
    SELECT
        number                                        AS i,
        aa_flag                                       AS aa,
        cityHash64(number)                            AS h1,
        cityHash64(number, 2)                         AS h2,
        cityHash64(number, 3, aa_flag)                AS h3,
        (cityHash64(number, 4, aa_flag) % 1000000) / 1000000 AS u3,
        (cityHash64(number, 5) % 1000000 + 0.5) / 1000000 AS u5,
        (cityHash64(number, 6) % 1000000 + 0.5) / 1000000 AS u6,
        -- latency: log-normal around 20 ms
        20 * exp(0.5 * sqrt(-2 * log(u5)) * cos(2 * pi() * u6))   AS bl_lat,
        h1 % 10                                       AS bl,
        if(aa_flag OR h3 % 100 < 95, bl, (bl + 1 + h3 % 9) % 10) AS cl,
        u5                                            AS bv,
        if(aa_flag, u5 + (u6 - 0.5) * 1e-4, u5 + 0.02 * (u6 - 0.5) + 0.005) AS cv
    FROM numbers({events:UInt64})
    ARRAY JOIN if(number % 10 = 0, [0, 1], [0]) AS aa_flag
)
