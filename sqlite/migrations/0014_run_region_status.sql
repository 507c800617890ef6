-- 0014: the failed runs of a region, newest first (Tx.LatestFailedRuns).
--
-- The web console lists the secrets whose latest rotation failed, a page
-- at a time. The index of 0002 on (region, created) holds every run of the
-- region, succeeded ones included, so finding the failed ones scanned them
-- all; on this one a page is a range scan of the failed runs only, from the
-- cursor on (each checked for a later run of its secret through
-- rotation_runs_secret_created).
CREATE INDEX rotation_runs_region_status ON rotation_runs (region, status, created, id);
