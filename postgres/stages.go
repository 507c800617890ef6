package postgres

import (
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor"
)

// The label history (migration 0002).

// AddStageEvents appends evs, in order, to the label history of secret arn;
// ENOTFOUND if the secret does not exist, EINVALID for a label or version
// id that text cannot hold. Writes are serialised (Update's advisory lock),
// so numbering each event after the secret's last one cannot race.
func (t *tx) AddStageEvents(arn string, evs []rotor.StageEvent) error {
	const op = "add stage events"
	if err := t.writing(op); err != nil {
		return err
	}
	for _, ev := range evs {
		if err := checkText(field{"staging label", ev.Stage}, field{"version id", ev.VersionID}); err != nil {
			return err
		}
	}
	if err := t.mustExistSecret(arn, op); err != nil {
		return err
	}
	for _, ev := range evs {
		if _, err := t.exec(nounLabel, op, `INSERT INTO stage_history (secret_arn, n, stage, version_id, at)
			SELECT $1::text, COALESCE(MAX(n), 0) + 1, $2::text, $3::text, $4::bigint
			FROM stage_history WHERE secret_arn = $1`,
			arn, ev.Stage, ev.VersionID, toNanos(ev.Time)); err != nil {
			return err
		}
	}
	t.changes.secret(arn)
	return nil
}

// StageHistory returns the newest limit events (all when limit < 1) of the
// label history of secret arn, oldest first; ENOTFOUND if the secret does
// not exist.
func (t *tx) StageHistory(arn string, limit int) ([]rotor.StageEvent, error) {
	const op = "stage history"
	if err := t.mustExistSecret(arn, op); err != nil {
		return nil, err
	}
	var lim any // NULL: no limit
	if limit >= 1 {
		lim = int64(limit)
	}
	evs, err := queryAll(t, nounLabel, op, func(r pgx.Rows) (rotor.StageEvent, error) {
		var ev rotor.StageEvent
		var at int64
		if err := r.Scan(&ev.Stage, &ev.VersionID, &at); err != nil {
			return ev, err
		}
		ev.Time = fromNanos(at)
		return ev, nil
	}, `SELECT stage, version_id, at FROM stage_history WHERE secret_arn = $1 ORDER BY n DESC LIMIT $2`, arn, lim)
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs)
	return evs, nil
}

// mustExistSecret returns ENOTFOUND unless secret arn exists.
func (t *tx) mustExistSecret(arn, op string) error {
	if !textOK(arn) {
		return notFound(nounSecret, op)
	}
	found, err := t.exists(nounSecret, op, secretExistsQuery, arn)
	if err != nil {
		return err
	}
	if !found {
		return notFound(nounSecret, op)
	}
	return nil
}
