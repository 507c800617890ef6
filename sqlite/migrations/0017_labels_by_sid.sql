-- 0017: versions, labels and label history keyed by the secret's sid
-- (0015) instead of its ARN, for the single writer (issue 10: the COMMIT
-- is most of a write's time, and its cost is the WAL frames, pages,
-- written).
--
-- Measured with CreateSecret and PutSecretValue from 8 clients, the
-- largest parts of a write's ~11 pages were the B-trees keyed by the
-- ~75-byte ARN: stage_history (2.3 pages per write), stages (1.9) and the
-- UNIQUE (secret_arn, id) index of versions (1.8). An ARN puts each write
-- at a random place in them (its random suffix), so the writes of one
-- group commit touch as many leaves as they are, and its size makes
-- leaves split often. A secret's sid is an integer, and a new secret takes
-- the largest + 1: rows keyed by it go to the right edge of their B-tree,
-- where the writes of one commit share leaves, and their keys are small
-- for old secrets too. So:
--
-- - versions gets a column sid (= vkey >> 32, which a trigger holds:
--   versions_vkey_in_range) referencing secrets (sid), and UNIQUE (sid,
--   id) replaces UNIQUE (secret_arn, id). secret_arn goes: every reader
--   that wants a version's ARN has its secret's row at hand (by sid), and
--   a row without it is ~75 bytes smaller (values are short; a leaf holds
--   more rows, of versions and of pages read that miss the cache alike).
-- - stages is keyed by (sid, stage), WITHOUT ROWID as in 0012; its
--   foreign key (sid, version_id) references versions (sid, id) with the
--   cascade of 0001. Its primary key is still what keeps a label on one
--   version of a secret.
-- - stage_history is keyed by (sid, n), WITHOUT ROWID as in 0016, and goes
--   with its secret (sid) by cascade as in 0010.
--
-- The labels triggers are those of 0016 in terms of sid; the value and
-- vkey triggers those of 0015 (a version's secret, now its sid, never
-- changes; its vkey lies in that secret's range, and the secret exists,
-- which the vkey trigger checks by sid as 0015's did by ARN, for writers
-- without foreign keys too).
--
-- A sid is never given again, not even a deleted secret's: a writer with
-- foreign keys off (the sqlite3 shell's default) deletes a secret without
-- its versions, labels and history, and rows keyed by a sid given again
-- would then belong to the new secret (keyed by the ARN, with its random
-- suffix, they belonged to nobody). sid_floor holds the largest sid
-- deleted (a trigger on secrets keeps it), a new secret takes the larger
-- of it and the largest live sid, plus one, and a trigger refuses an
-- explicit sid at or under it. Versions whose secret is gone (left so by
-- such a writer) are not carried over, as their labels and history are
-- not (the joins below).
--
-- The three tables are rebuilt, children first as in 0015: stages and
-- stage_history are dropped before versions, so that nothing references
-- versions when it drops (a dropped parent's rows are deleted one by one
-- first, cascading).
--
-- At 1,000,000 secrets (one version and one label each, built by 0016's
-- store) the migration took 13 to 16 s (2 shared cores, the file in the
-- page cache). The new tables are written before the old ones are
-- dropped: the file grew from 1.70 to 2.34 GB, of which 0.88 GB were then
-- free pages that later writes reuse (the data itself shrank by 14%, the
-- ARNs gone from the version and label rows); the WAL needs the room of
-- the new tables until the checkpoint at the end.

CREATE TABLE versions_new (
    vkey               INTEGER PRIMARY KEY,
    sid                INTEGER NOT NULL REFERENCES secrets (sid) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
    kek_id             TEXT,
    wrapped_key        BLOB,
    ciphertext         BLOB,
    is_binary          BOOLEAN NOT NULL DEFAULT FALSE,
    kms_key_id         TEXT    NOT NULL DEFAULT '',
    created_date       BIGINT  NOT NULL DEFAULT 0,
    last_accessed_date BIGINT  NOT NULL DEFAULT 0,
    labels             TEXT    NOT NULL DEFAULT '',
    UNIQUE (sid, id),
    CHECK ((ciphertext IS NULL AND kek_id IS NULL AND wrapped_key IS NULL)
        OR (ciphertext IS NOT NULL AND kek_id IS NOT NULL AND wrapped_key IS NOT NULL))
);

-- vkey >> 32 is the secret's sid (0015's trigger held it); the foreign
-- key checks each row's secret exists.
INSERT INTO versions_new (vkey, sid, id, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id,
    created_date, last_accessed_date, labels)
SELECT vkey, vkey >> 32, id, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id,
    created_date, last_accessed_date, labels
FROM versions v
WHERE EXISTS (SELECT 1 FROM secrets s WHERE s.sid = v.vkey >> 32 AND s.arn = v.secret_arn)
ORDER BY vkey;

CREATE TABLE stages_new (
    sid        INTEGER NOT NULL,
    stage      TEXT    NOT NULL,
    version_id TEXT    NOT NULL,
    PRIMARY KEY (sid, stage),
    FOREIGN KEY (sid, version_id) REFERENCES versions_new (sid, id) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO stages_new (sid, stage, version_id)
SELECT s.sid, st.stage, st.version_id FROM stages st JOIN secrets s ON s.arn = st.secret_arn
ORDER BY s.sid, st.stage;

CREATE TABLE stage_history_new (
    sid        INTEGER NOT NULL REFERENCES secrets (sid) ON DELETE CASCADE,
    n          BIGINT  NOT NULL,
    stage      TEXT    NOT NULL,
    version_id TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    PRIMARY KEY (sid, n)
) WITHOUT ROWID;

INSERT INTO stage_history_new (sid, n, stage, version_id, at)
SELECT s.sid, h.n, h.stage, h.version_id, h.at FROM stage_history h JOIN secrets s ON s.arn = h.secret_arn
ORDER BY s.sid, h.n;

-- The floor starts above every sid in use, by a secret or by a row left
-- of one (vkey >> 32 is a sid given before).
CREATE TABLE sid_floor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    sid INTEGER NOT NULL
);

INSERT INTO sid_floor (id, sid)
SELECT 1, max(COALESCE((SELECT MAX(sid) FROM secrets), 0), COALESCE((SELECT MAX(vkey) >> 32 FROM versions), 0));

CREATE TRIGGER secrets_sid_floor
AFTER DELETE ON secrets
FOR EACH ROW
BEGIN
    UPDATE sid_floor SET sid = OLD.sid WHERE id = 1 AND sid < OLD.sid;
END;

CREATE TRIGGER secrets_sid_above_floor
BEFORE INSERT ON secrets
FOR EACH ROW
WHEN NEW.sid IS NOT NULL AND NEW.sid <= (SELECT sid FROM sid_floor WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'a deleted secret''s sid is not given again');
END;

-- 0015's, with the floor: a secret inserted without a sid takes the next.
DROP TRIGGER secrets_sid_assign;

CREATE TRIGGER secrets_sid_assign
AFTER INSERT ON secrets
FOR EACH ROW
WHEN NEW.sid IS NULL
BEGIN
    UPDATE secrets SET sid = max(COALESCE((SELECT MAX(sid) FROM secrets), 0),
        COALESCE((SELECT sid FROM sid_floor WHERE id = 1), 0)) + 1
    WHERE rowid = NEW.rowid;
END;

-- Children first: then nothing references versions when it drops.
DROP TABLE stages;
DROP TABLE stage_history;
DROP TABLE versions;

ALTER TABLE versions_new RENAME TO versions;
ALTER TABLE stages_new RENAME TO stages;
ALTER TABLE stage_history_new RENAME TO stage_history;

CREATE INDEX versions_kek_id ON versions (kek_id);

CREATE TRIGGER versions_value_written_once
BEFORE UPDATE OF ciphertext, is_binary ON versions
FOR EACH ROW
WHEN OLD.ciphertext IS NOT NULL
 AND (NEW.ciphertext IS NOT OLD.ciphertext OR NEW.is_binary IS NOT OLD.is_binary)
BEGIN
    SELECT RAISE(ABORT, 'a stored value is written once');
END;

-- A version's vkey is in its secret's range, and the secret exists (for
-- writers without foreign keys): an insert gives it (see CreateVersion),
-- and it never moves.
CREATE TRIGGER versions_vkey_in_range
BEFORE INSERT ON versions
FOR EACH ROW
WHEN NEW.vkey IS NULL OR NEW.vkey < 0
  OR (NEW.vkey >> 32) IS NOT NEW.sid
  OR (NEW.vkey & 4294967295) = 0
  OR NOT EXISTS (SELECT 1 FROM secrets WHERE sid = NEW.sid)
BEGIN
    SELECT RAISE(ABORT, 'a version''s vkey must lie in its secret''s range');
END;

CREATE TRIGGER versions_vkey_fixed
BEFORE UPDATE OF vkey, sid ON versions
FOR EACH ROW
WHEN NEW.vkey IS NOT OLD.vkey OR NEW.sid IS NOT OLD.sid
BEGIN
    SELECT RAISE(ABORT, 'a version''s vkey and secret never change');
END;

-- labels follows stages (0015, 0016): a label put on a version is
-- appended to its labels; the version a label leaves (or loses) is
-- recomputed from stages.
CREATE TRIGGER stages_labels_insert
AFTER INSERT ON stages
FOR EACH ROW
BEGIN
    UPDATE versions SET labels = labels || length(CAST(NEW.stage AS BLOB)) || ':' || NEW.stage
    WHERE sid = NEW.sid AND id = NEW.version_id;
END;

CREATE TRIGGER stages_labels_delete
AFTER DELETE ON stages
FOR EACH ROW
BEGIN
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE sid = OLD.sid AND version_id = OLD.version_id), '')
    WHERE sid = OLD.sid AND id = OLD.version_id;
END;

CREATE TRIGGER stages_labels_update
AFTER UPDATE ON stages
FOR EACH ROW
WHEN NEW.sid IS NOT OLD.sid OR NEW.stage IS NOT OLD.stage OR NEW.version_id IS NOT OLD.version_id
BEGIN
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE sid = OLD.sid AND version_id = OLD.version_id), '')
    WHERE sid = OLD.sid AND id = OLD.version_id;
    UPDATE versions SET labels = labels || length(CAST(NEW.stage AS BLOB)) || ':' || NEW.stage
    WHERE sid = NEW.sid AND id = NEW.version_id
      AND (NEW.sid IS NOT OLD.sid OR NEW.version_id IS NOT OLD.version_id);
END;
