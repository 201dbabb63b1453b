-- Requests of {model} per arm in [from, to) (upper bound, no FINAL): sizes the canary report's sample.
SELECT arm, count() AS requests
FROM request_events
WHERE model_name = {model:String}
  AND arm IN ({stable_arm:String}, {canary_arm:String})
  AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
GROUP BY arm
