-- 0001: the initial schema.
--
-- Portable to PostgreSQL: times are BIGINT unix nanoseconds (0 = the zero
-- time), booleans are BOOLEAN, byte strings are BLOB (BYTEA there). The
-- store holds what the manager has already validated and encrypted; the
-- constraints below are the ones the store itself guarantees.

CREATE TABLE secrets (
    arn                          TEXT    NOT NULL PRIMARY KEY,
    region                       TEXT    NOT NULL,
    name                         TEXT    NOT NULL,
    description                  TEXT    NOT NULL DEFAULT '',
    kms_key_id                   TEXT    NOT NULL DEFAULT '',
    type                         TEXT    NOT NULL DEFAULT '',
    tags_ever_set                BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_configured          BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_enabled             BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_lambda_arn          TEXT    NOT NULL DEFAULT '',
    rotation_after_days          BIGINT  NOT NULL DEFAULT 0,
    rotation_duration            TEXT    NOT NULL DEFAULT '',
    rotation_schedule_expression TEXT    NOT NULL DEFAULT '',
    created_date                 BIGINT  NOT NULL DEFAULT 0,
    last_changed_date            BIGINT  NOT NULL DEFAULT 0,
    last_accessed_date           BIGINT  NOT NULL DEFAULT 0,
    last_rotated_date            BIGINT  NOT NULL DEFAULT 0,
    next_rotation_date           BIGINT  NOT NULL DEFAULT 0,
    deleted_date                 BIGINT  NOT NULL DEFAULT 0,
    purge_date                   BIGINT  NOT NULL DEFAULT 0,
    owning_service               TEXT    NOT NULL DEFAULT '',
    primary_region               TEXT    NOT NULL DEFAULT '',
    UNIQUE (region, name)
);

CREATE INDEX secrets_region_created ON secrets (region, created_date);
CREATE INDEX secrets_purge_date ON secrets (purge_date) WHERE purge_date <> 0;

-- A version's value (kek_id, wrapped_key, ciphertext) is either entirely
-- absent (a rotation placeholder) or entirely present.
CREATE TABLE versions (
    secret_arn         TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
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
);

CREATE INDEX versions_kek_id ON versions (kek_id);

-- A value is written once: once a version has a ciphertext, no UPDATE may
-- change it (or its kind). Re-wrapping changes kek_id and wrapped_key only.
CREATE TRIGGER versions_value_written_once
BEFORE UPDATE OF ciphertext, is_binary ON versions
FOR EACH ROW
WHEN OLD.ciphertext IS NOT NULL
 AND (NEW.ciphertext IS NOT OLD.ciphertext OR NEW.is_binary IS NOT OLD.is_binary)
BEGIN
    SELECT RAISE(ABORT, 'a stored value is written once');
END;

-- The primary key is what guarantees that a label is on at most one version
-- of a secret.
CREATE TABLE stages (
    secret_arn TEXT NOT NULL,
    stage      TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES versions (secret_arn, id) ON DELETE CASCADE
);

CREATE INDEX stages_version ON stages (secret_arn, version_id);

CREATE TABLE tags (
    secret_arn TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (secret_arn, position),
    UNIQUE (secret_arn, key)
);

CREATE TABLE identities (
    name         TEXT   NOT NULL PRIMARY KEY,
    role         TEXT   NOT NULL,
    created_date BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE access_keys (
    id           TEXT   NOT NULL PRIMARY KEY,
    identity     TEXT   NOT NULL REFERENCES identities (name) ON DELETE CASCADE,
    status       TEXT   NOT NULL,
    kek_id       TEXT   NOT NULL,
    wrapped_key  BLOB   NOT NULL,
    ciphertext   BLOB   NOT NULL,
    created_date BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX access_keys_identity ON access_keys (identity);
CREATE INDEX access_keys_kek_id ON access_keys (kek_id);

CREATE TRIGGER access_keys_secret_written_once
BEFORE UPDATE OF ciphertext ON access_keys
FOR EACH ROW
WHEN NEW.ciphertext IS NOT OLD.ciphertext
BEGIN
    SELECT RAISE(ABORT, 'a stored value is written once');
END;
