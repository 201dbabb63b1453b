-- Whether any pair of {experiment} is stored (any time).
SELECT count() > 0 AS found
FROM (SELECT 1 FROM shadow_pairs WHERE experiment = {experiment:String} LIMIT 1)
