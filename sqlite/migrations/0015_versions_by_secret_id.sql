-- 0015: a secret's versions are one range of an integer key, with their
-- labels on their rows, for reads that miss the service's cache (issue 10).
--
-- Before, a read of one secret searched five B-trees: secrets by (region,
-- name), the secret's row, versions by (secret_arn, id), each version's
-- row, and stages by secret_arn; three of them are keyed by the ~75-byte
-- ARN, so their interior pages hold ~30 keys each and do not stay in
-- SQLite's page cache at 1,000,000 secrets (about 9.6 read(2) per read).
-- Now:
--
-- - every secret has a stable integer id, sid (secrets.rowid would do, but
--   VACUUM may renumber the rowids of a table without an INTEGER PRIMARY
--   KEY, and the backup is a VACUUM INTO);
-- - a version's rowid, vkey, is sid << 32 | seq, seq growing (from 1) in
--   insertion order, so the versions of a secret are one rowid range,
--   read by one search of a B-tree whose interior cells are integers, in
--   insertion order (what breaks CreatedDate ties, as rowid did);
-- - a version's row carries its labels (labels: each label's length in
--   bytes, ':', the label, in no particular order), kept by triggers on
--   stages,
--   which stays the table of record: its primary key is what keeps a label
--   on one version of a secret.
--
-- So a read is three searches: the name index, the secret's row, its
-- versions' rows. The triggers keep the invariants: sid is set on insert
-- and never changes; a version's vkey lies in its secret's range; labels
-- is what stages says.
--
-- versions is rebuilt (a rowid table cannot change its rowids' meaning in
-- place), and stages with it: stages references versions, and dropping a
-- parent table with foreign keys on deletes its rows first, which would
-- cascade into the labels. The new stages references versions_new, which
-- the rename at the end makes versions again. Constraints, indexes and
-- the value trigger are those of 0001 and 0012.

-- sid << 32 must fit a signed 64-bit rowid: the CHECK refuses a store
-- whose rowids do not fit 31 bits (on the UPDATE) and a 2^31st sid.
ALTER TABLE secrets ADD COLUMN sid INTEGER CHECK (sid BETWEEN 1 AND 2147483647);
UPDATE secrets SET sid = rowid;
CREATE UNIQUE INDEX secrets_sid ON secrets (sid);

-- A new secret takes the next sid (the largest + 1; a deleted secret's
-- versions went with it, by cascade).
CREATE TRIGGER secrets_sid_assign
AFTER INSERT ON secrets
FOR EACH ROW
WHEN NEW.sid IS NULL
BEGIN
    UPDATE secrets SET sid = (SELECT COALESCE(MAX(sid), 0) + 1 FROM secrets) WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER secrets_sid_fixed
BEFORE UPDATE OF sid ON secrets
FOR EACH ROW
WHEN OLD.sid IS NOT NULL AND NEW.sid IS NOT OLD.sid
BEGIN
    SELECT RAISE(ABORT, 'a secret''s sid never changes');
END;

CREATE TABLE versions_new (
    vkey               INTEGER PRIMARY KEY,
    secret_arn         TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
    kek_id             TEXT,
    wrapped_key        BLOB,
    ciphertext         BLOB,
    is_binary          BOOLEAN NOT NULL DEFAULT FALSE,
    kms_key_id         TEXT    NOT NULL DEFAULT '',
    created_date       BIGINT  NOT NULL DEFAULT 0,
    last_accessed_date BIGINT  NOT NULL DEFAULT 0,
    labels             TEXT    NOT NULL DEFAULT '',
    UNIQUE (secret_arn, id),
    CHECK ((ciphertext IS NULL AND kek_id IS NULL AND wrapped_key IS NULL)
        OR (ciphertext IS NOT NULL AND kek_id IS NOT NULL AND wrapped_key IS NOT NULL))
);

-- seq is the old rowid, which grew with every insert: existing versions
-- keep their order, and new ones count on from the secret's largest. The
-- temporary table refuses (CHECK) a store whose rowids do not fit 32 bits.
CREATE TEMP TABLE migration_0015_check (max_rowid INTEGER CHECK (max_rowid < 4294967296));
INSERT INTO migration_0015_check SELECT COALESCE(MAX(rowid), 0) FROM versions;
DROP TABLE migration_0015_check;

-- Secrets in rowid (= sid) order, so the new rows go in nearly in key
-- order.
INSERT INTO versions_new (vkey, secret_arn, id, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id,
    created_date, last_accessed_date, labels)
SELECT (s.sid << 32) + v.rowid,
    v.secret_arn, v.id, v.kek_id, v.wrapped_key, v.ciphertext, v.is_binary, v.kms_key_id,
    v.created_date, v.last_accessed_date,
    COALESCE((SELECT group_concat(length(CAST(st.stage AS BLOB)) || ':' || st.stage, '')
        FROM stages st WHERE st.secret_arn = v.secret_arn AND st.version_id = v.id), '')
FROM secrets s CROSS JOIN versions v ON v.secret_arn = s.arn;

CREATE TABLE stages_new (
    secret_arn TEXT NOT NULL,
    stage      TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES versions_new (secret_arn, id) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO stages_new (secret_arn, stage, version_id)
SELECT secret_arn, stage, version_id FROM stages ORDER BY secret_arn, stage;

-- stages first: with it gone nothing references versions, which then
-- drops without deleting its rows one by one.
DROP TABLE stages;
DROP TABLE versions;

ALTER TABLE versions_new RENAME TO versions;
ALTER TABLE stages_new RENAME TO stages;

CREATE INDEX versions_kek_id ON versions (kek_id);
CREATE INDEX stages_version ON stages (secret_arn, version_id);

CREATE TRIGGER versions_value_written_once
BEFORE UPDATE OF ciphertext, is_binary ON versions
FOR EACH ROW
WHEN OLD.ciphertext IS NOT NULL
 AND (NEW.ciphertext IS NOT OLD.ciphertext OR NEW.is_binary IS NOT OLD.is_binary)
BEGIN
    SELECT RAISE(ABORT, 'a stored value is written once');
END;

-- A version's vkey is in its secret's range: an insert gives it (see
-- CreateVersion), and it never moves.
CREATE TRIGGER versions_vkey_in_range
BEFORE INSERT ON versions
FOR EACH ROW
WHEN NEW.vkey IS NULL OR NEW.vkey < 0
  OR (NEW.vkey >> 32) IS NOT (SELECT sid FROM secrets WHERE arn = NEW.secret_arn)
  OR (NEW.vkey & 4294967295) = 0
BEGIN
    SELECT RAISE(ABORT, 'a version''s vkey must lie in its secret''s range');
END;

CREATE TRIGGER versions_vkey_fixed
BEFORE UPDATE OF vkey, secret_arn ON versions
FOR EACH ROW
WHEN NEW.vkey IS NOT OLD.vkey OR NEW.secret_arn IS NOT OLD.secret_arn
BEGIN
    SELECT RAISE(ABORT, 'a version''s vkey and secret never change');
END;

-- labels follows stages. (A label deleted by the cascade of its version's
-- delete updates no row.) The schema keeps to what older SQLite builds
-- parse (no octet_length, no ORDER BY inside group_concat: 3.43 and 3.44),
-- so an operator's sqlite3 shell can still open the file; readers sort.
CREATE TRIGGER stages_labels_insert
AFTER INSERT ON stages
FOR EACH ROW
BEGIN
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE secret_arn = NEW.secret_arn AND version_id = NEW.version_id), '')
    WHERE secret_arn = NEW.secret_arn AND id = NEW.version_id;
END;

CREATE TRIGGER stages_labels_delete
AFTER DELETE ON stages
FOR EACH ROW
BEGIN
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE secret_arn = OLD.secret_arn AND version_id = OLD.version_id), '')
    WHERE secret_arn = OLD.secret_arn AND id = OLD.version_id;
END;

CREATE TRIGGER stages_labels_update
AFTER UPDATE ON stages
FOR EACH ROW
BEGIN
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE secret_arn = OLD.secret_arn AND version_id = OLD.version_id), '')
    WHERE secret_arn = OLD.secret_arn AND id = OLD.version_id;
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE secret_arn = NEW.secret_arn AND version_id = NEW.version_id), '')
    WHERE secret_arn = NEW.secret_arn AND id = NEW.version_id;
END;
