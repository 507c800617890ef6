package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation"
)

// The rotation.Controller methods: the engine's only way to change runs,
// and, through CompleteRun, the labels and dates a rotation ends with. Each
// is one transaction and needs no caller in ctx (the engine acts for the
// service); runs in other regions are reached by id.

// maxRunError bounds the LastError stored with a run, in bytes.
const maxRunError = 4096

// runTx runs fn in one write transaction. fn's error is returned unchanged;
// store faults become EINTERNAL.
func (s *Service) runTx(ctx context.Context, op string, fn func(tx rotor.Tx) error) error {
	if s.store == nil || s.keyring == nil {
		return internal(op, errStoreMissing)
	}
	var fnErr error
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return internal(op, err)
	}
	return nil
}

func errRunGone(id string) *rotor.Error {
	return rotor.Errorf(rotor.ESTATE, "The rotation run %s no longer exists.", id)
}

func errRunNotActive(run *rotor.RunRecord) *rotor.Error {
	return rotor.Errorf(rotor.ESTATE, "The rotation run %s is no longer active: it is %s.", run.ID, run.Status)
}

// Leases. A server's engine claims a run for itself (ClaimRuns sets Owner
// to the engine's node id and LeaseUntil a lease TTL ahead) and renews the
// claim while it works (RenewLeases). Every write the engine makes about a
// run names the owner and is fenced: it happens only while that owner
// still holds the run — Owner unchanged and, for a running run, the lease
// not lapsed by the service's clock. A claim can only pass to another
// owner once the lease has lapsed (ClaimRuns), and writes are serialised,
// so a holder that lost its run (killed, paused, cut off) can never record
// a step of it after another server took it over; it gets ESTATE wrapping
// rotation.ErrLeaseLost and drops the run.

// leaseState says whether owner may write about run: nil when it holds
// the running run; ESTATE wrapping rotation.ErrLeaseLost when another
// owner (or none) holds it or its lease lapsed at now; errRunNotActive when
// owner held it until it ended (cancelled, abandoned, finished).
func leaseState(run *rotor.RunRecord, owner string, now time.Time) error {
	switch {
	case owner == "" || run.Owner != owner:
		holder := run.Owner
		if holder == "" {
			holder = "no server"
		}
		return &rotor.Error{Code: rotor.ESTATE, Err: rotation.ErrLeaseLost,
			Message: fmt.Sprintf("The rotation run %s is not held by %s: %s holds it.", run.ID, owner, holder)}
	case !run.Active():
		return errRunNotActive(run)
	case run.Status != rotor.RunRunning || !now.Before(run.LeaseUntil):
		return &rotor.Error{Code: rotor.ESTATE, Err: rotation.ErrLeaseLost,
			Message: fmt.Sprintf("The lease of %s on rotation run %s lapsed at %s.", owner, run.ID, run.LeaseUntil.Format(time.RFC3339Nano))}
	}
	return nil
}

// heldRun returns run id if owner holds it now (see leaseState); ESTATE
// otherwise, and when the run no longer exists.
func (s *Service) heldRun(tx rotor.Tx, id, owner string) (*rotor.RunRecord, error) {
	run, err := tx.Run(id)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, errRunGone(id)
	} else if err != nil {
		return nil, internal("run", err)
	}
	if err := leaseState(run, owner, s.now()); err != nil {
		return nil, err
	}
	return run, nil
}

// release makes run unclaimed: no owner, no lease.
func release(run *rotor.RunRecord) {
	run.Owner, run.LeaseUntil = "", time.Time{}
}

// RecoverRuns turns every run left running (by a server that stopped
// mid-run) back into pending, due now, keeping its step and attempt, and
// unclaimed, and returns how many. It is for a store one server uses
// alone, where a running run at start-up can only be a dead server's: with
// a store several servers share (one that implements rotor.ChangeFeed) a
// running run may be another server's live one, so RecoverRuns does
// nothing and returns 0 — ClaimRuns takes over runs whose lease lapsed.
// Errors: EINTERNAL.
func (s *Service) RecoverRuns(ctx context.Context) (int, error) {
	if _, shared := s.store.(rotor.ChangeFeed); shared {
		return 0, nil
	}
	n := 0
	err := s.runTx(ctx, "recover runs", func(tx rotor.Tx) error {
		runs, err := tx.RunsWithStatus(rotor.RunRunning)
		if err != nil {
			return internal("runs with status", err)
		}
		now := s.now()
		for _, run := range runs {
			run.Status, run.NextAttempt, run.Updated = rotor.RunPending, now, now
			release(run)
			if err := tx.UpdateRun(run); err != nil {
				return internal("update run", err)
			}
		}
		n = len(runs)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ClaimRuns claims up to limit runs for owner, marking them running with
// Owner = owner and LeaseUntil = until (Updated = now), and returns them:
// first running runs whose lease is not after now (their holder stopped
// renewing: killed, or cut off from the database), which keep their step
// and attempt and so resume where their durable record says, earliest
// lapsed first; then pending runs whose NextAttempt is not after now,
// earliest due first. Runs for which skip returns true are left alone;
// skip may be nil. A limit below 1 claims nothing.
//
// Errors: EINVALID for an empty owner or an until not after now;
// EINTERNAL.
func (s *Service) ClaimRuns(ctx context.Context, owner string, now, until time.Time, limit int, skip func(runID string) bool) ([]rotor.RunRecord, error) {
	if limit < 1 {
		return nil, nil
	}
	if owner == "" || !until.After(now) {
		return nil, rotor.Errorf(rotor.EINVALID, "A claim needs an owner and a lease that ends after it starts.")
	}
	now, until = now.UTC(), until.UTC()
	// Most calls (the engine's poll, a worker freed) find nothing due: look
	// in a read first, so they cost no write transaction.
	if s.store != nil {
		found := true
		if err := s.store.View(ctx, func(tx rotor.Tx) error {
			due, err := tx.DueRuns(now, 1)
			if err != nil || len(due) > 0 {
				found = len(due) > 0
				return err
			}
			lapsed, err := tx.ExpiredRuns(now, 1)
			found = len(lapsed) > 0
			return err
		}); err == nil && !found {
			return nil, nil
		}
	}
	var out []rotor.RunRecord
	var taken []rotor.RunRecord // lapsed claims taken over, for the log
	err := s.runTx(ctx, "claim runs", func(tx rotor.Tx) error {
		out, taken = out[:0], taken[:0]
		claim := func(run *rotor.RunRecord) error {
			if run.Status == rotor.RunRunning {
				taken = append(taken, *run)
			}
			run.Status, run.Owner, run.LeaseUntil, run.Updated = rotor.RunRunning, owner, until, now
			if err := tx.UpdateRun(run); err != nil {
				return internal("update run", err)
			}
			out = append(out, *run)
			return nil
		}
		// Claimed runs stop being due (or lapsed) inside this transaction,
		// so each pass sees the skipped runs again and new ones behind them.
		for _, list := range []func(time.Time, int) ([]*rotor.RunRecord, error){tx.ExpiredRuns, tx.DueRuns} {
			for fetch := limit - len(out); len(out) < limit; fetch *= 2 {
				runs, err := list(now, fetch)
				if err != nil {
					return internal("claimable runs", err)
				}
				for _, run := range runs {
					if len(out) == limit {
						break
					}
					if skip != nil && skip(run.ID) {
						continue
					}
					if err := claim(run); err != nil {
						return err
					}
				}
				if len(runs) < fetch {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range taken {
		s.log.Info("took over a rotation run whose lease lapsed", "run_id", r.ID, "secret", r.SecretARN,
			"step", r.Step, "previous_owner", r.Owner, "lease_until", r.LeaseUntil, "owner", owner)
	}
	return out, nil
}

// RenewLeases extends to until the lease of owner on each run of runIDs it
// still holds (see the lease comment above), all in one transaction, and
// returns the ids of the others: runs another server took over, whose
// lease lapsed, that ended, or that no longer exist. The engine stops its
// work on those. Errors: EINTERNAL.
func (s *Service) RenewLeases(ctx context.Context, owner string, runIDs []string, until time.Time) (lost []string, err error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	err = s.runTx(ctx, "renew leases", func(tx rotor.Tx) error {
		lost = lost[:0]
		for _, id := range runIDs {
			run, err := s.heldRun(tx, id, owner)
			if rotor.ErrorCode(err) == rotor.ESTATE {
				lost = append(lost, id)
				continue
			} else if err != nil {
				return err
			}
			run.LeaseUntil = until.UTC()
			if err := tx.UpdateRun(run); err != nil {
				return internal("update run", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// HoldLease takes or renews the named lease (rotor.Tx.AcquireLease) for
// owner from now until until and reports whether owner holds it.
// Errors: EINVALID for an empty name or owner; EINTERNAL.
func (s *Service) HoldLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	held := false
	err := s.runTx(ctx, "hold lease", func(tx rotor.Tx) error {
		ok, err := tx.AcquireLease(name, owner, now.UTC(), until.UTC())
		if rotor.ErrorCode(err) == rotor.EINVALID {
			return err
		} else if err != nil {
			return internal("acquire lease", err)
		}
		held = ok
		return nil
	})
	return held, err
}

// RunSecrets returns every value the run's credentials can read, for
// scrubbing: the value of every version of its secret that carries a
// staging label (AWSCURRENT, AWSPREVIOUS, AWSPENDING or any other), the
// value of the run's version once filled, and, when the rotation is bound
// to a master secret (RotationConfig.MasterARN, never a value's
// "masterarn"; see BoundMaster), the value of every labeled version of that
// secret, whose full ARN is returned as masterARN ("" when there is none).
// Binary values are returned as their bytes.
//
// It reads through the service's cache, as the function's own reads
// through this server do: a write that returned before the call is seen
// (the cache is invalidated after each commit), and what the function
// could read from this server is what is returned. The engine calls it
// after every step, and most steps change nothing, so most calls cost no
// store read.
//
// Errors: ENOTFOUND when the run's secret is gone; EDECRYPT; EINTERNAL.
func (s *Service) RunSecrets(ctx context.Context, run rotor.RunRecord) (values []string, masterARN string, err error) {
	if s.store == nil || s.keyring == nil {
		return nil, "", internal("run secrets", errStoreMissing)
	}
	p, err := s.lookup(ctx, run.Region, run.SecretARN)
	if err != nil {
		return nil, "", err
	}
	e := p.entry()
	// Every labeled version (AWSCURRENT, AWSPREVIOUS, AWSPENDING, custom
	// labels) is readable with the run's credentials, and the run's own
	// version is what it writes.
	values, err = s.labeledValues(e.rec.ARN, e.versions, run.Token)
	if err != nil {
		return nil, "", err
	}
	arn := e.rec.Rotation.MasterARN
	if arn == "" {
		return values, "", nil
	}
	a, ok := rotor.ParseARN(arn)
	if !ok {
		return values, "", nil
	}
	mp, err := s.lookup(ctx, a.Region, arn)
	if isCode(err, rotor.ENOTFOUND) {
		return values, "", nil
	} else if err != nil {
		return nil, "", err
	}
	m := mp.entry()
	if m.rec.ARN != e.rec.ARN {
		mv, err := s.labeledValues(m.rec.ARN, m.versions, "")
		if err != nil {
			return nil, "", err
		}
		values = append(values, mv...)
	}
	return values, m.rec.ARN, nil
}

// labeledValues returns the values of the versions in vs of secret arn
// that carry at least one staging label, and of version token ("" for
// none) whatever its labels; empty values are left out.
func (s *Service) labeledValues(arn string, vs []*rotor.VersionRecord, token string) ([]string, error) {
	var values []string
	for _, v := range vs {
		if len(v.Stages) == 0 && (token == "" || v.ID != token) {
			continue
		}
		p, err := s.plaintext(arn, v)
		if err != nil {
			return nil, err
		}
		if p != "" {
			values = append(values, p)
		}
	}
	return values, nil
}

// plaintext returns the value of version v of secret arn as a string; ""
// when v is nil or an empty placeholder.
func (s *Service) plaintext(arn string, v *rotor.VersionRecord) (string, error) {
	if v == nil || v.Value == nil {
		return "", nil
	}
	val, err := s.open(arn, v)
	if err != nil {
		return "", err
	}
	if val.String != nil {
		return *val.String, nil
	}
	return string(val.Binary), nil
}

// masterARNOf returns the "masterarn" string of a JSON object, or "".
func masterARNOf(value string) string {
	var obj map[string]any
	if json.Unmarshal([]byte(value), &obj) != nil {
		return ""
	}
	id, _ := obj["masterarn"].(string)
	return id
}

// BeginStep records that step starts (attempt, at) on run runID, which
// owner holds.
//
// Errors: ESTATE when the run is no longer active (cancelled, abandoned,
// finished, or deleted with its secret) or owner no longer holds it
// (wrapping rotation.ErrLeaseLost); EINTERNAL.
func (s *Service) BeginStep(ctx context.Context, owner, runID, step string, attempt int, at time.Time) error {
	// Usually the durable state already names this step and attempt:
	// ClaimRuns or the previous EndStep wrote it, and that write is the
	// "before" record. Then only check, in a read, that the run is still
	// active and held — a write per step would double the commits of a
	// rotation. Only a claim after the lease lapsed can take the run from
	// owner, so a read that finds it held is as good as a write.
	if s.store != nil {
		current := false
		err := s.store.View(ctx, func(tx rotor.Tx) error {
			run, err := s.heldRun(tx, runID, owner)
			if err != nil {
				return err
			}
			current = run.Step == step && run.Attempt == attempt
			return nil
		})
		if rotor.ErrorCode(err) == rotor.ESTATE {
			return err
		} else if err == nil && current {
			return nil
		}
	}
	return s.runTx(ctx, "begin step", func(tx rotor.Tx) error {
		run, err := s.heldRun(tx, runID, owner)
		if err != nil {
			return err
		}
		run.Step, run.Attempt, run.Updated = step, attempt, at.UTC()
		if err := tx.UpdateRun(run); err != nil {
			return internal("update run", err)
		}
		return nil
	})
}

// EndStep appends rec to its run's history and, when rec.Outcome is "ok"
// and next is not "", makes next the run's step; owner must hold the run.
// The record is kept even when the run stopped meanwhile (while owner
// held it), so the history shows what the invocation did; the run itself
// is then left alone and ESTATE is returned. When owner no longer holds
// the run nothing is stored: another server took it over and runs it from
// its recorded step.
//
// Errors: ESTATE when the run is no longer active (or gone), or owner no
// longer holds it (wrapping rotation.ErrLeaseLost); EINTERNAL.
func (s *Service) EndStep(ctx context.Context, owner string, rec rotor.StepRecord, next string) error {
	return s.EndSteps(ctx, owner, []rotor.StepRecord{rec}, next)
}

// EndSteps is EndStep for several consecutive records of one run, oldest
// first, in one transaction: every record is appended, and the last one's
// outcome decides whether next becomes the run's step. The engine uses it
// to record the steps it ran since its last durable record in one commit.
//
// Errors: as EndStep; EINVALID when recs is empty or names more than one
// run.
func (s *Service) EndSteps(ctx context.Context, owner string, recs []rotor.StepRecord, next string) error {
	if err := sameRun(recs); err != nil {
		return err
	}
	var stopped error
	err := s.runTx(ctx, "end step", func(tx rotor.Tx) error {
		stopped = nil
		run, err := tx.Run(recs[0].RunID)
		if isCode(err, rotor.ENOTFOUND) {
			return errRunGone(recs[0].RunID)
		} else if err != nil {
			return internal("run", err)
		}
		state := leaseState(run, owner, s.now())
		if errors.Is(state, rotation.ErrLeaseLost) {
			return state // store nothing
		}
		if err := addSteps(tx, recs); err != nil {
			return err
		}
		if state != nil {
			stopped = state
			return nil // keep the step records
		}
		if recs[len(recs)-1].Outcome == "ok" && next != "" {
			run.Step = next
		}
		run.Updated = s.now()
		if err := tx.UpdateRun(run); err != nil {
			return internal("update run", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return stopped
}

// sameRun checks recs is a non-empty list of records of one run.
func sameRun(recs []rotor.StepRecord) error {
	if len(recs) == 0 {
		return rotor.Errorf(rotor.EINVALID, "No step record to store.")
	}
	for _, r := range recs[1:] {
		if r.RunID != recs[0].RunID {
			return rotor.Errorf(rotor.EINVALID, "Step records of runs %s and %s cannot be stored together.", recs[0].RunID, r.RunID)
		}
	}
	return nil
}

// addSteps appends recs to their run's history.
func addSteps(tx rotor.Tx, recs []rotor.StepRecord) error {
	for _, rec := range recs {
		rec.Started = rec.Started.UTC()
		if err := tx.AddStep(&rec); err != nil {
			return internal("add step", err)
		}
	}
	return nil
}

// CompleteRun finishes run runID after all its steps succeeded, and marks
// it succeeded. For a rotation, AWSCURRENT must be on the run's version
// (finishSecret moved it there), else EINVALID "finishSecret did not move
// AWSCURRENT to version <token>" and nothing changes; AWSPENDING is removed
// from that version, LastRotatedDate becomes now and NextRotationDate a
// time inside the schedule's next window (none without rules). For a
// test-only run, AWSPENDING is removed from the temporary version and the
// version deleted (unless it was labelled since). AWSPENDING elsewhere is
// left alone in both cases.
//
// owner must hold the run.
//
// Errors: ESTATE when the run is no longer active or owner no longer holds
// it (wrapping rotation.ErrLeaseLost); EINVALID; EINTERNAL.
func (s *Service) CompleteRun(ctx context.Context, owner, runID string) error {
	return s.CompleteRunWith(ctx, owner, runID, nil)
}

// CompleteRunWith is CompleteRun that first appends recs (the run's last
// step records, oldest first; may be empty) to the run's history, in the
// same transaction: the last steps' records and the completion cost one
// commit. When completion fails nothing is stored, recs included.
//
// Errors: as CompleteRun; EINVALID when recs name another run.
func (s *Service) CompleteRunWith(ctx context.Context, owner, runID string, recs []rotor.StepRecord) error {
	for _, r := range recs {
		if r.RunID != runID {
			return rotor.Errorf(rotor.EINVALID, "A step record of run %s cannot complete run %s.", r.RunID, runID)
		}
	}
	var rec *rotor.SecretRecord
	err := s.runTx(ctx, "complete run", func(tx rotor.Tx) error {
		rec = nil
		run, err := s.heldRun(tx, runID, owner)
		if err != nil {
			return err
		}
		if err := addSteps(tx, recs); err != nil {
			return err
		}
		r, err := tx.Secret(run.SecretARN)
		if err != nil {
			return internal("secret", err)
		}
		rec = r
		vs, err := tx.Versions(rec.ARN)
		if err != nil {
			return internal("versions", err)
		}
		now := s.now()
		before := labelsOf(vs)
		if run.Kind != rotor.RunTestOnly && before[rotor.StageCurrent] != run.Token {
			return rotor.Errorf(rotor.EINVALID, "finishSecret did not move AWSCURRENT to version %s", run.Token)
		}
		after := before.clone()
		if after[rotor.StagePending] == run.Token {
			delete(after, rotor.StagePending)
		}
		if err := applyLabels(tx, rec.ARN, before, after, now); err != nil {
			return err
		}
		if run.Kind == rotor.RunTestOnly {
			// The temporary copy served only testSecret.
			if err := dropTestCopy(tx, rec.ARN, vs, after, run.Token); err != nil {
				return err
			}
		} else {
			sched, err := storedSchedule(rec)
			if err != nil {
				return err
			}
			rec.LastRotatedDate = now
			rec.NextRotationDate = s.nextRotation(sched, now, now)
		}
		if len(before) != len(after) || run.Kind != rotor.RunTestOnly {
			rec.LastChangedDate = now
		}
		if err := tx.UpdateSecret(rec); err != nil {
			return internal("update secret", err)
		}
		return finishRun(tx, run, rotor.RunSucceeded, now)
	})
	if rec != nil {
		s.cache.invalidate(rec.ARN, rec.Region, rec.Name)
	}
	return err
}

// RetryRun schedules the next attempt of run runID, which owner holds:
// pending again from its first step and unclaimed, Attempt one more, due
// at next, with lastErr (truncated to 4 KiB) as LastError.
//
// Errors: ESTATE when the run is no longer active or owner no longer holds
// it (wrapping rotation.ErrLeaseLost); EINTERNAL.
func (s *Service) RetryRun(ctx context.Context, owner, runID string, next time.Time, lastErr string) error {
	return s.runTx(ctx, "retry run", func(tx rotor.Tx) error {
		run, err := s.heldRun(tx, runID, owner)
		if err != nil {
			return err
		}
		release(run)
		run.Status, run.Step, run.Attempt = rotor.RunPending, firstStep(run.Kind), run.Attempt+1
		run.NextAttempt, run.LastError, run.Updated = next.UTC(), truncateError(lastErr), s.now()
		if err := tx.UpdateRun(run); err != nil {
			return internal("update run", err)
		}
		return nil
	})
}

// FailRun marks run runID, which owner holds, failed with lastErr (truncated to 4 KiB). For a
// rotation, labels are left as AWS leaves them, so the next RotateSecret
// answers that the previous rotation is not complete and re-drives this
// run. A failed test-only run ends fully instead: its temporary AWSPENDING
// copy is removed (as AWS removes it whether the test passes or not), so
// the failure stays in the history only and the next RotateSecret, or the
// scheduler, starts a fresh rotation.
//
// Errors: ESTATE when the run is no longer active or owner no longer holds
// it (wrapping rotation.ErrLeaseLost); EINTERNAL.
func (s *Service) FailRun(ctx context.Context, owner, runID, lastErr string) error {
	var rec *rotor.SecretRecord
	err := s.runTx(ctx, "fail run", func(tx rotor.Tx) error {
		rec = nil
		run, err := s.heldRun(tx, runID, owner)
		if err != nil {
			return err
		}
		now := s.now()
		if run.Kind == rotor.RunTestOnly {
			if rec, err = s.endTestOnly(tx, run, now); err != nil {
				return err
			}
		}
		run.LastError = truncateError(lastErr)
		return finishRun(tx, run, rotor.RunFailed, now)
	})
	if rec != nil {
		s.cache.invalidate(rec.ARN, rec.Region, rec.Name)
	}
	return err
}

// endTestOnly removes the temporary version of the test-only run (see
// dropTestCopy) and records the change on its secret, which it returns.
func (s *Service) endTestOnly(tx rotor.Tx, run *rotor.RunRecord, now time.Time) (*rotor.SecretRecord, error) {
	rec, err := tx.Secret(run.SecretARN)
	if err != nil {
		return nil, internal("secret", err)
	}
	vs, err := tx.Versions(rec.ARN)
	if err != nil {
		return nil, internal("versions", err)
	}
	before := labelsOf(vs)
	after := before.clone()
	if after[rotor.StagePending] == run.Token {
		delete(after, rotor.StagePending)
	}
	if err := applyLabels(tx, rec.ARN, before, after, now); err != nil {
		return nil, err
	}
	if err := dropTestCopy(tx, rec.ARN, vs, after, run.Token); err != nil {
		return nil, err
	}
	rec.LastChangedDate = now
	if err := tx.UpdateSecret(rec); err != nil {
		return nil, internal("update secret", err)
	}
	return rec, nil
}

// dropTestCopy deletes version token of secret arn, the temporary copy of
// the current value a test-only run made for testSecret, once it carries
// no label in l (the labels after AWSPENDING was taken off it). A version
// someone labelled since (moving AWSCURRENT to it, say) is kept, and so is
// a version already gone.
func dropTestCopy(tx rotor.Tx, arn string, vs []*rotor.VersionRecord, l labels, token string) error {
	if findVersion(vs, token) == nil || l.labelled(token) {
		return nil
	}
	if err := tx.DeleteVersions(arn, []string{token}); err != nil {
		return internal("delete versions", err)
	}
	return nil
}

// truncateError cuts msg to at most maxRunError bytes, at a character
// boundary. msg comes scrubbed whole from the engine, so the cut leaves no
// piece of a secret.
func truncateError(msg string) string {
	if len(msg) <= maxRunError {
		return msg
	}
	cut := maxRunError
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut-- // do not split a character
	}
	return msg[:cut]
}
