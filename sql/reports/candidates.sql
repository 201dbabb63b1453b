-- The candidates of {experiment} with their role and pair counts in the report window [from, to)
-- and the reference window [ref_from, ref_to). The counts are upper bounds (no FINAL: re-delivered
-- pairs count twice until merged); the comparator sizes its deterministic samples from them.
-- Spans read from roll-ups ({roll_*} for the window, {ref_roll_*} for the reference; empty when
-- none) are counted from their stored pair counts (deduplicated), the rest from the raw pairs.
-- With {all_time} = 1 also every candidate the experiment ever had, with 0 and 0 where it has no
-- pair in either window: that reads the candidate column of every pair of the experiment (0.3 s
-- at 10 M pairs), so the comparator asks for it only when the windows name no candidate it needs.
SELECT
    candidate,
    any(role)                                                                                         AS role,
    sum(in_window)                                                                                    AS pairs_in_window,
    sum(in_reference)                                                                                 AS pairs_in_reference
FROM
(
    SELECT
        candidate,
        any(role)                                                                                     AS role,
        countIf(event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
                AND NOT (event_time >= {roll_from:DateTime64(3)} AND event_time < {roll_to:DateTime64(3)}))             AS in_window,
        countIf(event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)}
                AND NOT (event_time >= {ref_roll_from:DateTime64(3)} AND event_time < {ref_roll_to:DateTime64(3)})) AS in_reference
    FROM shadow_pairs
    WHERE experiment = {experiment:String}
      AND ((event_time >= {from:DateTime64(3)} AND event_time < {roll_from:DateTime64(3)})
        OR (event_time >= {roll_to:DateTime64(3)} AND event_time < {to:DateTime64(3)})
        OR (event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_roll_from:DateTime64(3)})
        OR (event_time >= {ref_roll_to:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)}))
    GROUP BY candidate
    UNION ALL
    SELECT
        candidate,
        any(role)                                                                                     AS role,
        countMergeIf(pairs_s, has(arrayZip({roll_spans:Array(UInt8)}, {roll_hours:Array(DateTime('UTC'))}, {roll_versions:Array(UInt64)}), (span_hours, hour, version))) AS in_window,
        countMergeIf(pairs_s, has(arrayZip({ref_roll_spans:Array(UInt8)}, {ref_roll_hours:Array(DateTime('UTC'))}, {ref_roll_versions:Array(UInt64)}), (span_hours, hour, version))) AS in_reference
    FROM pair_rollups
    WHERE experiment = {experiment:String}
      AND ((hour >= {roll_from:DateTime64(3)} AND hour < {roll_to:DateTime64(3)})
        OR (hour >= {ref_roll_from:DateTime64(3)} AND hour < {ref_roll_to:DateTime64(3)}))
    GROUP BY candidate
    UNION ALL
    -- every candidate the experiment ever had, also with no pair in either window
    SELECT DISTINCT candidate, role, toUInt64(0), toUInt64(0)
    FROM shadow_pairs
    WHERE {all_time:UInt8} = 1 AND experiment = {experiment:String}
)
GROUP BY candidate
ORDER BY role, candidate
