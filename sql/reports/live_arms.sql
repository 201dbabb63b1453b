-- The model an experiment's baseline served (its usual-shadow pairs in [from, to)) and the arms
-- of that model's live traffic in request_events over the same window, with request counts: the
-- canary report compares two of them (stable/canary, or blue/green during a blue-green preview).
-- request_events are per model, not per experiment.
-- One pair names the model: LIMIT 1 stops at the first one instead of scanning the window.
-- Without a pair in the window the model is NULL and there are no rows (cast to String: an empty
-- scalar subquery of a LowCardinality column is an error, INCORRECT_RESULT_OF_SCALAR_SUBQUERY).
WITH (
    SELECT CAST(baseline_model AS String)
    FROM shadow_pairs
    WHERE experiment = {experiment:String}
      AND served = 'baseline'
      AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
    LIMIT 1
) AS served_model
SELECT served_model AS model, arm, count() AS requests
FROM request_events
WHERE model_name = served_model
  AND event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)}
GROUP BY arm
ORDER BY arm
