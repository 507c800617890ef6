-- 0004: the failed runs of a region, newest first (Tx.LatestFailedRuns),
-- as SQLite's migration 0014.
--
-- The web console lists the secrets whose latest rotation failed, a page
-- at a time. The index on (region, created) holds every run of the region,
-- succeeded ones included; on this one a page is a range scan of the
-- region's failed runs only, from the cursor on (each checked for a later
-- run of its secret through rotation_runs_secret_created).
CREATE INDEX rotation_runs_region_status ON rotation_runs (region, status, created, id);
