package manager

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/schedule"
)

// Rotation texts. The first three are AWS's (aws-api.md §6); the others are
// Rotor's where AWS's wording is unknown or the situation is Rotor's own.
const (
	msgRotationIncomplete    = "A previous rotation isn't complete. That rotation will be reattempted."
	msgNoLambda              = "No Lambda rotation function ARN is associated with this secret."
	msgRotationNotConfigured = "Rotation is not configured for this secret."
	msgRotationUnavailable   = "Rotation is not available: this server has no rotation functions configured."
	msgNoCurrentToRotate     = "The secret has no AWSCURRENT version to rotate. Store a value with PutSecretValue first."
	msgRotationDisabled      = "Rotation is not enabled for this secret."
	msgNothingToAbandon      = "There is no rotation to abandon."
)

// maxLambdaARN is the model's limit on RotationLambdaARN.
const maxLambdaARN = 2048

// rotateRequest is a RotateSecret request once validated, or a scheduled
// start (scheduled true, everything else zero but immediately).
type rotateRequest struct {
	token       string               // "" = generate one
	lambdaARN   string               // "" = the stored one
	rules       *rotor.RotationRules // nil = keep the stored rules
	sched       *schedule.Schedule   // rules parsed (nil for manual rotation)
	immediately bool                 // false: a test-only run
	scheduled   bool                 // started by the scheduler, not a client
	// authorizeMaster asks whether the client may read the master secret
	// arn, which RotateSecret then binds; nil for the scheduler, which
	// never rebinds.
	authorizeMaster func(arn string, master *rotor.SecretRecord) error
	// manageKeys: the caller may perform rotor:CreateAccessKey, so the
	// rotation may be bound to the AWSCURRENT value's identity.
	manageKeys bool
	// handoff, when not nil, is an engine's room for the run: a new run is
	// created claimed by it (see Config.OfferRun).
	handoff *rotation.Handoff
}

// rotateOutcome is what rotateTx decided: the answer to return after the
// transaction committed (out, or the error answer), and whether a run
// became due.
type rotateOutcome struct {
	out    *rotor.VersionResult
	answer error // returned to the caller although the transaction commits
	queued bool
	// claimed is the run created claimed through the request's handoff.
	claimed *rotor.RunRecord
}

// offerRun asks the engine for room for a run the coming transaction may
// create (Config.OfferRun); nil when there is none.
func (s *Service) offerRun() *rotation.Handoff {
	if s.offerFn == nil {
		return nil
	}
	return s.offerFn()
}

// afterRotate tells the engine, once the transaction committed (ok) or
// failed, what became of a rotation's run: handed over to it already
// claimed, due (OnRunQueued), or nothing, giving back the handoff's room
// when it was not used.
func (s *Service) afterRotate(h *rotation.Handoff, res rotateOutcome, ok bool) {
	if h != nil {
		if ok && res.claimed != nil {
			h.Take(*res.claimed)
		} else {
			h.Release()
		}
	}
	if ok && res.queued && res.claimed == nil {
		s.runQueued()
	}
}

// RotateSecret configures and starts a rotation (aws-api.md §6.1, §6.3). It
// authorizes "secretsmanager:RotateSecret" on the secret and then, in one
// transaction:
//
//   - refuses a secret scheduled for deletion (ESTATE);
//   - resolves the function: in.RotationLambdaARN, else the stored one
//     (ESTATE "No Lambda rotation function ARN is associated with this
//     secret." when neither), through Config.Functions, whose error (EDENIED,
//     AccessDeniedException) is returned unchanged;
//   - when the token names the AWSPENDING placeholder of the secret's active
//     run, succeeds again without changing anything (a retried request);
//   - removes a temporary copy a test-only run left behind when it ended
//     (failed under an older server, or cancelled): it is not a rotation in
//     progress and must not block one;
//   - when a run is active, or AWSPENDING is on a version that is not
//     AWSCURRENT, answers ESTATE "A previous rotation isn't complete. That
//     rotation will be reattempted." without saving the request's
//     configuration; if that version's last run failed (or it has none) the
//     run is re-driven first: pending again, due now, attempts reset;
//   - needs an AWSCURRENT value (ESTATE otherwise) and a token no version
//     uses (EEXISTS as PutSecretValue answers otherwise);
//   - binds the rotation to the master secret that the AWSCURRENT value's
//     "masterarn" names (a name, partial or full ARN of the region; none
//     without one): the caller must be allowed
//     "secretsmanager:GetSecretValue" on it (EDENIED otherwise), and it
//     must exist (ESTATE otherwise), or nothing is saved. The rotation
//     function's credentials may read that master and no other; see
//     BoundMaster. A re-driven previous rotation (below) is rebound the
//     same way; a retried request and an active run are not;
//   - stores the configuration (rotation enabled, function, and the rules
//     when given) and either, with RotateImmediately nil or true, creates
//     the empty version in.ClientRequestToken (a random UUID when empty)
//     labelled AWSPENDING and a pending run of the four steps, or, with
//     RotateImmediately false, a version holding a copy of the current
//     value labelled AWSPENDING and a pending run of testSecret only;
//   - sets NextRotationDate to a time inside the schedule's next window
//     (none without rules: manual rotation only);
//   - binds the rotation to the AWSCURRENT value's "identity" (see
//     rotor.RotationConfig.Identity) when the caller may perform
//     rotor:CreateAccessKey, and otherwise unbinds it when that value names
//     another identity than the bound one.
//
// It returns {ARN, Name, VersionID: token} at once; the engine executes the
// run (Config.OnRunQueued is called after the commit).
//
// Errors: EVALIDATION for an empty or oversized id, token or function ARN;
// EINVALID for bad RotationRules (nothing is saved); EDENIED; ESTATE
// (also when Config.Functions is nil); EEXISTS; ELIMIT beyond 20 labels;
// ENOTFOUND; EENCRYPT; EDECRYPT; EINTERNAL.
func (s *Service) RotateSecret(ctx context.Context, in rotor.RotateSecretInput) (*rotor.VersionResult, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	if err := validateToken(in.ClientRequestToken, false); err != nil {
		return nil, err
	}
	if len(in.RotationLambdaARN) > maxLambdaARN {
		return nil, errMaxLen("rotationLambdaARN", maxLambdaARN)
	}
	req := rotateRequest{token: in.ClientRequestToken, lambdaARN: in.RotationLambdaARN,
		immediately: in.RotateImmediately == nil || *in.RotateImmediately,
		authorizeMaster: func(arn string, master *rotor.SecretRecord) error {
			return s.authorize(ctx, c, rotor.AccessRequest{Action: actionGetSecretValue, Resource: arn, Secret: master})
		},
		manageKeys: s.authorize(ctx, c, rotor.AccessRequest{Action: actionCreateAccessKey}) == nil}
	if in.RotationRules != nil {
		sched, err := schedule.Parse(*in.RotationRules)
		if err != nil {
			return nil, err
		}
		rules := *in.RotationRules
		req.rules, req.sched = &rules, sched
	}
	if s.functions == nil {
		return nil, rotor.Errorf(rotor.ESTATE, msgRotationUnavailable)
	}
	var res rotateOutcome
	req.handoff = s.offerRun()
	err = s.mutateWith(ctx, c, rotor.AccessRequest{Action: actionRotateSecret, RotationLambdaARN: in.RotationLambdaARN},
		in.SecretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
			var err error
			res, err = s.rotateTx(tx, rec, req)
			return err
		})
	s.afterRotate(req.handoff, res, err == nil)
	if err != nil {
		return nil, err
	}
	if res.answer != nil {
		return nil, res.answer
	}
	return res.out, nil
}

// StartScheduledRotation starts a rotation of the secret arn exactly as
// RotateSecret without parameters would, with a generated token, on behalf
// of the service itself: no caller is needed in ctx and nothing is
// authorized. It refuses (ESTATE) a secret whose rotation is not enabled,
// and one whose NextRotationDate is after now, the time the caller found
// it due: a rotation that ended since (a client's RotateSecret, or another
// server's scheduler when a scheduler lease changed hands) moved the date
// on, so starting another would rotate twice. Together with the one active
// run per secret this makes a second start of the same due rotation
// harmless: it changes nothing.
// When a previous rotation is not complete it re-drives it as RotateSecret
// does, moves NextRotationDate to the following window (so the scheduler
// does not try again at every tick) and returns the ESTATE answer.
//
// Errors: ENOTFOUND for an unknown ARN; ESTATE; EDENIED when the stored
// function no longer exists; ELIMIT; EENCRYPT; EDECRYPT; EINTERNAL.
func (s *Service) StartScheduledRotation(ctx context.Context, arn string, now time.Time) error {
	if s.store == nil || s.keyring == nil {
		return internal("start scheduled rotation", errStoreMissing)
	}
	if s.functions == nil {
		return rotor.Errorf(rotor.ESTATE, msgRotationUnavailable)
	}
	var (
		res          rotateOutcome
		region, name string
		fnErr        error
	)
	h := s.offerRun()
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		rec, err := tx.Secret(arn)
		if isCode(err, rotor.ENOTFOUND) {
			fnErr = errNotFound()
			return fnErr
		} else if err != nil {
			fnErr = internal("secret", err)
			return fnErr
		}
		region, name = rec.Region, rec.Name
		if rec.NextRotationDate.After(now) {
			fnErr = rotor.Errorf(rotor.ESTATE, "The rotation of this secret is not due until %s.", rec.NextRotationDate.Format(time.RFC3339))
			return fnErr
		}
		res, fnErr = s.rotateTx(tx, rec, rotateRequest{immediately: true, scheduled: true, handoff: h})
		return fnErr
	})
	if region != "" {
		s.cache.invalidate(arn, region, name)
	}
	s.afterRotate(h, res, fnErr == nil && err == nil)
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return internal("start scheduled rotation", err)
	}
	return res.answer
}

// DueRotations returns the ARNs of the secrets (any region) whose rotation
// is enabled, that are not scheduled for deletion, whose NextRotationDate
// is not after now and that have no active run. Errors: EINTERNAL.
func (s *Service) DueRotations(ctx context.Context, now time.Time) ([]string, error) {
	if s.store == nil {
		return nil, internal("due rotations", errStoreMissing)
	}
	var arns []string
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		var err error
		arns, err = tx.DueRotations(now.UTC())
		return err
	})
	if err != nil {
		return nil, internal("due rotations", err)
	}
	return arns, nil
}

// rotateTx is RotateSecret's transaction on the secret rec (see
// RotateSecret). An error means nothing may be committed; an answer in the
// outcome is returned to the client after the commit.
func (s *Service) rotateTx(tx rotor.Tx, rec *rotor.SecretRecord, req rotateRequest) (rotateOutcome, error) {
	now := s.now()
	if !rec.DeletedDate.IsZero() {
		return rotateOutcome{}, rotor.Errorf(rotor.ESTATE, msgAlreadyDeleted)
	}
	if req.scheduled && !(rec.Rotation.Configured && rec.Rotation.Enabled) {
		return rotateOutcome{}, rotor.Errorf(rotor.ESTATE, msgRotationDisabled)
	}
	fnARN := req.lambdaARN
	if fnARN == "" {
		fnARN = rec.Rotation.LambdaARN
	}
	if fnARN == "" {
		return rotateOutcome{}, rotor.Errorf(rotor.ESTATE, msgNoLambda)
	}
	if _, err := s.functions.Lookup(rec.Region, fnARN); err != nil {
		return rotateOutcome{}, err
	}
	vs, err := tx.Versions(rec.ARN)
	if err != nil {
		return rotateOutcome{}, internal("versions", err)
	}
	before := labelsOf(vs)
	active, err := activeRun(tx, rec.ARN)
	if err != nil {
		return rotateOutcome{}, err
	}
	if active == nil {
		if vs, err = clearTestLeftover(tx, rec, vs, before, now); err != nil {
			return rotateOutcome{}, err
		}
		before = labelsOf(vs)
	}
	ref := &rotor.VersionResult{ARN: rec.ARN, Name: rec.Name}
	if req.token != "" && active != nil && active.Token == req.token && before[rotor.StagePending] == req.token {
		ref.VersionID = req.token // the same request again
		return rotateOutcome{out: ref}, nil
	}
	cur := findVersion(vs, before[rotor.StageCurrent])
	if pending, ok := before[rotor.StagePending]; active != nil || (ok && pending != before[rotor.StageCurrent]) {
		return s.previousIncomplete(tx, rec, before, cur, active, fnARN, req, now)
	}
	if cur == nil || cur.Value == nil {
		return rotateOutcome{}, rotor.Errorf(rotor.ESTATE, msgNoCurrentToRotate)
	}
	if req.authorizeMaster != nil {
		if rec.Rotation.MasterARN, err = s.bindMaster(tx, rec, cur, req.authorizeMaster); err != nil {
			return rotateOutcome{}, err
		}
	}
	token := req.token
	if token == "" {
		token = newUUID()
	}
	if findVersion(vs, token) != nil {
		return rotateOutcome{}, errTokenInUse(token, rec.ARN)
	}

	if !req.scheduled {
		if err := s.bindIdentity(rec, cur, req.manageKeys); err != nil {
			return rotateOutcome{}, err
		}
	}
	rec.Rotation.Configured, rec.Rotation.Enabled, rec.Rotation.LambdaARN = true, true, fnARN
	sched := req.sched
	if req.rules != nil {
		rec.Rotation.Rules = *req.rules
	} else if sched, err = storedSchedule(rec); err != nil {
		return rotateOutcome{}, err
	}
	after := before.clone()
	after[rotor.StagePending] = token
	if err := checkStageLimit(after); err != nil {
		return rotateOutcome{}, err
	}
	v := &rotor.VersionRecord{ID: token, KmsKeyID: rec.KmsKeyID, CreatedDate: now}
	run := &rotor.RunRecord{ID: newUUID(), SecretARN: rec.ARN, Region: rec.Region, Token: token,
		FunctionARN: fnARN, Status: rotor.RunPending, Attempt: 1, MaxAttempts: s.maxAttempts,
		NextAttempt: now, Created: now, Updated: now}
	base := now // a rotation starting now counts as the last one
	if req.immediately {
		run.Kind, run.Step = rotor.RunRotate, rotor.StepCreate
	} else {
		// A temporary AWSPENDING copy of the current value for testSecret.
		val, err := s.open(rec.ARN, cur)
		if err != nil {
			return rotateOutcome{}, err
		}
		sealed, err := s.seal(rec.ARN, token, val)
		if err != nil {
			return rotateOutcome{}, err
		}
		v.Value, v.Binary = &sealed, cur.Binary
		run.Kind, run.Step = rotor.RunTestOnly, rotor.StepTest
		base = scheduleBase(rec, cur)
	}
	if err := tx.CreateVersion(rec.ARN, v); err != nil {
		return rotateOutcome{}, internal("create version", err)
	}
	if err := applyLabels(tx, rec.ARN, before, after, now); err != nil {
		return rotateOutcome{}, err
	}
	var claimed *rotor.RunRecord
	if h := req.handoff; h != nil {
		// Created claimed by the engine that offered room: it starts at
		// once after the commit, with no claim of its own.
		run.Status, run.Owner, run.LeaseUntil = rotor.RunRunning, h.Owner, h.Until.UTC()
		claimed = run
	}
	if err := tx.CreateRun(run); err != nil {
		return rotateOutcome{}, internal("create run", err)
	}
	rec.NextRotationDate = s.nextRotation(sched, now, base)
	if err := storeChanged(tx, rec, now); err != nil {
		return rotateOutcome{}, err
	}
	ref.VersionID = token
	return rotateOutcome{out: ref, queued: true, claimed: claimed}, nil
}

// bindIdentity sets rec.Rotation.Identity from the "identity" string of
// the current version's JSON value ("" when it has none): to it when
// manageKeys, and otherwise to "" when it differs from the bound one, so
// a caller who may not manage access keys can keep a binding an
// administrator made but never make or move one.
func (s *Service) bindIdentity(rec *rotor.SecretRecord, cur *rotor.VersionRecord, manageKeys bool) error {
	if !manageKeys && rec.Rotation.Identity == "" {
		return nil
	}
	val, err := s.open(rec.ARN, cur)
	if err != nil {
		return err
	}
	var doc struct {
		Identity string `json:"identity"`
	}
	if val.String != nil && json.Unmarshal([]byte(*val.String), &doc) != nil {
		doc.Identity = ""
	}
	switch {
	case manageKeys:
		rec.Rotation.Identity = doc.Identity
	case doc.Identity != rec.Rotation.Identity:
		rec.Rotation.Identity = ""
	}
	return nil
}

// previousIncomplete answers a rotation request while a previous rotation
// is not complete: a run is active, or AWSPENDING is on a version that is
// not AWSCURRENT (cur is the AWSCURRENT version, nil if none). If that
// version's newest run failed, or it has none, the rotation is re-driven
// with function fnARN and, for a client's request, rebound to the master
// cur names (see bindMaster; on refusal nothing is saved). The request's
// other configuration is not saved.
func (s *Service) previousIncomplete(tx rotor.Tx, rec *rotor.SecretRecord, l labels, cur *rotor.VersionRecord, active *rotor.RunRecord,
	fnARN string, req rotateRequest, now time.Time) (rotateOutcome, error) {
	res := rotateOutcome{answer: rotor.Errorf(rotor.ESTATE, msgRotationIncomplete)}
	if active != nil {
		return res, nil // it goes on by itself
	}
	pending := l[rotor.StagePending]
	last, err := lastRunOf(tx, rec, pending)
	if err != nil {
		return rotateOutcome{}, err
	}
	if (last == nil || last.Status == rotor.RunFailed) && req.authorizeMaster != nil {
		master, err := s.bindMaster(tx, rec, cur, req.authorizeMaster)
		if err != nil {
			return rotateOutcome{}, err
		}
		if master != rec.Rotation.MasterARN {
			rec.Rotation.MasterARN = master
			if err := tx.UpdateSecret(rec); err != nil {
				return rotateOutcome{}, internal("update secret", err)
			}
		}
	}
	switch {
	case last == nil:
		// AWSPENDING was put there by hand, or its run is long gone.
		run := &rotor.RunRecord{ID: newUUID(), SecretARN: rec.ARN, Region: rec.Region, Token: pending,
			Kind: rotor.RunRotate, FunctionARN: fnARN, Status: rotor.RunPending, Step: rotor.StepCreate,
			Attempt: 1, MaxAttempts: s.maxAttempts, NextAttempt: now, Created: now, Updated: now}
		if err := tx.CreateRun(run); err != nil {
			return rotateOutcome{}, internal("create run", err)
		}
		res.queued = true
	case last.Status == rotor.RunFailed:
		last.Status, last.Step, last.Attempt, last.MaxAttempts = rotor.RunPending, firstStep(last.Kind), 1, s.maxAttempts
		last.FunctionARN, last.NextAttempt, last.Updated, last.Finished = fnARN, now, now, time.Time{}
		release(last)
		if err := tx.UpdateRun(last); err != nil {
			return rotateOutcome{}, internal("update run", err)
		}
		res.queued = true
	}
	// A run that was cancelled, abandoned or succeeded is not re-driven: the
	// label was left (CancelRotateSecret) or put back by hand, and must be
	// removed (UpdateSecretVersionStage or AbandonRotation).
	if req.scheduled {
		sched, err := storedSchedule(rec)
		if err != nil {
			return rotateOutcome{}, err
		}
		rec.NextRotationDate = s.nextRotation(sched, now, now)
		if err := tx.UpdateSecret(rec); err != nil {
			return rotateOutcome{}, internal("update secret", err)
		}
	}
	return res, nil
}

// lastRunOf returns the newest run of version token of secret rec, or nil.
func lastRunOf(tx rotor.Tx, rec *rotor.SecretRecord, token string) (*rotor.RunRecord, error) {
	runs, err := tx.Runs(rec.Region, rec.ARN, "", runsScanned)
	if err != nil {
		return nil, internal("runs", err)
	}
	for _, r := range runs {
		if r.Token == token {
			return r, nil
		}
	}
	return nil, nil
}

// clearTestLeftover removes the temporary copy of a test-only run that
// ended without removing it (failed before failed runs cleaned up, or was
// cancelled), so it no longer blocks rotation: it is Rotor's own artefact,
// not a rotation in progress. vs are the secret's versions and l their
// labels, with no run active; it returns the versions afterwards.
func clearTestLeftover(tx rotor.Tx, rec *rotor.SecretRecord, vs []*rotor.VersionRecord, l labels, now time.Time) ([]*rotor.VersionRecord, error) {
	pending, ok := l[rotor.StagePending]
	if !ok || pending == l[rotor.StageCurrent] {
		return vs, nil
	}
	last, err := lastRunOf(tx, rec, pending)
	if err != nil || last == nil || last.Kind != rotor.RunTestOnly ||
		(last.Status != rotor.RunFailed && last.Status != rotor.RunCancelled) {
		return vs, err
	}
	after := l.clone()
	delete(after, rotor.StagePending)
	if err := applyLabels(tx, rec.ARN, l, after, now); err != nil {
		return nil, err
	}
	if err := dropTestCopy(tx, rec.ARN, vs, after, pending); err != nil {
		return nil, err
	}
	vs, err = tx.Versions(rec.ARN)
	if err != nil {
		return nil, internal("versions", err)
	}
	return vs, nil
}

// runsScanned bounds how many of a secret's newest runs are searched for
// the run of its AWSPENDING version.
const runsScanned = 100

// firstStep is the step a run of kind starts with.
func firstStep(kind string) string {
	if kind == rotor.RunTestOnly {
		return rotor.StepTest
	}
	return rotor.StepCreate
}

// storedSchedule parses the secret's stored rules (nil: manual rotation).
// They were validated when stored, so a failure is a fault.
func storedSchedule(rec *rotor.SecretRecord) (*schedule.Schedule, error) {
	sched, err := schedule.Parse(rec.Rotation.Rules)
	if err != nil {
		return nil, internal("stored rotation rules", err)
	}
	return sched, nil
}

// scheduleBase is the time the schedule counts from when no rotation is
// starting now: the last rotation, or the creation of the secret; for
// AutomaticallyAfterDays also a manual change of AWSCURRENT, which AWS
// counts as a rotation (cur is the AWSCURRENT version).
func scheduleBase(rec *rotor.SecretRecord, cur *rotor.VersionRecord) time.Time {
	base := rec.CreatedDate
	if rec.LastRotatedDate.After(base) {
		base = rec.LastRotatedDate
	}
	if rec.Rotation.Rules.AutomaticallyAfterDays != 0 && cur != nil && cur.CreatedDate.After(base) {
		base = cur.CreatedDate
	}
	return base
}

// nextRotation returns a start time chosen at random inside the window
// sched opens next after after, counting from the last rotation base; the
// zero time when sched is nil (manual rotation only).
func (s *Service) nextRotation(sched *schedule.Schedule, after, base time.Time) time.Time {
	if sched == nil {
		return time.Time{}
	}
	w := sched.Next(after, base)
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return schedule.PickStart(w, s.rand).UTC()
}

// CancelRotateSecret disables rotation of the secret (aws-api.md §6.4) after
// authorizing "secretsmanager:CancelRotateSecret": RotationEnabled becomes
// false while the function and rules are kept for display, NextRotationDate
// is cleared, and the active run, if any, is cancelled (the engine is told
// through Config.OnRunStopped after the commit). Labels are left as they
// are, as on AWS: the next RotateSecret answers that the previous rotation
// is not complete until AWSPENDING is removed (except for the temporary
// copy of a cancelled test-only run, which it removes). The bound master
// secret is kept too (the next RotateSecret binds afresh). VersionID is the run's
// version, or else the version carrying AWSPENDING ("" if none).
//
// Errors: ESTATE on a secret scheduled for deletion or one whose rotation
// was never configured ("Rotation is not configured for this secret.");
// EVALIDATION; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) CancelRotateSecret(ctx context.Context, secretID string) (*rotor.VersionResult, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	var out *rotor.VersionResult
	err = s.mutateStopping(ctx, c, actionCancelRotateSecret, secretID, func(tx rotor.Tx, rec *rotor.SecretRecord) (string, error) {
		if !rec.DeletedDate.IsZero() {
			return "", rotor.Errorf(rotor.ESTATE, msgAlreadyDeleted)
		}
		if !rec.Rotation.Configured {
			return "", rotor.Errorf(rotor.ESTATE, msgRotationNotConfigured)
		}
		now := s.now()
		out = &rotor.VersionResult{ARN: rec.ARN, Name: rec.Name}
		run, err := activeRun(tx, rec.ARN)
		if err != nil {
			return "", err
		}
		stopped := ""
		if run != nil {
			if err := finishRun(tx, run, rotor.RunCancelled, now); err != nil {
				return "", err
			}
			out.VersionID, stopped = run.Token, run.ID
		} else {
			vs, err := tx.Versions(rec.ARN)
			if err != nil {
				return "", internal("versions", err)
			}
			out.VersionID = labelsOf(vs)[rotor.StagePending]
		}
		rec.Rotation.Enabled = false
		rec.NextRotationDate = time.Time{}
		return stopped, storeChanged(tx, rec, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// manualCurrent is called in the transaction of a PutSecretValue or
// UpdateSecret that made a brand-new version AWSCURRENT (which removed
// AWSPENDING from every other version): the active run, if any, is
// abandoned (§6.4 RotationAbandoned), and for AutomaticallyAfterDays rules
// NextRotationDate counts from now, as AWS counts a manual change as a
// rotation. rec is updated in memory; the caller stores it. It returns the
// id of the run it abandoned ("" if none), for runStopped after the commit.
func (s *Service) manualCurrent(tx rotor.Tx, rec *rotor.SecretRecord, now time.Time) (string, error) {
	stopped := ""
	run, err := activeRun(tx, rec.ARN)
	if err != nil {
		return "", err
	}
	if run != nil {
		if err := finishRun(tx, run, rotor.RunAbandoned, now); err != nil {
			return "", err
		}
		stopped = run.ID
	}
	if rec.Rotation.Enabled && rec.Rotation.Rules.AutomaticallyAfterDays != 0 {
		sched, err := storedSchedule(rec)
		if err != nil {
			return "", err
		}
		rec.NextRotationDate = s.nextRotation(sched, now, now)
	}
	return stopped, nil
}

// activeRun returns the secret's pending or running run, or nil.
func activeRun(tx rotor.Tx, arn string) (*rotor.RunRecord, error) {
	run, err := tx.ActiveRun(arn)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, nil
	} else if err != nil {
		return nil, internal("active run", err)
	}
	return run, nil
}

// finishRun puts run in the final state status at now and stores it.
func finishRun(tx rotor.Tx, run *rotor.RunRecord, status string, now time.Time) error {
	run.Status, run.Finished, run.Updated = status, now, now
	if err := tx.UpdateRun(run); err != nil {
		return internal("update run", err)
	}
	return nil
}

// mutateStopping is mutate for an operation that may stop the secret's
// active rotation run: fn returns the id of the run it cancelled or
// abandoned ("" if none). The engine is told of that run (runStopped) only
// once the transaction has committed. fn's error is returned unchanged.
func (s *Service) mutateStopping(ctx context.Context, c rotor.Caller, action, id string,
	fn func(tx rotor.Tx, rec *rotor.SecretRecord) (stopped string, err error)) error {
	return s.mutateStoppingOpts(ctx, c, action, id, writeOpts{}, fn)
}

// mutateStoppingOpts is mutateStopping with opts (see mutateWithOpts).
func (s *Service) mutateStoppingOpts(ctx context.Context, c rotor.Caller, action, id string,
	opts writeOpts, fn func(tx rotor.Tx, rec *rotor.SecretRecord) (stopped string, err error)) error {
	var stopped string
	err := s.mutateWithOpts(ctx, c, rotor.AccessRequest{Action: action}, id, opts, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		var err error
		stopped, err = fn(tx, rec)
		return err
	})
	if err != nil {
		return err
	}
	s.runStopped(stopped)
	return nil
}

// runQueued tells the engine a run is due (Config.OnRunQueued).
func (s *Service) runQueued() {
	if s.onRunQueued != nil {
		s.onRunQueued()
	}
}

// runStopped tells the engine run id was cancelled or abandoned
// (Config.OnRunStopped); id "" means no run was stopped.
func (s *Service) runStopped(id string) {
	if id != "" && s.onRunStopped != nil {
		s.onRunStopped(id)
	}
}

// newUUID returns a random (version 4) UUID from crypto/rand, the form of
// the tokens AWS generates.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
