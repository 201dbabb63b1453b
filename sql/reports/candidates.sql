-- The candidates of {experiment} with their role and pair counts in the report window [from, to)
-- and the reference window [ref_from, ref_to). The counts are upper bounds (no FINAL: re-delivered
-- pairs count twice until merged); the comparator sizes its deterministic samples from them.
SELECT
    candidate,
    any(role)                                                                                         AS role,
    countIf(event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)})                   AS pairs_in_window,
    countIf(event_time >= {ref_from:DateTime64(3)} AND event_time < {ref_to:DateTime64(3)})           AS pairs_in_reference
FROM shadow_pairs
WHERE experiment = {experiment:String}
GROUP BY candidate
ORDER BY role, candidate
