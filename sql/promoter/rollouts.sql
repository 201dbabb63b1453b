-- Every rollout's current state entry, unfinished ones only when active_only = 1: what a promoter
-- rebuilds from when it starts or becomes the leader.
SELECT
    rollout,
    version,
    state,
    last_decision,
    spec_yaml,
    spec_hash,
    updated_by,
    toUnixTimestamp64Milli(updated_at) AS updated_at_ms
FROM rollout_state FINAL
WHERE entry = 'state'
  AND ({active_only:UInt8} = 0 OR phase NOT IN ('done', 'rolled-back', 'aborted'))
ORDER BY rollout
