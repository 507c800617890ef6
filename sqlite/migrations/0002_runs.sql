-- 0002: durable rotation runs and their step history.
--
-- Same conventions as 0001: times are BIGINT unix nanoseconds (0 = the zero
-- time), portable to PostgreSQL. The store holds no business rules; the
-- constraints below are the ones it guarantees itself:
--
--   - a secret has at most one active (pending or running) run: the partial
--     unique index rotation_runs_one_active;
--   - deleting a secret deletes its runs, and deleting a run deletes its
--     steps (foreign keys with ON DELETE CASCADE).

CREATE TABLE rotation_runs (
    id           TEXT    NOT NULL PRIMARY KEY,
    secret_arn   TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    region       TEXT    NOT NULL,
    token        TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL DEFAULT '',
    function_arn TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL,
    step         TEXT    NOT NULL DEFAULT '',
    attempt      BIGINT  NOT NULL DEFAULT 0,
    max_attempts BIGINT  NOT NULL DEFAULT 0,
    next_attempt BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created      BIGINT  NOT NULL DEFAULT 0,
    updated      BIGINT  NOT NULL DEFAULT 0,
    finished     BIGINT  NOT NULL DEFAULT 0
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

-- A run's steps in the order they were added: n is 1, 2, 3... per run.
CREATE TABLE rotation_steps (
    run_id      TEXT   NOT NULL REFERENCES rotation_runs (id) ON DELETE CASCADE,
    n           BIGINT NOT NULL,
    step        TEXT   NOT NULL DEFAULT '',
    attempt     BIGINT NOT NULL DEFAULT 0,
    started     BIGINT NOT NULL DEFAULT 0,
    duration_ns BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT   NOT NULL DEFAULT '',
    error       TEXT   NOT NULL DEFAULT '',
    output      TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, n)
);

-- DueRotations: secrets whose automatic rotation is enabled and scheduled.
CREATE INDEX secrets_next_rotation ON secrets (next_rotation_date)
    WHERE rotation_enabled AND next_rotation_date <> 0;
