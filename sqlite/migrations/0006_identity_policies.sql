-- 0004: identity policies.
--
-- Each identity may hold one inline identity policy document (IAM's
-- grammar), stored as the client wrote it; '' = none. The role column
-- stays: 'admin' and 'read-only' attach built-in documents, so identities
-- created before this migration keep exactly their rights; '' (no role)
-- attaches nothing.

ALTER TABLE identities ADD COLUMN policy TEXT NOT NULL DEFAULT '';
