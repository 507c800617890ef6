-- 0009: named leases (rotor.Tx.AcquireLease).
--
-- One row per lease: who holds it and until when (unix nanoseconds, like
-- every time in this schema). Servers sharing a store take a lease so that
-- one of them at a time does a cluster-wide chore (the rotation
-- scheduler's scan). A lease whose until is not after now has lapsed and
-- may be taken by anyone.

CREATE TABLE leases (
    name  TEXT   NOT NULL PRIMARY KEY,
    owner TEXT   NOT NULL,
    until BIGINT NOT NULL
);
