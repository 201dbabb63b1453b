-- Metric rows already stored for one report (run, experiment, candidate): makes storing idempotent.
SELECT count() AS rows
FROM comparison_reports
WHERE run_id = {run_id:String} AND experiment = {experiment:String} AND candidate = {candidate:String}
