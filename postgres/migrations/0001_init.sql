-- 0001: the whole schema of a PostgreSQL store, as of SQLite's migration
-- 0009 (the two backends number their migrations separately).
--
-- Conventions (see the package doc):
--   - times are BIGINT unix nanoseconds, 0 = the zero time, so they
--     round-trip to the nanosecond (timestamptz keeps microseconds);
--   - strings are TEXT COLLATE "C": comparisons and ORDER BY are byte-wise
--     (memcmp), whatever the database's default collation, and lower() folds
--     ASCII letters only; the store refuses, before writing, a string
--     PostgreSQL's text cannot hold (a NUL byte, invalid UTF-8);
--   - sealed values and rotation history text that comes from functions
--     (errors, output) are BYTEA, kept byte for byte;
--   - seq columns record insertion order, which breaks ties between equal
--     times as SQLite's rowid does.
--
-- The store holds no business rules; the constraints below are the ones it
-- guarantees itself, against any writer of the database:
--   - a staging label is on at most one version of a secret (primary key
--     of stages);
--   - a stored value is written once (triggers; a placeholder is filled
--     once, and re-wrapping changes only the key id and wrapped data key);
--   - a secret has at most one active (pending or running) rotation run
--     (partial unique index);
--   - deleting a secret, version, run or identity deletes what hangs off it
--     (foreign keys with ON DELETE CASCADE).

CREATE TABLE secrets (
    arn                          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    region                       TEXT COLLATE "C" NOT NULL,
    name                         TEXT COLLATE "C" NOT NULL,
    description                  TEXT COLLATE "C" NOT NULL DEFAULT '',
    kms_key_id                   TEXT COLLATE "C" NOT NULL DEFAULT '',
    type                         TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags_ever_set                BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_configured          BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_enabled             BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_lambda_arn          TEXT COLLATE "C" NOT NULL DEFAULT '',
    rotation_after_days          BIGINT  NOT NULL DEFAULT 0,
    rotation_duration            TEXT COLLATE "C" NOT NULL DEFAULT '',
    rotation_schedule_expression TEXT COLLATE "C" NOT NULL DEFAULT '',
    rotation_master_arn          TEXT COLLATE "C" NOT NULL DEFAULT '',
    rotation_identity            TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_date                 BIGINT  NOT NULL DEFAULT 0,
    last_changed_date            BIGINT  NOT NULL DEFAULT 0,
    last_accessed_date           BIGINT  NOT NULL DEFAULT 0,
    last_rotated_date            BIGINT  NOT NULL DEFAULT 0,
    next_rotation_date           BIGINT  NOT NULL DEFAULT 0,
    deleted_date                 BIGINT  NOT NULL DEFAULT 0,
    purge_date                   BIGINT  NOT NULL DEFAULT 0,
    owning_service               TEXT COLLATE "C" NOT NULL DEFAULT '',
    primary_region               TEXT COLLATE "C" NOT NULL DEFAULT '',
    resource_policy              TEXT COLLATE "C" NOT NULL DEFAULT '',
    seq                          BIGINT  GENERATED ALWAYS AS IDENTITY,
    UNIQUE (region, name)
);

-- ListSecrets pages by keyset: one index per date order on (region, key,
-- arn); the name order uses UNIQUE (region, name). Secrets(region) uses
-- secrets_list_created.
CREATE INDEX secrets_list_created ON secrets (region, created_date, arn);
CREATE INDEX secrets_list_changed ON secrets (region, last_changed_date, arn);
CREATE INDEX secrets_list_accessed ON secrets (region, last_accessed_date, arn);
CREATE INDEX secrets_purge_date ON secrets (purge_date) WHERE purge_date <> 0;
-- DueRotations: secrets whose automatic rotation is enabled and scheduled.
CREATE INDEX secrets_next_rotation ON secrets (next_rotation_date)
    WHERE rotation_enabled AND next_rotation_date <> 0;

-- A version's value (kek_id, wrapped_key, ciphertext) is either entirely
-- absent (a rotation placeholder) or entirely present.
CREATE TABLE versions (
    secret_arn         TEXT COLLATE "C" NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    id                 TEXT COLLATE "C" NOT NULL,
    kek_id             TEXT COLLATE "C",
    wrapped_key        BYTEA,
    ciphertext         BYTEA,
    is_binary          BOOLEAN NOT NULL DEFAULT FALSE,
    kms_key_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_date       BIGINT  NOT NULL DEFAULT 0,
    last_accessed_date BIGINT  NOT NULL DEFAULT 0,
    seq                BIGINT  GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (secret_arn, id),
    CONSTRAINT versions_value_whole CHECK (
        (ciphertext IS NULL AND kek_id IS NULL AND wrapped_key IS NULL)
     OR (ciphertext IS NOT NULL AND kek_id IS NOT NULL AND wrapped_key IS NOT NULL))
);

CREATE INDEX versions_kek_id ON versions (kek_id);

-- The write-once rule. SQLSTATE RW001 is this schema's own; the store maps
-- it to ESTATE.
CREATE FUNCTION rotor_value_written_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a stored value is written once (%.%)', TG_TABLE_NAME, TG_NAME
        USING ERRCODE = 'RW001';
END
$$;

-- Once a version has a value, no UPDATE may change its ciphertext or kind
-- (nor empty it, nor move it to another secret or id); re-wrapping changes
-- kek_id and wrapped_key only. A placeholder (NULL ciphertext) is filled
-- by an UPDATE that sets all three value columns at once.
CREATE TRIGGER versions_value_written_once
BEFORE UPDATE ON versions
FOR EACH ROW
WHEN (OLD.ciphertext IS NOT NULL AND (
        NEW.ciphertext IS DISTINCT FROM OLD.ciphertext
     OR NEW.is_binary IS DISTINCT FROM OLD.is_binary
     OR NEW.secret_arn IS DISTINCT FROM OLD.secret_arn
     OR NEW.id IS DISTINCT FROM OLD.id))
EXECUTE FUNCTION rotor_value_written_once();

-- The primary key is what guarantees that a label is on at most one version
-- of a secret.
CREATE TABLE stages (
    secret_arn TEXT COLLATE "C" NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES versions (secret_arn, id) ON DELETE CASCADE
);

CREATE INDEX stages_version ON stages (secret_arn, version_id);

CREATE TABLE tags (
    secret_arn TEXT COLLATE "C" NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (secret_arn, position),
    UNIQUE (secret_arn, key)
);

-- Tag prefix filters: range scans on key or value.
CREATE INDEX tags_key ON tags (key, secret_arn);
CREATE INDEX tags_value ON tags (value, secret_arn);

CREATE TABLE identities (
    name         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    role         TEXT COLLATE "C" NOT NULL,
    policy       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_date BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE access_keys (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    identity     TEXT COLLATE "C" NOT NULL REFERENCES identities (name) ON DELETE CASCADE,
    status       TEXT COLLATE "C" NOT NULL,
    kek_id       TEXT COLLATE "C" NOT NULL,
    wrapped_key  BYTEA  NOT NULL,
    ciphertext   BYTEA  NOT NULL,
    created_date BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX access_keys_identity ON access_keys (identity);
CREATE INDEX access_keys_kek_id ON access_keys (kek_id);

-- An access key's secret is written once too.
CREATE TRIGGER access_keys_secret_written_once
BEFORE UPDATE ON access_keys
FOR EACH ROW
WHEN (NEW.ciphertext IS DISTINCT FROM OLD.ciphertext OR NEW.id IS DISTINCT FROM OLD.id)
EXECUTE FUNCTION rotor_value_written_once();

CREATE TABLE rotation_runs (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    secret_arn   TEXT COLLATE "C" NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    region       TEXT COLLATE "C" NOT NULL,
    token        TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind         TEXT COLLATE "C" NOT NULL DEFAULT '',
    function_arn TEXT COLLATE "C" NOT NULL DEFAULT '',
    status       TEXT COLLATE "C" NOT NULL,
    step         TEXT COLLATE "C" NOT NULL DEFAULT '',
    attempt      BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL DEFAULT 0,
    last_error   BYTEA  NOT NULL DEFAULT '',
    created      BIGINT NOT NULL DEFAULT 0,
    updated      BIGINT NOT NULL DEFAULT 0,
    finished     BIGINT NOT NULL DEFAULT 0,
    owner        TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_until  BIGINT NOT NULL DEFAULT 0,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY
);

-- One active run per secret. The WHERE clause must name exactly the active
-- states (rotor.RunPending, rotor.RunRunning).
CREATE UNIQUE INDEX rotation_runs_one_active ON rotation_runs (secret_arn)
    WHERE status IN ('pending', 'running');

-- DueRuns and RunsWithStatus.
CREATE INDEX rotation_runs_status_next ON rotation_runs (status, next_attempt);
-- Runs of one secret, newest first; also serves the cascade from secrets.
CREATE INDEX rotation_runs_secret_created ON rotation_runs (secret_arn, created);
-- Runs of one region, newest first.
CREATE INDEX rotation_runs_region_created ON rotation_runs (region, created);

-- A run's steps in the order they were added (seq).
CREATE TABLE rotation_steps (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES rotation_runs (id) ON DELETE CASCADE,
    step        TEXT COLLATE "C" NOT NULL DEFAULT '',
    attempt     BIGINT NOT NULL DEFAULT 0,
    started     BIGINT NOT NULL DEFAULT 0,
    duration_ns BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT COLLATE "C" NOT NULL DEFAULT '',
    error       BYTEA  NOT NULL DEFAULT '',
    output      BYTEA  NOT NULL DEFAULT ''
);

CREATE INDEX rotation_steps_run ON rotation_steps (run_id, seq);

-- Named leases (rotor.Tx.AcquireLease): who holds each and until when. A
-- lease whose until is not after now has lapsed and may be taken by anyone.
CREATE TABLE leases (
    name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner TEXT COLLATE "C" NOT NULL,
    until BIGINT NOT NULL
);
