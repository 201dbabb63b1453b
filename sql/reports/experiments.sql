-- Experiments that have pairs: their candidates, pair count and event-time range, as epoch ms.
-- An overview, not a report: counts are not deduplicated (no FINAL).
SELECT
    experiment,
    arraySort(groupUniqArray(candidate))            AS candidates,
    count()                                         AS pairs,
    toUnixTimestamp64Milli(min(event_time))         AS first_event_ms,
    toUnixTimestamp64Milli(max(event_time))         AS last_event_ms
FROM shadow_pairs
GROUP BY experiment
ORDER BY experiment
