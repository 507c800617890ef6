-- 0012: labels and tags clustered by secret, for reads that miss the
-- service's cache.
--
-- stages and tags become WITHOUT ROWID tables: their rows live in the
-- B-tree of their primary key (secret_arn, ...), so all the labels (tags)
-- of a secret are adjacent, usually in one leaf page, and reading them is
-- one descent of one B-tree instead of an index search plus a table
-- search per row. Their rows are small, which WITHOUT ROWID needs (an
-- interior page of such a B-tree holds whole rows). versions stays a rowid
-- table: its rows carry the sealed values, and as a WITHOUT ROWID table
-- its interior pages would hold a few rows each (measured at 1,000,000
-- secrets: seven levels instead of four).
--
-- WITHOUT ROWID is SQLite's (a PostgreSQL table is a heap with its
-- indexes anyway); the constraints and cascades are those of 0001, the
-- indexes those of 0001 and 0007.
--
-- The new tables are filled, the old ones dropped (they are children
-- only: dropping them cascades into nothing), and the new ones take the
-- old names.

CREATE TABLE stages_new (
    secret_arn TEXT NOT NULL,
    stage      TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES versions (secret_arn, id) ON DELETE CASCADE
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

ALTER TABLE stages_new RENAME TO stages;
ALTER TABLE tags_new RENAME TO tags;

CREATE INDEX stages_version ON stages (secret_arn, version_id);
CREATE INDEX tags_key ON tags (key, secret_arn);
CREATE INDEX tags_value ON tags (value, secret_arn);
