-- Whether a grant entry exists (e.g. 'grant/flagger/confirm-traffic-increase/canary:2').
SELECT count() AS n
FROM rollout_state FINAL
WHERE rollout = {rollout:String}
  AND entry = {entry:String}
