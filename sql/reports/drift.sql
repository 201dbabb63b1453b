-- Drift report for the pairs of each candidate in {candidates}, overall (segment_key '') and per
-- segment; one statement for all candidates, as agreement.sql, rows start with the candidate:
--   output_value         candidate_value vs baseline_value on the same compared pairs in [from, to)
--   output_label         candidate_label vs baseline_label shares, same pairs (categorical)
--   baseline_value       baseline_value in [from, to) vs the reference window [ref_from, ref_to)
--   baseline_label       baseline label shares, window vs reference window (categorical)
--   baseline_latency_ms  baseline latency, window vs reference window
--   attribute:<name>     the numeric event attribute {drift_attribute} (skipped when ''), window vs
--                        reference window
-- An event in both windows counts on both sides. Every value must be in memory, so all features
-- use a deterministic sample by cityHash64(event_id); n is the current sample size, details carry
-- n_ref, n_cur and how the sample was drawn:
--   {hist} = 0 (raw pairs only): cityHash64(event_id) % sample_mod = 0 (1 = every pair; each
--             candidate's sample_mod at its place in {sample_mods}); details.sample_mod.
--   {hist} = 1 (roll-ups read; the comparator sets it when a window has rolled hours and no
--             {drift_attribute} is asked for, the stored samples holding no attributes): per
--             window and candidate, its {drift_k} pairs with the smallest hash ("bottom-k"), drawn from the
--             bottom-1024 arrays pair_rollups.drift_sample keeps per span and combination of
--             segment values, and the same arrays computed from raw pairs for the rest of the
--             window; details.sample = 'bottom-k-hash', details.sample_k. Where a stored group
--             is full and cuts below the k-th hash, the sample is every pair up to that cut
--             (smaller than k; n says so). A window with at most k pairs samples all of them,
--             as {hist} = 0 with sample_mod 1 does. One pass: per combination of
-- segment values, each feature's two samples are collected with -If combinators; each segment
-- concatenates the combinations it covers; then each (segment, feature) is compared with array
-- functions.
--
-- Metrics (value; method):
--   psi                 Σ (c − r)·ln(c/r) over the reference's deciles (quantileExactInclusive, numpy
--                       'linear'); value x falls in bin i when edge[i−1] < x <= edge[i] (numpy
--                       searchsorted 'left'); shares of 0 are replaced by 1e-4 first (Evidently's
--                       smoothing; without it one empty bin makes PSI infinite). Categorical: over the
--                       union of categories. 'psi-reference-deciles' | 'psi-categorical'
--   js_distance         √JSD with natural logarithms over the same bins, unsmoothed (0·ln 0 = 0), as
--                       scipy.spatial.distance.jensenshannon; in [0, √ln 2]. 'jensen-shannon-natural-log'
--   ks                  two-sample Kolmogorov-Smirnov D = max |F_ref − F_cur|, computed here over the
--                       merged sorted sample with exact comparisons (kolmogorovSmirnovTest treats values
--                       within 1e-7 as ties). p: exact when n_ref·n_cur <= {ks_exact_max_product}, from
--                       kolmogorovSmirnovTest('two-sided', 'exact') run on the dense ranks of the merged
--                       sample (KS is rank-invariant, so no ties trap; its cost grows with n·m); else
--                       the limiting Kolmogorov distribution P(K > √(n·m/(n+m))·D), computed here (the
--                       same value as kolmogorovSmirnovTest 'asymp' and scipy.stats.kstwobign.sf; scipy's
--                       ks_2samp 'asymp' uses kstwo at round(n·m/(n+m)) instead, a few % apart at n ~ 100).
--                       'ks-two-sample-exact' | 'ks-two-sample-asymp'
--   wasserstein_normed  W1 = ∫ |F_ref − F_cur| dx divided by the reference's population standard
--                       deviation, floored at 0.001 (Evidently's normalisation). 'wasserstein-normed'
WITH
    -- {hist} = 1 (roll-ups read): the bottom-k hash samples per (span, window, combination of
    -- segment values), from pair_rollups for the rolled spans of each window ({roll_*} for
    -- [from, to), {ref_roll_*} for the reference) and from the raw pairs of the rest, per hour as
    -- the roll-up stores them. Each holds the (up to) 1024 pairs with the smallest
    -- cityHash64(event_id) of its group.
    samples AS (
        SELECT candidate, segments, in_cur, in_ref, s AS sample
        FROM
        (
            SELECT
                candidate,
                arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                toStartOfHour(event_time)                                                       AS hour,
                event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
                    AND NOT (event_time >= {roll_from:DateTime64(3)} AND event_time < {roll_to:DateTime64(3)})         AS in_cur,
                event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)}
                    AND NOT (event_time >= {ref_roll_from:DateTime64(3)} AND event_time < {ref_roll_to:DateTime64(3)}) AS in_ref,
                groupArraySorted(1024)((cityHash64(event_id), baseline_status = 'ok', baseline_status = 'ok' AND candidate_status = 'ok',
                    ifNull(baseline_value, nan), ifNull(candidate_value, nan), baseline_label, candidate_label, baseline_latency_ms)) AS s
            FROM shadow_pairs FINAL
            WHERE {hist:UInt8} = 1
              AND experiment = {experiment:String}
              AND candidate IN {candidates:Array(String)}
              AND ((event_time >= {from:DateTime64(3)} AND event_time < {roll_from:DateTime64(3)})
                OR (event_time >= {roll_to:DateTime64(3)} AND event_time < {to:DateTime64(3)})
                OR (event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_roll_from:DateTime64(3)})
                OR (event_time >= {ref_roll_to:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)}))
            GROUP BY candidate, segments, hour, in_cur, in_ref
            UNION ALL
            SELECT
                candidate,
                arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), segments)           AS segments,
                hour,
                has(arrayZip({roll_spans:Array(UInt8)}, {roll_hours:Array(DateTime('UTC'))}, {roll_versions:Array(UInt64)}), (span_hours, hour, version)) AS in_cur,
                has(arrayZip({ref_roll_spans:Array(UInt8)}, {ref_roll_hours:Array(DateTime('UTC'))}, {ref_roll_versions:Array(UInt64)}), (span_hours, hour, version)) AS in_ref,
                drift_sample                                                                    AS s
            FROM pair_rollups
            WHERE {hist:UInt8} = 1
              AND experiment = {experiment:String}
              AND candidate IN {candidates:Array(String)}
              AND ((hour >= {roll_from:DateTime64(3)} AND hour < {roll_to:DateTime64(3)})
                OR (hour >= {ref_roll_from:DateTime64(3)} AND hour < {ref_roll_to:DateTime64(3)}))
              AND (in_cur OR in_ref)
        )
    ),
    -- A window's sample: its pairs with hash <= t, t = the {drift_k}-th smallest hash in the window,
    -- or less where a group kept only its 1024 smallest (then t = the largest hash it kept, so
    -- every pair at or below t is in the samples): the same pairs the raw path picks.
    -- Every candidate's two cuts in one scalar subquery (candidates, current cuts, reference
    -- cuts): each reference to samples plans and runs it again.
    (
        SELECT (groupArray(candidate), groupArray(cut.1), groupArray(cut.2))
        FROM
        (
        SELECT candidate, (
            least(
                ifNull(arrayElementOrNull(arraySort(arrayFlatten(groupArrayIf(arrayMap(e -> e.1, sample), in_cur))), {drift_k:UInt64}), 18446744073709551615),
                ifNull(minOrNullIf(sample[-1].1, in_cur AND length(sample) = 1024), 18446744073709551615)),
            least(
                ifNull(arrayElementOrNull(arraySort(arrayFlatten(groupArrayIf(arrayMap(e -> e.1, sample), in_ref))), {drift_k:UInt64}), 18446744073709551615),
                ifNull(minOrNullIf(sample[-1].1, in_ref AND length(sample) = 1024), 18446744073709551615))) AS cut
        FROM samples
        GROUP BY candidate
        )
    ) AS cuts,
    c -> greatest({sample_mods:Array(UInt64)}[indexOf({candidates:Array(String)}, c)], 1) AS sample_mod_of,
    if({drift_attribute:String} = '', '', concat('attribute:', {drift_attribute:String})) AS attribute_feature,
    CAST([], 'Array(Float64)')                                      AS no_values,
    CAST(([], []), 'Tuple(Array(String), Array(UInt64))')           AS no_categories,
    -- how many of v are at or below each of the 9 edges e: one arrayCount per edge (an arrayMap
    -- over the edges would copy v once per edge, a lambda's captured array being replicated
    -- for every element it runs on: ~100 ms of the statement at 20 000 samples)
    (v, e) -> [arrayCount(x -> x <= e[1], v), arrayCount(x -> x <= e[2], v), arrayCount(x -> x <= e[3], v), arrayCount(x -> x <= e[4], v), arrayCount(x -> x <= e[5], v), arrayCount(x -> x <= e[6], v), arrayCount(x -> x <= e[7], v), arrayCount(x -> x <= e[8], v), arrayCount(x -> x <= e[9], v)] AS at_or_below,
    -- PSI over aligned count arrays, zero shares smoothed to 1e-4
    (rc, cc, nr, nc) -> arraySum(arrayMap((r, c) ->
        (if(c = 0, 1e-4, c / nc) - if(r = 0, 1e-4, r / nr)) * ln(if(c = 0, 1e-4, c / nc) / if(r = 0, 1e-4, r / nr)), rc, cc)) AS psi_of,
    -- Jensen-Shannon distance (natural log) over aligned count arrays
    (rc, cc, nr, nc) -> sqrt(greatest(0., arraySum(arrayMap((r, c) ->
        0.5 * if(r = 0, 0., (r / nr) * ln((r / nr) / ((r / nr + c / nc) / 2)))
      + 0.5 * if(c = 0, 0., (c / nc) * ln((c / nc) / ((r / nr + c / nc) / 2))), rc, cc)))) AS js_of,
    -- P(K > z) for the Kolmogorov distribution: the theta-function form below 1.18 (the
    -- alternating series converges slowly there), the alternating series above
    z -> if(z <= 0, 1., if(z < 1.18,
        1 - sqrt(2 * pi()) / z * arraySum(arrayMap(k -> exp(-pow(2 * k - 1, 2) * pi() * pi() / (8 * z * z)), range(1, 8))),
        2 * arraySum(arrayMap(k -> pow(-1, k - 1) * exp(-2 * k * k * z * z), range(1, 21))))) AS kolmogorov_sf
SELECT
    candidate,
    'drift'                                       AS report,
    m.1                                           AS metric,
    segment_key,
    segment_value,
    m.2                                           AS value,
    toUInt64(n_cur)                               AS n,
    CAST(NULL, 'Nullable(Float64)')               AS lower,
    CAST(NULL, 'Nullable(Float64)')               AS upper,
    m.3                                           AS p_value,
    CAST(NULL, 'Nullable(Float64)')               AS p_adjusted,
    m.4                                           AS method,
    concat('{"feature":', toJSONString(feature),
           ',"reference":', if(feature IN ('output_value', 'output_label'), '"baseline"', '"reference_window"'),
           ',"n_ref":', toString(n_ref), ',"n_cur":', toString(n_cur),
           if({hist:UInt8}, concat(',"sample":"bottom-k-hash","sample_k":', toString({drift_k:UInt64})),
              concat(',"sample_mod":', toString(sample_mod_of(candidate)))), m.5, '}') AS details
FROM
(
-- only what the rows need leaves this level: the samples and sorted arrays stay behind instead
-- of being copied once per metric row by the ARRAY JOIN below.
-- The statistics are computed over several levels, each naming what the next one reads: an alias
-- used in the same level is expanded into a copy of its whole expression, and planning the copies
-- of copies cost more than computing them (hundreds of ms per statement).
SELECT
    candidate, segment_key, segment_value, feature, categorical, n_ref, n_cur, edges, ref_counts, cur_counts, categories,
    ks_d, w1, ks_possible, ks_exact, ks_p_exact, ref_std,
    if(n_ref = 0 OR n_cur = 0, NULL, psi_of(ref_counts, cur_counts, n_ref, n_cur))  AS psi,
    if(n_ref = 0 OR n_cur = 0, NULL, js_of(ref_counts, cur_counts, n_ref, n_cur))   AS js,
    -- here, where ks_d is a plain column: an inlined lambda argument is re-evaluated per use
    if(ks_possible AND NOT ks_exact, kolmogorov_sf(sqrt(n_ref * n_cur / (n_ref + n_cur)) * assumeNotNull(ks_d)), NULL) AS ks_p_asymp
FROM
(
    SELECT
        *,
        -- the counts PSI and JS compare: reference-decile bins, or categories
        if(categorical, ref_cat_counts, ref_bin_counts)                               AS ref_counts,
        if(categorical, cur_cat_counts, cur_bin_counts)                               AS cur_counts,
        -- F_ref − F_cur is constant between distinct values: D over the ends of tie groups
        if(n_ref = 0 OR n_cur = 0, NULL, arrayMax(arrayMap((x, g) -> if(g > 0, x, 0.), ecdf_diff, gaps)))   AS ks_d,
        if(n_ref = 0 OR n_cur = 0, NULL, arraySum(arrayMap((x, g) -> x * g, ecdf_diff, gaps)))              AS w1,
        -- the branch not taken gets a two-value stand-in: the function refuses an empty sample
        arrayReduce('kolmogorovSmirnovTest(''two-sided'', ''exact'')',
                    -- dense ranks: 1 + the number of distinct values below
                    if(ks_exact, arrayCumSum(arrayPushFront(arrayPopBack(arrayMap(g -> toFloat64(g > 0), gaps)), 1.)), [1., 2.]),
                    if(ks_exact, merged_sides, [toUInt8(0), toUInt8(1)])).2           AS ks_p_exact
    FROM
    (
        SELECT
            *,
            -- values at or below each edge, then per bin: x <= edge[1], edge[i-1] < x <= edge[i], above all
            if(empty(edges), arrayWithConstant(10, toUInt64(0)),
               CAST(arrayPopFront(arrayDifference(arrayConcat([toUInt64(0)], at_or_below(ref_values, edges), [toUInt64(n_ref)]))), 'Array(UInt64)')) AS ref_bin_counts,
            if(empty(edges), arrayWithConstant(10, toUInt64(0)),
               CAST(arrayPopFront(arrayDifference(arrayConcat([toUInt64(0)], at_or_below(cur_values, edges), [toUInt64(n_cur)]))), 'Array(UInt64)')) AS cur_bin_counts,
            -- ECDFs at every value of the merged sample and the gap to the next value; the order
            -- inside a tie group does not matter
            arrayMap((a, b) -> abs(a / n_ref - b / n_cur),
                     arrayCumSum(arrayMap(s -> toUInt64(s = 0), merged_sides)),
                     arrayCumSum(arrayMap(s -> toUInt64(s), merged_sides)))          AS ecdf_diff,
            arrayResize(arrayPopFront(arrayDifference(merged_values)), length(merged_values), 0.) AS gaps
        FROM
        (
            SELECT
                *,
                -- numeric features: reference deciles
                if(n_ref = 0, CAST([], 'Array(Float64)'),
                   arrayReduce('quantilesExactInclusive(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)', ref_values)) AS edges,
                -- the merged sorted sample, and which side each value came from
                merged.1                                                              AS merged_values,
                merged.2                                                              AS merged_sides,
                -- KS is for numeric features only (categorical rows have counts, no values)
                NOT categorical AND n_ref > 0 AND n_cur > 0                           AS ks_possible,
                ks_possible AND n_ref * n_cur <= {ks_exact_max_product:UInt64}        AS ks_exact,
                if(n_ref = 0, NULL, arrayReduce('stddevPopStable', ref_values))       AS ref_std,
                -- categorical features: counts aligned over the union of categories
                arraySort(arrayDistinct(arrayConcat(ref_cats.1, cur_cats.1)))         AS categories,
                arrayMap(k -> toUInt64(arraySum(arrayMap((x, c) -> if(x = k, c, 0), ref_cats.1, ref_cats.2))), categories) AS ref_cat_counts,
                arrayMap(k -> toUInt64(arraySum(arrayMap((x, c) -> if(x = k, c, 0), cur_cats.1, cur_cats.2))), categories) AS cur_cat_counts
            FROM
            (
                SELECT
                    candidate,
                    segment_key,
                    segment_value,
                    f.1                                                                       AS feature,
                    f.2                                                                       AS categorical,
                    f.3                                                                       AS ref_values,
                    f.4                                                                       AS cur_values,
                    f.5                                                                       AS ref_cats,
                    f.6                                                                       AS cur_cats,
                    if(categorical, arraySum(ref_cats.2), length(ref_values))                 AS n_ref,
                    if(categorical, arraySum(cur_cats.2), length(cur_values))                 AS n_cur,
                    -- one sort of (value, side) pairs by value (sorting values and sides apart is
                    -- two sorts); a level below its two uses, which would each copy it
                    arraySort(x -> x.1, arrayZip(arrayConcat(ref_values, cur_values),
                        arrayConcat(arrayWithConstant(length(ref_values), toUInt8(0)), arrayWithConstant(length(cur_values), toUInt8(1))))) AS merged
                FROM
                (
                    -- Two levels, as agreement.sql: the samples are collected once per candidate and
                    -- combination of segment values, then each segment concatenates the arrays and
                    -- adds the counts of the combinations it covers (a pair is not collected once per
                    -- segment key).
                    SELECT
                        candidate,
                        seg.1                                                                 AS segment_key,
                        seg.2                                                                 AS segment_value,
                        groupArrayArray(output_ref)                                           AS output_ref,
                        groupArrayArray(output_cur)                                           AS output_cur,
                        sumMap(output_label_ref.1, output_label_ref.2)                        AS output_label_ref,
                        sumMap(output_label_cur.1, output_label_cur.2)                        AS output_label_cur,
                        groupArrayArray(baseline_ref)                                         AS baseline_ref,
                        groupArrayArray(baseline_cur)                                         AS baseline_cur,
                        sumMap(baseline_label_ref.1, baseline_label_ref.2)                    AS baseline_label_ref,
                        sumMap(baseline_label_cur.1, baseline_label_cur.2)                    AS baseline_label_cur,
                        groupArrayArray(latency_ref)                                          AS latency_ref,
                        groupArrayArray(latency_cur)                                          AS latency_cur,
                        groupArrayArray(attribute_ref)                                        AS attribute_ref,
                        groupArrayArray(attribute_cur)                                        AS attribute_cur
                    FROM
                    (
                        SELECT
                            candidate,
                            segments,
                            groupArrayIf(bv, in_cur AND ok AND isFinite(bv) AND isFinite(cv))     AS output_ref,
                            groupArrayIf(cv, in_cur AND ok AND isFinite(bv) AND isFinite(cv))     AS output_cur,
                            sumMapIf([assumeNotNull(baseline_label)], [toUInt64(1)], in_cur AND ok AND baseline_label IS NOT NULL)   AS output_label_ref,
                            sumMapIf([assumeNotNull(candidate_label)], [toUInt64(1)], in_cur AND ok AND candidate_label IS NOT NULL) AS output_label_cur,
                            groupArrayIf(bv, in_ref AND b_ok AND isFinite(bv))                    AS baseline_ref,
                            groupArrayIf(bv, in_cur AND b_ok AND isFinite(bv))                    AS baseline_cur,
                            sumMapIf([assumeNotNull(baseline_label)], [toUInt64(1)], in_ref AND b_ok AND baseline_label IS NOT NULL) AS baseline_label_ref,
                            sumMapIf([assumeNotNull(baseline_label)], [toUInt64(1)], in_cur AND b_ok AND baseline_label IS NOT NULL) AS baseline_label_cur,
                            groupArrayIf(baseline_latency_ms, in_ref AND b_ok AND isFinite(baseline_latency_ms)) AS latency_ref,
                            groupArrayIf(baseline_latency_ms, in_cur AND b_ok AND isFinite(baseline_latency_ms)) AS latency_cur,
                            groupArrayIf(assumeNotNull(attr), in_ref AND has_attr)                AS attribute_ref,
                            groupArrayIf(assumeNotNull(attr), in_cur AND has_attr)                AS attribute_cur
                        FROM
                        (
                            -- {hist} = 0: the raw pairs of the sample cityHash64(event_id) % {sample_mod} = 0
                            SELECT
                                candidate,
                                arrayFilter(kv -> has({segment_keys:Array(String)}, kv.1), CAST(attributes, 'Array(Tuple(String, String))')) AS segments,
                                event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}              AS in_cur,
                                event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)}      AS in_ref,
                                baseline_status = 'ok'                                     AS b_ok,
                                b_ok AND candidate_status = 'ok'                           AS ok,
                                ifNull(baseline_value, nan)                                AS bv,
                                ifNull(candidate_value, nan)                               AS cv,
                                baseline_label,
                                candidate_label,
                                baseline_latency_ms,
                                if({drift_attribute:String} = '', NULL, toFloat64OrNull(attributes[{drift_attribute:String}])) AS attr,
                                isFinite(ifNull(attr, nan))                                AS has_attr
                            FROM shadow_pairs FINAL
                            WHERE {hist:UInt8} = 0
                              AND experiment = {experiment:String}
                              AND candidate IN {candidates:Array(String)}
                              AND ((event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)})
                                OR (event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)}))
                              AND cityHash64(event_id) % sample_mod_of(candidate) = 0
                            UNION ALL
                            -- {hist} = 1: per window, the pairs whose hash is at most that window's cut
                            SELECT
                                candidate,
                                segments,
                                in_cur AND e.1 <= t_cur                                    AS in_cur,
                                in_ref AND e.1 <= t_ref                                    AS in_ref,
                                e.2                                                        AS b_ok,
                                e.3                                                        AS ok,
                                e.4                                                        AS bv,
                                e.5                                                        AS cv,
                                e.6                                                        AS baseline_label,
                                e.7                                                        AS candidate_label,
                                e.8                                                        AS baseline_latency_ms,
                                CAST(NULL, 'Nullable(Float64)')                            AS attr,
                                false                                                      AS has_attr
                            FROM (SELECT *, cuts.2[indexOf(cuts.1, candidate)] AS t_cur, cuts.3[indexOf(cuts.1, candidate)] AS t_ref FROM samples)
                            ARRAY JOIN sample AS e
                            WHERE (in_cur AND e.1 <= t_cur) OR (in_ref AND e.1 <= t_ref)
                        )
                        GROUP BY candidate, segments
                    )
                    ARRAY JOIN arrayConcat([('', '')], segments) AS seg
                    GROUP BY candidate, segment_key, segment_value
                ) AS agg
                FULL OUTER JOIN (SELECT arrayJoin({candidates:Array(String)}) AS candidate, '' AS segment_key, '' AS segment_value) AS overall
                    USING (candidate, segment_key, segment_value)
                ARRAY JOIN arrayFilter(t -> t.1 != '', [
                    ('output_value', false, output_ref, output_cur, no_categories, no_categories),
                    ('output_label', true, no_values, no_values, output_label_ref, output_label_cur),
                    ('baseline_value', false, baseline_ref, baseline_cur, no_categories, no_categories),
                    ('baseline_label', true, no_values, no_values, baseline_label_ref, baseline_label_cur),
                    ('baseline_latency_ms', false, latency_ref, latency_cur, no_categories, no_categories),
                    (attribute_feature, false, attribute_ref, attribute_cur, no_categories, no_categories)
                ]) AS f
            )
        )
    )
)
)
ARRAY JOIN arrayFilter(r -> segment_key = '' OR n_cur > 0, if(categorical,
    [
        ('psi', psi, CAST(NULL, 'Nullable(Float64)'), 'psi-categorical',
         concat(',"categories":', toJSONString(categories), ',"ref_counts":', toJSONString(ref_counts),
                ',"cur_counts":', toJSONString(cur_counts), ',"smoothing":1e-4')),
        ('js_distance', js, NULL, 'jensen-shannon-natural-log', '')
    ],
    [
        ('psi', psi, NULL, 'psi-reference-deciles',
         concat(',"edges":', toJSONString(edges), ',"ref_counts":', toJSONString(ref_counts),
                ',"cur_counts":', toJSONString(cur_counts), ',"smoothing":1e-4')),
        ('js_distance', js, NULL, 'jensen-shannon-natural-log', ''),
        ('ks', ks_d, if(NOT ks_possible, NULL, if(ks_exact, ks_p_exact, ks_p_asymp)),
         if(ks_exact OR NOT ks_possible, 'ks-two-sample-exact', 'ks-two-sample-asymp'), ''),
        ('wasserstein_normed', if(w1 IS NULL, NULL, w1 / greatest(ref_std, 0.001)), NULL, 'wasserstein-normed',
         concat(',"w1":', coalesce(toJSONString(w1), 'null'), ',"ref_std":', coalesce(toJSONString(ref_std), 'null'), ',"std_floor":0.001'))
    ])) AS m
ORDER BY candidate, metric, segment_key, segment_value, details
-- The planner would merge every level's expressions into one, and short-circuit if() would then
-- evaluate ks_d's array expressions a second time inside the branch of ks_p_asymp (and so on for
-- every if() around a statistic): measured 1.5 s instead of 0.6 s per candidate at 20 000 samples.
-- optimize_and_compare_chain = 0: that analyzer pass derives extra constant comparisons from
-- the AND chains of the time filters; on this statement it cost 50-80 ms of planning per run
-- (near-empty window, chDB 26.7) and adds no filter the ranges do not already state.
-- compile_expressions = 0: the third run of the same statement (same window) JIT-compiles its
-- expressions with LLVM, ~1 s of CPU at once that stalled the whole report set (0.8 s -> 2 s);
-- on roll-ups there is too little data for compiled code to win that back.
SETTINGS query_plan_merge_expressions = 0, optimize_and_compare_chain = 0, compile_expressions = 0
