package manager

import (
	"context"
	"slices"
	"time"

	"github.com/rotorhq/rotor"
)

// Rotor's own rotation operations (rotor.RotationService). They are
// authorized as "rotor:<Operation>" (which of the built-in role documents only RoleAdmin's allows) on
// the secret's ARN, or on "" when no secret is named.
const (
	actionListRotationRuns = "rotor:ListRotationRuns"
	actionRotationHistory  = "rotor:RotationHistory"
	actionAbandonRotation  = "rotor:AbandonRotation"
)

// Run listing limits.
const (
	defaultRunsLimit = 100
	maxRunsLimit     = 1000
)

// runStates lists every run state, for validating a status filter.
var runStates = []string{rotor.RunPending, rotor.RunRunning, rotor.RunSucceeded, rotor.RunFailed,
	rotor.RunCancelled, rotor.RunAbandoned}

// runsLimit resolves a limit: 0 means 100, otherwise 1–1000 (EVALIDATION).
func runsLimit(n int) (int, error) {
	return pageSize("limit", n, defaultRunsLimit, maxRunsLimit)
}

// runsSecret resolves the secret id names in the caller's region and
// authorizes action on it; an unknown secret gets notFound for action.
func (s *Service) runsSecret(ctx context.Context, c rotor.Caller, action, id string) (*rotor.SecretRecord, error) {
	if err := validateSecretID(id); err != nil {
		return nil, err
	}
	rec, err := s.locate(ctx, c.Region, id)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, s.notFound(ctx, c, action, id)
	} else if err != nil {
		return nil, err
	}
	if err := s.authorizeSecret(ctx, c, action, rec, id); err != nil {
		return nil, err
	}
	return rec, nil
}

// ListRotationRuns lists rotation runs newest first: those of the secret
// f.SecretID (resolved in the caller's region like every SecretId) or, when
// it is "", of every secret of the caller's region; only those in state
// f.Status when it is not ""; at most f.Limit (0 means 100, at most 1000).
// It is authorized as "rotor:ListRotationRuns" on the secret's ARN, or on
// "" without a secret. The result is empty, not nil, when nothing matches.
//
// Errors: EVALIDATION for an unknown status, a limit out of range or a bad
// secret id; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) ListRotationRuns(ctx context.Context, f rotor.RunFilter) ([]rotor.RunRecord, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	limit, err := runsLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	if f.Status != "" && !slices.Contains(runStates, f.Status) {
		return nil, errValidation(f.Status, "status",
			"Member must satisfy enum value set: [pending, running, succeeded, failed, cancelled, abandoned]")
	}
	arn := ""
	if f.SecretID != "" {
		rec, err := s.runsSecret(ctx, c, actionListRotationRuns, f.SecretID)
		if err != nil {
			return nil, err
		}
		arn = rec.ARN
	} else if err := s.authorizeNone(ctx, c, actionListRotationRuns); err != nil {
		return nil, err
	}
	var runs []*rotor.RunRecord
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		runs, err = tx.Runs(c.Region, arn, f.Status, limit)
		return err
	})
	if err != nil {
		return nil, internal("runs", err)
	}
	out := make([]rotor.RunRecord, 0, len(runs))
	for _, r := range runs {
		out = append(out, *r)
	}
	return out, nil
}

// LatestFailedRuns lists, a page at a time, the failed runs of the
// caller's region that are the latest run of their secret (the secrets
// whose last rotation failed and was neither retried nor resolved since),
// newest first; at most limit (0 means 100, at most 1000), continued by
// the returned token ("" on the last page). It is Rotor's own read (the
// web console's "failed rotation only" filter and needs-attention page),
// authorized as "rotor:ListRotationRuns" on "". A page costs the same
// however many other runs and secrets there are (Tx.LatestFailedRuns).
//
// Errors: EVALIDATION for a limit out of range; ENEXTTOKEN for a token
// this call did not issue for the same region; EDENIED; EINTERNAL.
func (s *Service) LatestFailedRuns(ctx context.Context, nextToken string, limit int) ([]rotor.RunRecord, string, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, "", err
	}
	if limit, err = runsLimit(limit); err != nil {
		return nil, "", err
	}
	fp := fingerprint("LatestFailedRuns", c.Region)
	var after *rotor.RunCursor
	if nextToken != "" {
		cur, err := decodeToken(nextToken, fp)
		if err != nil {
			return nil, "", err
		}
		after = &rotor.RunCursor{ID: cur.ID}
		if cur.T != 0 { // 0: a run without a creation time
			after.Created = time.Unix(0, cur.T).UTC()
		}
	}
	if err := s.authorizeNone(ctx, c, actionListRotationRuns); err != nil {
		return nil, "", err
	}
	var runs []*rotor.RunRecord
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		runs, err = tx.LatestFailedRuns(c.Region, after, limit+1)
		return err
	})
	if err != nil {
		return nil, "", internal("latest failed runs", err)
	}
	next := ""
	if len(runs) > limit {
		runs = runs[:limit]
		last := runs[limit-1]
		var t int64
		if !last.Created.IsZero() {
			t = last.Created.UnixNano()
		}
		next = encodeToken(cursor{F: fp, T: t, ID: last.ID})
	}
	out := make([]rotor.RunRecord, 0, len(runs))
	for _, r := range runs {
		out = append(out, *r)
	}
	return out, next, nil
}

// RotationHistory returns the secret's runs, newest first, at most limit
// (0 means 100, at most 1000), each with its step records, oldest first. It
// is authorized as "rotor:RotationHistory" on the secret's ARN and works on
// secrets scheduled for deletion. The result is empty, not nil, for a
// secret that never rotated.
//
// Errors: EVALIDATION; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) RotationHistory(ctx context.Context, secretID string, limit int) ([]rotor.RunHistory, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	limit, err = runsLimit(limit)
	if err != nil {
		return nil, err
	}
	rec, err := s.runsSecret(ctx, c, actionRotationHistory, secretID)
	if err != nil {
		return nil, err
	}
	var out []rotor.RunHistory
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		out = []rotor.RunHistory{}
		runs, err := tx.Runs(rec.Region, rec.ARN, "", limit)
		if err != nil {
			return err
		}
		for _, r := range runs {
			steps, err := tx.Steps(r.ID)
			if err != nil {
				return err
			}
			h := rotor.RunHistory{Run: *r, Steps: make([]rotor.StepRecord, 0, len(steps))}
			for _, st := range steps {
				h.Steps = append(h.Steps, *st)
			}
			out = append(out, h)
		}
		return nil
	})
	if err != nil {
		return nil, internal("rotation history", err)
	}
	return out, nil
}

// AbandonRotation cleans up after a failed or cancelled rotation so the
// next RotateSecret can start: it marks the secret's active run abandoned
// (the engine is told through Config.OnRunStopped after the commit) and
// removes AWSPENDING from the version carrying it when that version is not
// AWSCURRENT, deleting the version when it is an empty placeholder left
// without labels. AWSPENDING on the AWSCURRENT version is harmless and
// stays. VersionID is the active run's version, or else the version that
// carried AWSPENDING. It is authorized as "rotor:AbandonRotation".
//
// Errors: ESTATE "There is no rotation to abandon." when there is neither
// an active run nor such a label, and on a secret scheduled for deletion;
// EVALIDATION; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) AbandonRotation(ctx context.Context, secretID string) (*rotor.VersionResult, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	var out *rotor.VersionResult
	err = s.mutateStopping(ctx, c, actionAbandonRotation, secretID, func(tx rotor.Tx, rec *rotor.SecretRecord) (string, error) {
		if !rec.DeletedDate.IsZero() {
			return "", rotor.Errorf(rotor.ESTATE, msgAlreadyDeleted)
		}
		run, err := activeRun(tx, rec.ARN)
		if err != nil {
			return "", err
		}
		vs, err := tx.Versions(rec.ARN)
		if err != nil {
			return "", internal("versions", err)
		}
		before := labelsOf(vs)
		pending, stray := before[rotor.StagePending]
		stray = stray && pending != before[rotor.StageCurrent]
		if run == nil && !stray {
			return "", rotor.Errorf(rotor.ESTATE, msgNothingToAbandon)
		}
		now := s.now()
		out = &rotor.VersionResult{ARN: rec.ARN, Name: rec.Name, VersionID: pending}
		stopped := ""
		if run != nil {
			if err := finishRun(tx, run, rotor.RunAbandoned, now); err != nil {
				return "", err
			}
			out.VersionID, stopped = run.Token, run.ID
		}
		if !stray {
			return stopped, nil
		}
		after := before.clone()
		delete(after, rotor.StagePending)
		if err := applyLabels(tx, rec.ARN, before, after, now); err != nil {
			return "", err
		}
		if v := findVersion(vs, pending); v != nil && v.Value == nil && !after.labelled(pending) {
			if err := tx.DeleteVersions(rec.ARN, []string{pending}); err != nil {
				return "", internal("delete versions", err)
			}
		}
		return stopped, storeChanged(tx, rec, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
