package sqlite

import (
	"database/sql"
	"time"

	"github.com/rotorhq/rotor"
)

// Rotation runs and their steps (migration 0002).

// Nouns for error messages.
const (
	nounRun   = "rotation run"
	nounStep  = "rotation step"
	nounLease = "lease"
)

// activeIn is the SQL list of the active run states. It matches, literally,
// the WHERE clause of the partial unique index rotation_runs_one_active, so
// the planner can use that index.
const activeIn = `('` + rotor.RunPending + `', '` + rotor.RunRunning + `')`

const runColumns = `id, secret_arn, region, token, kind, function_arn, status, step, attempt, max_attempts,
	next_attempt, last_error, created, updated, finished, owner, lease_until`

// runArgs returns the values of runColumns for r, in order.
func runArgs(r *rotor.RunRecord) []any {
	return []any{r.ID, r.SecretARN, r.Region, r.Token, r.Kind, r.FunctionARN, r.Status, r.Step, r.Attempt, r.MaxAttempts,
		toNanos(r.NextAttempt), r.LastError, toNanos(r.Created), toNanos(r.Updated), toNanos(r.Finished),
		r.Owner, toNanos(r.LeaseUntil)}
}

func scanRun(sc scanner) (*rotor.RunRecord, error) {
	var r rotor.RunRecord
	var next, created, updated, finished, lease int64
	if err := sc.Scan(&r.ID, &r.SecretARN, &r.Region, &r.Token, &r.Kind, &r.FunctionARN, &r.Status, &r.Step,
		&r.Attempt, &r.MaxAttempts, &next, &r.LastError, &created, &updated, &finished, &r.Owner, &lease); err != nil {
		return nil, err
	}
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

// runExists returns ENOTFOUND unless the run id exists.
func (t *tx) runExists(id, op string) error {
	return t.mustExist(nounRun, op, `SELECT 1 FROM rotation_runs WHERE id = ?`, id)
}

// CreateRun inserts r. ENOTFOUND if the secret r.SecretARN does not exist;
// EEXISTS if r.ID is taken or if r is active (pending or running) and the
// secret already has an active run. The second rule is the partial unique
// index rotation_runs_one_active, so it holds against concurrent writers
// and raw SQL alike. A run in a final state may be inserted beside an
// active one.
func (t *tx) CreateRun(r *rotor.RunRecord) error {
	const op = "create run"
	if err := t.secretExists(r.SecretARN, op); err != nil {
		return err
	}
	_, err := t.exec(nounRun, op, `INSERT INTO rotation_runs (`+runColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, runArgs(r)...)
	return err
}

// Queries of the engine's path, prepared at open (preparedQueries).
const (
	runByIDQuery     = `SELECT ` + runColumns + ` FROM rotation_runs WHERE id = ?`
	dueRunsQuery     = `SELECT ` + runColumns + ` FROM rotation_runs WHERE status = ? AND next_attempt <= ? ORDER BY next_attempt, created, rowid LIMIT ?`
	expiredRunsQuery = `SELECT ` + runColumns + ` FROM rotation_runs WHERE status = ? AND lease_until <= ? ORDER BY lease_until, created, rowid LIMIT ?`
)

// Run returns the run id; ENOTFOUND if there is none.
func (t *tx) Run(id string) (*rotor.RunRecord, error) {
	return queryOne(t, nounRun, "run", scanRun, runByIDQuery, id)
}

// ActiveRun returns the pending or running run of the secret; ENOTFOUND if
// it has none (or the secret does not exist).
func (t *tx) ActiveRun(secretARN string) (*rotor.RunRecord, error) {
	return t.runWhere("active run", `secret_arn = ? AND status IN `+activeIn, secretARN)
}

// UpdateRun replaces every field of the run r.ID (its ID aside).
// ENOTFOUND if there is no such run, or if r.SecretARN names no secret;
// EEXISTS if r is active and another run of its secret is active.
func (t *tx) UpdateRun(r *rotor.RunRecord) error {
	args := runArgs(r)
	return t.execOne(nounRun, "update run", `UPDATE rotation_runs SET
		secret_arn = ?, region = ?, token = ?, kind = ?, function_arn = ?, status = ?, step = ?, attempt = ?,
		max_attempts = ?, next_attempt = ?, last_error = ?, created = ?, updated = ?, finished = ?,
		owner = ?, lease_until = ?
		WHERE id = ?`, append(args[1:], r.ID)...)
}

// DueRuns returns up to limit pending runs whose NextAttempt is not after
// now (a zero NextAttempt is always due), in any region, earliest
// NextAttempt first, then oldest Created, then insertion order. limit <= 0
// means no limit.
func (t *tx) DueRuns(now time.Time, limit int) ([]*rotor.RunRecord, error) {
	return queryAll(t, nounRun, "due runs", scanRun, dueRunsQuery, rotor.RunPending, toNanos(now), sqlLimit(limit))
}

// ExpiredRuns returns up to limit running runs whose LeaseUntil is not
// after now (a zero LeaseUntil has always lapsed), in any region, earliest
// LeaseUntil first, then oldest Created, then insertion order. limit <= 0
// means no limit. Running runs are few (those in flight on some server),
// so the status prefix of rotation_runs_status_next is index enough.
func (t *tx) ExpiredRuns(now time.Time, limit int) ([]*rotor.RunRecord, error) {
	return queryAll(t, nounRun, "expired runs", scanRun, expiredRunsQuery, rotor.RunRunning, toNanos(now), sqlLimit(limit))
}

// AcquireLease takes or renews the named lease (migration 0009) in one
// upsert: inserted when absent, replaced when owner holds it or it lapsed
// (until not after now), left alone otherwise; the rows it changed say
// which.
func (t *tx) AcquireLease(name, owner string, now, until time.Time) (bool, error) {
	const op = "acquire lease"
	if name == "" || owner == "" {
		return false, rotor.Errorf(rotor.EINVALID, "A lease needs a name and an owner.")
	}
	res, err := t.exec(nounLease, op, `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.owner = excluded.owner OR leases.until <= ?`, name, owner, toNanos(until), toNanos(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeError(err, nounLease, op)
	}
	return n == 1, nil
}

// RunsWithStatus returns every run (in any region) whose Status is status,
// oldest Created first, ties in insertion order; nil if none.
func (t *tx) RunsWithStatus(status string) ([]*rotor.RunRecord, error) {
	return t.runs("runs with status", `WHERE status = ? ORDER BY created, rowid`, status)
}

// Runs returns runs newest Created first, ties newest insertion first: the
// runs of the secret secretARN when it is not "" (region is then ignored),
// else those of region; only those whose Status is status when status is
// not ""; at most limit of them, where limit <= 0 means no limit. An
// unknown secret or region has no runs: nil, not an error.
func (t *tx) Runs(region, secretARN, status string, limit int) ([]*rotor.RunRecord, error) {
	where, args := `WHERE region = ?`, []any{region}
	if secretARN != "" {
		where, args = `WHERE secret_arn = ?`, []any{secretARN}
	}
	if status != "" {
		where += ` AND status = ?`
		args = append(args, status)
	}
	return t.runs("runs", where+` ORDER BY created DESC, rowid DESC LIMIT ?`, append(args, sqlLimit(limit))...)
}

// LatestFailedRuns returns the failed runs of region that are the latest
// of their secret, newest first (see rotor.Tx): a range scan of
// rotation_runs_region_status (migration 0014) from the cursor, each run
// checked for a later one through rotation_runs_secret_created.
func (t *tx) LatestFailedRuns(region string, after *rotor.RunCursor, limit int) ([]*rotor.RunRecord, error) {
	if limit < 1 {
		return nil, rotor.Errorf(rotor.EINVALID, "The limit must be at least 1.")
	}
	query, args := latestFailedSQL(region, after, limit)
	out, err := queryAll(t, nounRun, "latest failed runs", scanRun, query, args...)
	if out == nil && err == nil {
		out = []*rotor.RunRecord{}
	}
	return out, err
}

// latestFailedSQL returns the statement of LatestFailedRuns and its
// arguments.
func latestFailedSQL(region string, after *rotor.RunCursor, limit int) (string, []any) {
	where := `WHERE f.region = ? AND f.status = ?`
	args := []any{region, rotor.RunFailed}
	if after != nil {
		where += ` AND (f.created, f.id) < (?, ?)`
		args = append(args, toNanos(after.Created), after.ID)
	}
	return `SELECT ` + prefixed("f.", runColumns) + ` FROM rotation_runs f ` + where + `
		AND NOT EXISTS (SELECT 1 FROM rotation_runs l WHERE l.secret_arn = f.secret_arn
		                AND l.created >= f.created AND (l.created > f.created OR l.id > f.id))
		ORDER BY f.created DESC, f.id DESC LIMIT ?`, append(args, limit)
}

// AddStep appends s to the history of the run s.RunID, after every step
// added before it; ENOTFOUND if the run does not exist.
func (t *tx) AddStep(s *rotor.StepRecord) error {
	const op = "add step"
	if !t.writable {
		return readOnly(op)
	}
	if err := t.runExists(s.RunID, op); err != nil {
		return err
	}
	_, err := t.exec(nounStep, op, `INSERT INTO rotation_steps
		(run_id, n, step, attempt, started, duration_ns, outcome, error, output)
		SELECT ?, COALESCE(MAX(n), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM rotation_steps WHERE run_id = ?`,
		s.RunID, s.Step, s.Attempt, toNanos(s.Started), int64(s.Duration), s.Outcome, s.Error, s.Output, s.RunID)
	return err
}

// Steps returns the step records of run runID in the order they were added
// (none yet: a nil slice); ENOTFOUND if the run does not exist.
func (t *tx) Steps(runID string) ([]*rotor.StepRecord, error) {
	const op = "steps"
	if err := t.runExists(runID, op); err != nil {
		return nil, err
	}
	return queryAll(t, nounStep, op, scanStep, `SELECT run_id, step, attempt, started, duration_ns, outcome, error, output
		FROM rotation_steps WHERE run_id = ? ORDER BY n`, runID)
}

func scanStep(sc scanner) (*rotor.StepRecord, error) {
	var s rotor.StepRecord
	var started, duration int64
	if err := sc.Scan(&s.RunID, &s.Step, &s.Attempt, &started, &duration, &s.Outcome, &s.Error, &s.Output); err != nil {
		return nil, err
	}
	s.Started, s.Duration = fromNanos(started), time.Duration(duration)
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
		  AND s.rotation_configured AND s.deleted_date = 0 AND s.next_rotation_date <= ?
		  AND NOT EXISTS (SELECT 1 FROM rotation_runs r WHERE r.secret_arn = s.arn AND r.status IN `+activeIn+`)
		ORDER BY s.next_rotation_date, s.arn`, toNanos(now))
}

// The queries of RunSummary (TestRunSummaryIsIndexed checks their plans).
const (
	runCountsQuery     = `SELECT status, COUNT(*) FROM rotation_runs GROUP BY status`
	oldestFailureQuery = `SELECT MIN(f.finished) FROM rotation_runs f
		WHERE f.status = ?
		  AND NOT EXISTS (SELECT 1 FROM rotation_runs l
		                  WHERE l.secret_arn = f.secret_arn AND l.created > f.created AND l.status IN (?, ?, ?))`
)

// RunSummary counts the runs by status (a scan of the index
// rotation_runs_status_next, not of the table) and finds the oldest failed
// run not resolved by a later succeeded, cancelled or abandoned run of its
// secret (the failed runs through the same index, each checked against its
// secret's later runs through rotation_runs_secret_created).
func (t *tx) RunSummary() (*rotor.RunSummary, error) {
	const op = "run summary"
	type count struct {
		status string
		n      int
	}
	counts, err := queryAll(t, nounRun, op, func(sc scanner) (count, error) {
		var c count
		err := sc.Scan(&c.status, &c.n)
		return c, err
	}, runCountsQuery)
	if err != nil {
		return nil, err
	}
	sum := &rotor.RunSummary{ByStatus: make(map[string]int, len(counts))}
	for _, c := range counts {
		sum.ByStatus[c.status] = c.n
	}
	if sum.ByStatus[rotor.RunFailed] == 0 {
		return sum, nil
	}
	oldest, err := queryOne(t, nounRun, op, func(sc scanner) (int64, error) {
		var n sql.NullInt64
		err := sc.Scan(&n)
		return n.Int64, err
	}, oldestFailureQuery, rotor.RunFailed, rotor.RunSucceeded, rotor.RunCancelled, rotor.RunAbandoned)
	if err != nil {
		return nil, err
	}
	sum.OldestFailure = fromNanos(oldest)
	return sum, nil
}
