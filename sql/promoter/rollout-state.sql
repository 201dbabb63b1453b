-- The current state entry of one rollout (the highest version wins), with the spec it runs under.
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
WHERE rollout = {rollout:String}
  AND entry = 'state'
