-- 0008: leases on rotation runs (rotor.RunRecord.Owner, LeaseUntil).
--
-- A running run names the server process that claimed it and when that
-- claim lapses; another server may claim a running run whose lease has
-- lapsed. Runs written before this migration have no owner and a lapsed
-- (zero) lease.

ALTER TABLE rotation_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE rotation_runs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
