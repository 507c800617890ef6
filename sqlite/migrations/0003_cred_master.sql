-- 0003: the master secret a secret's rotation is bound to.
--
-- RotateSecret records here the full ARN of the secret that the AWSCURRENT
-- value's "masterarn" names when rotation is configured; rotation
-- credentials may read that secret and no other master. '' = no master.
-- Secrets whose rotation was configured before this migration have none
-- bound: a run whose AWSCURRENT value names a master then fails until
-- RotateSecret is called again.

ALTER TABLE secrets ADD COLUMN rotation_master_arn TEXT NOT NULL DEFAULT '';
