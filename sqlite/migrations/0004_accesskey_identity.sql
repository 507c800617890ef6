-- 0003: the Rotor identity a secret's rotation is bound to.
--
-- RotateSecret records here the "identity" of the AWSCURRENT value when
-- its caller may manage that identity's access keys (rotor:CreateAccessKey);
-- the built-in function rotor-access-key creates and deletes keys of this
-- identity only. '' = none. Secrets configured before this migration are
-- bound to none: their access-key rotation fails until an administrator
-- calls RotateSecret again.

ALTER TABLE secrets ADD COLUMN rotation_identity TEXT NOT NULL DEFAULT '';
