package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rotorhq/rotor"
)

// Rotation runs and their steps.

// Nouns for error messages.
const (
	nounRun   = "rotation run"
	nounStep  = "rotation step"
	nounLease = "lease"
)

// activeIn is the SQL list of the active run states. It matches, literally,
// the WHERE clause of the partial unique index rotation_runs_one_active.
const activeIn = `('` + rotor.RunPending + `', '` + rotor.RunRunning + `')`

const runColumns = `id, secret_arn, region, token, kind, function_arn, status, step, attempt, max_attempts,
	next_attempt, last_error, created, updated, finished, owner, lease_until`

// runTypes are the types of runColumns, for INSERT ... SELECT.
var runTypes = []string{"text", "text", "text", "text", "text", "text", "text", "text", "bigint", "bigint",
	"bigint", "bytea", "bigint", "bigint", "bigint", "text", "bigint"}

// runArgs returns the values of runColumns for r, in order. LastError is
// stored as bytes (it may hold whatever a function printed).
func runArgs(r *rotor.RunRecord) []any {
	return []any{r.ID, r.SecretARN, r.Region, r.Token, r.Kind, r.FunctionARN, r.Status, r.Step,
		int64(r.Attempt), int64(r.MaxAttempts), toNanos(r.NextAttempt), []byte(r.LastError),
		toNanos(r.Created), toNanos(r.Updated), toNanos(r.Finished), r.Owner, toNanos(r.LeaseUntil)}
}

// checkRun returns EINVALID if a text field of r cannot be stored.
func checkRun(r *rotor.RunRecord) error {
	return checkText(field{"run id", r.ID}, field{"region", r.Region}, field{"version id", r.Token},
		field{"run kind", r.Kind}, field{"rotation function ARN", r.FunctionARN}, field{"run status", r.Status},
		field{"rotation step", r.Step}, field{"run owner", r.Owner})
}

func scanRun(row pgx.Rows) (*rotor.RunRecord, error) {
	var r rotor.RunRecord
	var attempt, maxAttempts, next, created, updated, finished, lease int64
	var lastError []byte
	if err := row.Scan(&r.ID, &r.SecretARN, &r.Region, &r.Token, &r.Kind, &r.FunctionARN, &r.Status, &r.Step,
		&attempt, &maxAttempts, &next, &lastError, &created, &updated, &finished, &r.Owner, &lease); err != nil {
		return nil, err
	}
	r.Attempt, r.MaxAttempts, r.LastError = int(attempt), int(maxAttempts), string(lastError)
	r.NextAttempt, r.Created, r.Updated, r.Finished = fromNanos(next), fromNanos(created), fromNanos(updated), fromNanos(finished)
	r.LeaseUntil = fromNanos(lease)
	return &r, nil
}

// runs returns the runs selected by the rest of a SELECT (WHERE, ORDER BY,
// LIMIT), in the order it gives.
func (t *tx) runs(op, rest string, args ...any) ([]*rotor.RunRecord, error) {
	return queryAll(t, nounRun, op, scanRun, `SELECT `+runColumns+` FROM rotation_runs `+rest, args...)
}

// runWhere returns the one run matched by where; ENOTFOUND if none.
func (t *tx) runWhere(op, where string, args ...any) (*rotor.RunRecord, error) {
	return queryOne(t, nounRun, op, scanRun, `SELECT `+runColumns+` FROM rotation_runs WHERE `+where, args...)
}

// CreateRun inserts r. ENOTFOUND if the secret r.SecretARN does not exist;
// EEXISTS if r.ID is taken or if r is active (pending or running) and the
// secret already has an active run. The second rule is the partial unique
// index rotation_runs_one_active, so it holds against concurrent writers
// and raw SQL alike. A run in a final state may be inserted beside an
// active one.
func (t *tx) CreateRun(r *rotor.RunRecord) error {
	const op = "create run"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkRun(r); err != nil {
		return err
	}
	if !textOK(r.SecretARN) {
		return notFound(nounSecret, op)
	}
	n, err := t.exec(nounRun, op, `INSERT INTO rotation_runs (`+runColumns+`)
		SELECT `+placeholders(1, runTypes...)+`
		WHERE EXISTS (SELECT 1 FROM secrets WHERE arn = $2)
		ON CONFLICT DO NOTHING`, runArgs(r)...)
	if err != nil {
		return err
	}
	if n == 0 {
		found, err := t.exists(nounSecret, op, secretExistsQuery, r.SecretARN)
		switch {
		case err != nil:
			return err
		case found:
			return exists(nounRun, op)
		}
		return notFound(nounSecret, op)
	}
	return nil
}

// Run returns the run id; ENOTFOUND if there is none.
func (t *tx) Run(id string) (*rotor.RunRecord, error) {
	const op = "run"
	if !textOK(id) {
		return nil, notFound(nounRun, op)
	}
	return t.runWhere(op, `id = $1`, id)
}

// ActiveRun returns the pending or running run of the secret; ENOTFOUND if
// it has none (or the secret does not exist).
func (t *tx) ActiveRun(secretARN string) (*rotor.RunRecord, error) {
	const op = "active run"
	if !textOK(secretARN) {
		return nil, notFound(nounRun, op)
	}
	return t.runWhere(op, `secret_arn = $1 AND status IN `+activeIn, secretARN)
}

// UpdateRun replaces every field of the run r.ID (its ID aside).
// ENOTFOUND if there is no such run, or if r.SecretARN names no secret;
// EEXISTS if r is active and another run of its secret is active.
func (t *tx) UpdateRun(r *rotor.RunRecord) error {
	const op = "update run"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkRun(r); err != nil {
		return err
	}
	if !textOK(r.SecretARN) {
		return notFound(nounSecret, op)
	}
	n, err := t.exec(nounRun, op, `UPDATE rotation_runs SET
		secret_arn = $2, region = $3, token = $4, kind = $5, function_arn = $6, status = $7, step = $8, attempt = $9,
		max_attempts = $10, next_attempt = $11, last_error = $12, created = $13, updated = $14, finished = $15,
		owner = $16, lease_until = $17
		WHERE id = $1
		  AND EXISTS (SELECT 1 FROM secrets WHERE arn = $2)
		  AND NOT ($7 IN `+activeIn+` AND EXISTS (SELECT 1 FROM rotation_runs o
			WHERE o.secret_arn = $2 AND o.status IN `+activeIn+` AND o.id <> $1))`, runArgs(r)...)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var runFound, secretFound bool
	err = t.each(nounRun, op, func(row pgx.Rows) error { return row.Scan(&runFound, &secretFound) },
		`SELECT EXISTS (`+runExistsQuery+`), EXISTS (SELECT 1 FROM secrets WHERE arn = $2)`, r.ID, r.SecretARN)
	switch {
	case err != nil:
		return err
	case !runFound:
		return notFound(nounRun, op)
	case !secretFound:
		return notFound(nounSecret, op)
	}
	return exists(nounRun, op)
}

// DueRuns returns up to limit pending runs whose NextAttempt is not after
// now (a zero NextAttempt is always due), in any region, earliest
// NextAttempt first, then oldest Created, then insertion order. limit <= 0
// means no limit.
func (t *tx) DueRuns(now time.Time, limit int) ([]*rotor.RunRecord, error) {
	return t.runs("due runs", `WHERE status = '`+rotor.RunPending+`' AND next_attempt <= $1
		ORDER BY next_attempt, created, seq LIMIT $2`, toNanos(now), sqlLimit(limit))
}

// ExpiredRuns returns up to limit running runs whose LeaseUntil is not
// after now (a zero LeaseUntil has always lapsed), in any region, earliest
// LeaseUntil first, then oldest Created, then insertion order. limit <= 0
// means no limit. Running runs are few (those in flight on some server),
// so the status prefix of rotation_runs_status_next is index enough.
func (t *tx) ExpiredRuns(now time.Time, limit int) ([]*rotor.RunRecord, error) {
	return t.runs("expired runs", `WHERE status = '`+rotor.RunRunning+`' AND lease_until <= $1
		ORDER BY lease_until, created, seq LIMIT $2`, toNanos(now), sqlLimit(limit))
}

// AcquireLease takes or renews the named lease in one upsert: inserted
// when absent, replaced when owner holds it or it lapsed (until not after
// now), left alone otherwise; the rows it changed say which. Updates are
// serialised (the write lock), so two servers never both win.
func (t *tx) AcquireLease(name, owner string, now, until time.Time) (bool, error) {
	const op = "acquire lease"
	if err := t.writing(op); err != nil {
		return false, err
	}
	if name == "" || owner == "" {
		return false, rotor.Errorf(rotor.EINVALID, "A lease needs a name and an owner.")
	}
	if err := checkText(field{"lease name", name}, field{"lease owner", owner}); err != nil {
		return false, err
	}
	n, err := t.exec(nounLease, op, `INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.owner = excluded.owner OR leases.until <= $4`, name, owner, toNanos(until), toNanos(now))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// RunsWithStatus returns every run (in any region) whose Status is status,
// oldest Created first, ties in insertion order; an empty slice if none.
func (t *tx) RunsWithStatus(status string) ([]*rotor.RunRecord, error) {
	if !textOK(status) {
		return []*rotor.RunRecord{}, nil
	}
	return t.runs("runs with status", `WHERE status = $1 ORDER BY created, seq`, status)
}

// Runs returns runs newest Created first, ties newest insertion first: the
// runs of the secret secretARN when it is not "" (region is then ignored),
// else those of region; only those whose Status is status when status is
// not ""; at most limit of them, where limit <= 0 means no limit. An
// unknown secret or region has no runs: an empty slice, not an error.
func (t *tx) Runs(region, secretARN, status string, limit int) ([]*rotor.RunRecord, error) {
	if !allText(region, secretARN, status) {
		return []*rotor.RunRecord{}, nil
	}
	where, args := `WHERE region = $1`, []any{region}
	if secretARN != "" {
		where, args = `WHERE secret_arn = $1`, []any{secretARN}
	}
	if status != "" {
		where += ` AND status = $2`
		args = append(args, status)
	}
	args = append(args, sqlLimit(limit))
	return t.runs("runs", where+fmt.Sprintf(` ORDER BY created DESC, seq DESC LIMIT $%d`, len(args)), args...)
}

// LatestFailedRuns returns the failed runs of region that are the latest
// of their secret, newest first (see rotor.Tx): a scan of
// rotation_runs_region_status (migration 0004) from the cursor, each run
// checked for a later one through rotation_runs_secret_created.
func (t *tx) LatestFailedRuns(region string, after *rotor.RunCursor, limit int) ([]*rotor.RunRecord, error) {
	if limit < 1 {
		return nil, rotor.Errorf(rotor.EINVALID, "The limit must be at least 1.")
	}
	if !textOK(region) {
		return []*rotor.RunRecord{}, nil
	}
	query, args := latestFailedSQL(region, after, limit)
	out, err := queryAll(t, nounRun, "latest failed runs", scanRun, query, args...)
	if out == nil && err == nil {
		out = []*rotor.RunRecord{}
	}
	return out, err
}

// latestFailedSQL returns the statement of LatestFailedRuns and its
// arguments; region must be textOK.
func latestFailedSQL(region string, after *rotor.RunCursor, limit int) (string, []any) {
	var args params
	where := `WHERE f.region = ` + args.text(region) + ` AND f.status = ` + args.text(rotor.RunFailed)
	if after != nil {
		c := args.add(toNanos(after.Created))
		switch ceil, ok := textCeil(after.ID); {
		case textOK(after.ID):
			where += ` AND (f.created, f.id) < (` + c + `, ` + args.text(after.ID) + `)`
		case ok: // no id equals after.ID: below it is below the least text above it
			where += ` AND (f.created, f.id) < (` + c + `, ` + args.text(ceil) + `)`
		default: // every id is below after.ID
			where += ` AND f.created <= ` + c
		}
	}
	return `SELECT ` + prefixed("f.", runColumns) + ` FROM rotation_runs f ` + where + `
		AND NOT EXISTS (SELECT 1 FROM rotation_runs l WHERE l.secret_arn = f.secret_arn
		                AND l.created >= f.created AND (l.created > f.created OR l.id > f.id))
		ORDER BY f.created DESC, f.id DESC LIMIT ` + args.add(int64(limit)), args
}

// AddStep appends s to the history of the run s.RunID, after every step
// added before it; ENOTFOUND if the run does not exist. Its error and
// output are stored as bytes.
func (t *tx) AddStep(s *rotor.StepRecord) error {
	const op = "add step"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"rotation step", s.Step}, field{"step outcome", s.Outcome}); err != nil {
		return err
	}
	if !textOK(s.RunID) {
		return notFound(nounRun, op)
	}
	return t.execOne(nounRun, op, `INSERT INTO rotation_steps
		(run_id, step, attempt, started, duration_ns, outcome, error, output)
		SELECT `+placeholders(1, "text", "text", "bigint", "bigint", "bigint", "text", "bytea", "bytea")+`
		WHERE EXISTS (`+runExistsQuery+`)`,
		s.RunID, s.Step, int64(s.Attempt), toNanos(s.Started), int64(s.Duration), s.Outcome, []byte(s.Error), []byte(s.Output))
}

// Steps returns the step records of run runID in the order they were added
// (an empty slice when none yet); ENOTFOUND if the run does not exist.
func (t *tx) Steps(runID string) ([]*rotor.StepRecord, error) {
	const op = "steps"
	if !textOK(runID) {
		return nil, notFound(nounRun, op)
	}
	found, err := t.exists(nounRun, op, runExistsQuery, runID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound(nounRun, op)
	}
	return queryAll(t, nounStep, op, scanStep, `SELECT run_id, step, attempt, started, duration_ns, outcome, error, output
		FROM rotation_steps WHERE run_id = $1 ORDER BY seq`, runID)
}

func scanStep(r pgx.Rows) (*rotor.StepRecord, error) {
	var s rotor.StepRecord
	var attempt, started, duration int64
	var stepErr, output []byte
	if err := r.Scan(&s.RunID, &s.Step, &attempt, &started, &duration, &s.Outcome, &stepErr, &output); err != nil {
		return nil, err
	}
	s.Attempt, s.Started, s.Duration = int(attempt), fromNanos(started), time.Duration(duration)
	s.Error, s.Output = string(stepErr), string(output)
	return &s, nil
}

// DueRotations returns the ARNs of the secrets, in any region, whose
// rotation is configured and enabled, that are not scheduled for deletion
// (DeletedDate zero), whose NextRotationDate is non-zero and not after now,
// and that have no active (pending or running) run; earliest
// NextRotationDate first, ties by ARN.
func (t *tx) DueRotations(now time.Time) ([]string, error) {
	return queryAll(t, nounSecret, "due rotations", scanString, `SELECT s.arn FROM secrets s
		WHERE s.rotation_enabled AND s.next_rotation_date <> 0
		  AND s.rotation_configured AND s.deleted_date = 0 AND s.next_rotation_date <= $1
		  AND NOT EXISTS (SELECT 1 FROM rotation_runs r WHERE r.secret_arn = s.arn AND r.status IN `+activeIn+`)
		ORDER BY s.next_rotation_date, s.arn`, toNanos(now))
}

// RunSummary counts the runs by status (an index-only scan of
// rotation_runs_status_next when the visibility map allows) and finds the
// oldest failed run not resolved by a later succeeded, cancelled or
// abandoned run of its secret (the failed runs through the same index,
// each checked against its secret's later runs through
// rotation_runs_secret_created).
func (t *tx) RunSummary() (*rotor.RunSummary, error) {
	const op = "run summary"
	sum := &rotor.RunSummary{ByStatus: map[string]int{}}
	err := t.each(nounRun, op, func(r pgx.Rows) error {
		var status string
		var n int64
		if err := r.Scan(&status, &n); err != nil {
			return err
		}
		sum.ByStatus[status] = int(n)
		return nil
	}, `SELECT status, count(*) FROM rotation_runs GROUP BY status`)
	if err != nil {
		return nil, err
	}
	if sum.ByStatus[rotor.RunFailed] == 0 {
		return sum, nil
	}
	oldest, err := queryOne(t, nounRun, op, scanInt, `SELECT COALESCE(min(f.finished), 0) FROM rotation_runs f
		WHERE f.status = '`+rotor.RunFailed+`'
		  AND NOT EXISTS (SELECT 1 FROM rotation_runs l
		                  WHERE l.secret_arn = f.secret_arn AND l.created > f.created
		                    AND l.status IN ('`+rotor.RunSucceeded+`', '`+rotor.RunCancelled+`', '`+rotor.RunAbandoned+`'))`)
	if err != nil {
		return nil, err
	}
	sum.OldestFailure = fromNanos(oldest)
	return sum, nil
}
