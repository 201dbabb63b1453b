-- Reverse shadow: a pair can now also come from an event the candidate served (a canary arm,
-- blue-green after the switch) replayed against the baseline. `served` says which side
-- production answered (the other was replayed); baseline_* stays the baseline's answer and
-- candidate_* the candidate's either way. Rows written before this migration were all the usual
-- shadow: served = 'baseline'. `baseline_error` says why the baseline's answer is missing: the
-- live error of the event, or the baseline replay's error in a reverse pair.
ALTER TABLE shadow_pairs
    ADD COLUMN IF NOT EXISTS served LowCardinality(String) DEFAULT 'baseline',
    ADD COLUMN IF NOT EXISTS baseline_error Nullable(String);
