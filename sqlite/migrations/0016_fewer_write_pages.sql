-- 0016: fewer B-trees (and pages) written per label move, for the single
-- writer (issue 10: CreateSecret and PutSecretValue are bound by one core,
-- and the COMMIT's WAL frames are a fifth of it).
--
-- - stages_version (0001, 0012, 0015) goes: its key (secret_arn,
--   version_id) adds a second B-tree to every label write, and what it
--   served is as well served by the primary key's prefix: a secret has at
--   most 20 labels, all in one leaf of stages' B-tree (WITHOUT ROWID,
--   0012), so the labels of one version (the labels triggers below, the
--   foreign key's cascade from versions, Versions' join) are a search of
--   that prefix and a test of a few rows.
--
-- - stage_history becomes a WITHOUT ROWID table keyed by its primary key
--   (secret_arn, n): an event is one B-tree insert instead of two (the
--   rowid table and the index of its primary key), and the events of a
--   secret stay adjacent. Its rows are small (a label, a version id, a
--   time). The columns, constraints and cascade are those of 0010.
--
-- - the labels triggers (0015) no longer recompute the labels of the
--   version a label moves onto: it did not carry that label (the primary
--   key of stages puts a label on one version of a secret), so the label
--   is appended to its labels column ("in no particular order", as 0015
--   says). The version a label leaves (or loses) is still recomputed from
--   stages. An UPDATE of stages that changes nothing updates no version.

DROP INDEX stages_version;

CREATE TABLE stage_history_new (
    secret_arn TEXT   NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    n          BIGINT NOT NULL,
    stage      TEXT   NOT NULL,
    version_id TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (secret_arn, n)
) WITHOUT ROWID;

INSERT INTO stage_history_new (secret_arn, n, stage, version_id, at)
SELECT secret_arn, n, stage, version_id, at FROM stage_history ORDER BY secret_arn, n;

-- A child table only: dropping it cascades into nothing.
DROP TABLE stage_history;
ALTER TABLE stage_history_new RENAME TO stage_history;

DROP TRIGGER stages_labels_insert;
DROP TRIGGER stages_labels_update;

CREATE TRIGGER stages_labels_insert
AFTER INSERT ON stages
FOR EACH ROW
BEGIN
    UPDATE versions SET labels = labels || length(CAST(NEW.stage AS BLOB)) || ':' || NEW.stage
    WHERE secret_arn = NEW.secret_arn AND id = NEW.version_id;
END;

-- The version the label left is recomputed (it may be the same version, if
-- only the label's name changed: then it is done); the version it moved
-- onto, if another, gets it appended.
CREATE TRIGGER stages_labels_update
AFTER UPDATE ON stages
FOR EACH ROW
WHEN NEW.secret_arn IS NOT OLD.secret_arn OR NEW.stage IS NOT OLD.stage OR NEW.version_id IS NOT OLD.version_id
BEGIN
    UPDATE versions SET labels = COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
        FROM stages WHERE secret_arn = OLD.secret_arn AND version_id = OLD.version_id), '')
    WHERE secret_arn = OLD.secret_arn AND id = OLD.version_id;
    UPDATE versions SET labels = labels || length(CAST(NEW.stage AS BLOB)) || ':' || NEW.stage
    WHERE secret_arn = NEW.secret_arn AND id = NEW.version_id
      AND (NEW.secret_arn IS NOT OLD.secret_arn OR NEW.version_id IS NOT OLD.version_id);
END;
