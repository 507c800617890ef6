-- 0003 (respolicy): a secret's resource-based policy.
--
-- The document is kept exactly as the client sent it (TEXT, never
-- re-encoded); '' means the secret has none. It lives on the secret's row,
-- so deleting the secret deletes it, and it is read with the secret in the
-- same snapshot. Portable to PostgreSQL as written.

ALTER TABLE secrets ADD COLUMN resource_policy TEXT NOT NULL DEFAULT '';
