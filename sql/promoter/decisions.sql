-- The latest decisions of one rollout from the audit trail, newest first.
SELECT
    decision_id,
    phase,
    step,
    weight,
    decision,
    next_step,
    next_weight,
    reasons,
    spec_hash,
    decided_by,
    toUnixTimestamp64Milli(decided_at) AS decided_at_ms
FROM promotion_decisions
WHERE rollout = {rollout:String}
ORDER BY decided_at DESC, decision_id DESC
LIMIT {limit:UInt32}
