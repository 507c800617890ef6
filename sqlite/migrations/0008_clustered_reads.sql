-- 0008: versions, labels and tags clustered by secret, for reads that
-- miss the service's cache.
--
-- The three tables become WITHOUT ROWID tables keyed by (secret_arn, ...):
-- their rows live in the B-tree of their primary key, ordered by secret, so
-- all the versions of a secret (or its labels, or its tags) are adjacent,
-- usually in one page, and reading them is one descent of one B-tree
-- instead of an index search followed by a table search per row. A read of
-- one secret with its versions and labels (sqlite.Store.ReadSecret) then
-- touches about four pages instead of about eight.
--
-- A WITHOUT ROWID table has no rowid, which ordered versions created in the
-- same nanosecond: seq takes its place, the rowid's value for existing
-- versions and one more than the secret's largest for new ones.
--
-- Portable as before except WITHOUT ROWID, which is SQLite's (a PostgreSQL
-- table is a heap with its indexes anyway). Constraints, cascades and the
-- write-once trigger are the same as in 0001.
--
-- The old tables are dropped after the new ones are filled: stages first,
-- so that dropping versions (an implicit DELETE with foreign keys on)
-- cascades into nothing, then the new tables take the old names, and
-- SQLite rewrites the reference of stages_new to versions_new accordingly.

CREATE TABLE versions_new (
    secret_arn         TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
    seq                BIGINT  NOT NULL,
    kek_id             TEXT,
    wrapped_key        BLOB,
    ciphertext         BLOB,
    is_binary          BOOLEAN NOT NULL DEFAULT FALSE,
    kms_key_id         TEXT    NOT NULL DEFAULT '',
    created_date       BIGINT  NOT NULL DEFAULT 0,
    last_accessed_date BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (secret_arn, id),
    CHECK ((ciphertext IS NULL AND kek_id IS NULL AND wrapped_key IS NULL)
        OR (ciphertext IS NOT NULL AND kek_id IS NOT NULL AND wrapped_key IS NOT NULL))
) WITHOUT ROWID;

INSERT INTO versions_new (secret_arn, id, seq, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id,
    created_date, last_accessed_date)
SELECT secret_arn, id, rowid, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id,
    created_date, last_accessed_date
FROM versions ORDER BY secret_arn, id;

CREATE TABLE stages_new (
    secret_arn TEXT NOT NULL,
    stage      TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES versions_new (secret_arn, id) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO stages_new (secret_arn, stage, version_id)
SELECT secret_arn, stage, version_id FROM stages ORDER BY secret_arn, stage;

CREATE TABLE tags_new (
    secret_arn TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (secret_arn, position),
    UNIQUE (secret_arn, key)
) WITHOUT ROWID;

INSERT INTO tags_new (secret_arn, position, key, value)
SELECT secret_arn, position, key, value FROM tags ORDER BY secret_arn, position;

DROP TABLE stages;
DROP TABLE tags;
DROP TABLE versions;

ALTER TABLE versions_new RENAME TO versions;
ALTER TABLE stages_new RENAME TO stages;
ALTER TABLE tags_new RENAME TO tags;

CREATE INDEX versions_kek_id ON versions (kek_id);
CREATE INDEX stages_version ON stages (secret_arn, version_id);
CREATE INDEX tags_key ON tags (key, secret_arn);
CREATE INDEX tags_value ON tags (value, secret_arn);

CREATE TRIGGER versions_value_written_once
BEFORE UPDATE OF ciphertext, is_binary ON versions
FOR EACH ROW
WHEN OLD.ciphertext IS NOT NULL
 AND (NEW.ciphertext IS NOT OLD.ciphertext OR NEW.is_binary IS NOT OLD.is_binary)
BEGIN
    SELECT RAISE(ABORT, 'a stored value is written once');
END;
