-- 0011: DueRuns in index order.
--
-- DueRuns orders by next_attempt, then created, then insertion (rowid).
-- The index of 0002 on (status, next_attempt) left the last two to a sort
-- of every due run on each call, and the engine calls it on every claim:
-- with 1,000 runs due, each claim sorted 1,000 rows inside the single
-- writer. SQLite keeps the rowid at the end of every index entry, so this
-- index yields the whole order. It serves RunsWithStatus and ExpiredRuns
-- (status prefix) as the old one did, under the same name.

DROP INDEX rotation_runs_status_next;
CREATE INDEX rotation_runs_status_next ON rotation_runs (status, next_attempt, created);
