-- 0010: the history of staging labels (Tx.AddStageEvents, Tx.StageHistory).
--
-- One row per label move, appended by the manager in the transaction that
-- moves the label: version_id is the version the label moved onto, '' when
-- it was removed. n orders the events of one secret as they were added.
-- The history goes with its secret; it outlives the versions it names, so
-- it does not reference them.
CREATE TABLE stage_history (
    secret_arn TEXT   NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
    n          BIGINT NOT NULL,
    stage      TEXT   NOT NULL,
    version_id TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (secret_arn, n)
);
