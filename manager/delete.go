package manager

import (
	"context"
	"time"

	"github.com/rotorhq/rotor"
)

// DeleteSecret schedules the secret for deletion after a recovery window of
// in.RecoveryWindowDays (7–30, default 30), or with in.ForceDelete deletes
// it with all its versions at once. While scheduled, the secret keeps its
// name, shows DeletedDate, refuses reads and changes with ESTATE, and can be
// restored with RestoreSecret; PurgeDue deletes it when the window ends.
// DeletionDate is now + window (now when forced). A forced delete of an
// unknown secret succeeds, echoing the id as Name (and the requested ARN,
// see the package documentation, as ARN), as AWS does; a forced delete of a
// scheduled secret deletes it at once.
//
// Errors: EINVALID for a window out of range or a window with ForceDelete;
// ESTATE when the secret is already scheduled and ForceDelete is false;
// ENOTFOUND; EVALIDATION; EDENIED; EINTERNAL.
func (s *Service) DeleteSecret(ctx context.Context, in rotor.DeleteSecretInput) (*rotor.DeleteSecretOutput, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.ForceDelete && in.RecoveryWindowDays != 0 {
		return nil, rotor.Errorf(rotor.EINVALID, msgForceAndWindow)
	}
	window := in.RecoveryWindowDays
	if window == 0 {
		window = rotor.DefaultRecoveryDays
	}
	if window < rotor.MinRecoveryDays || window > rotor.MaxRecoveryDays {
		return nil, rotor.Errorf(rotor.EINVALID, msgRecoveryWindow)
	}
	var out *rotor.DeleteSecretOutput
	err = s.mutate(ctx, c, actionDeleteSecret, in.SecretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		now := s.now()
		out = &rotor.DeleteSecretOutput{ARN: rec.ARN, Name: rec.Name, DeletionDate: now}
		if in.ForceDelete {
			if err := tx.DeleteSecret(rec.ARN); err != nil {
				return internal("delete secret", err)
			}
			return nil
		}
		if !rec.DeletedDate.IsZero() {
			return rotor.Errorf(rotor.ESTATE, msgAlreadyDeleted)
		}
		rec.DeletedDate = now
		rec.PurgeDate = now.Add(time.Duration(window) * 24 * time.Hour)
		if err := storeChanged(tx, rec, now); err != nil {
			return err
		}
		out.DeletionDate = rec.PurgeDate
		return nil
	})
	if in.ForceDelete && isCode(err, rotor.ENOTFOUND) && rotor.ErrorMessage(err) == msgSecretNotFound {
		// notFound already authorized the caller on the requested ARN.
		return &rotor.DeleteSecretOutput{ARN: s.requestedARN(c.Region, in.SecretID), Name: in.SecretID, DeletionDate: s.now()}, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RestoreSecret cancels a scheduled deletion, clearing DeletedDate. On a
// secret that is not scheduled for deletion it changes nothing and succeeds.
//
// Errors: ENOTFOUND; EVALIDATION; EDENIED; EINTERNAL.
func (s *Service) RestoreSecret(ctx context.Context, secretID string) (*rotor.SecretRef, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	var out *rotor.SecretRef
	err = s.mutate(ctx, c, actionRestoreSecret, secretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		out = &rotor.SecretRef{ARN: rec.ARN, Name: rec.Name}
		if rec.DeletedDate.IsZero() {
			return nil
		}
		rec.DeletedDate, rec.PurgeDate = time.Time{}, time.Time{}
		return storeChanged(tx, rec, s.now())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PurgeDue permanently deletes, with all their versions, the secrets whose
// recovery window has ended (PurgeDate not after now), in one transaction,
// and returns how many it deleted. It is called by a background loop
// (RunPurger) and needs no caller in ctx. Errors: EINTERNAL.
func (s *Service) PurgeDue(ctx context.Context) (int, error) {
	if s.store == nil {
		return 0, internal("purge", errStoreMissing)
	}
	var purged []*rotor.SecretRecord
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		purged = purged[:0]
		arns, err := tx.PurgeDue(s.now())
		if err != nil {
			return internal("purge due", err)
		}
		for _, arn := range arns {
			rec, err := tx.Secret(arn)
			if isCode(err, rotor.ENOTFOUND) {
				continue
			} else if err != nil {
				return internal("secret", err)
			}
			if err := tx.DeleteSecret(arn); err != nil {
				return internal("delete secret", err)
			}
			purged = append(purged, rec)
		}
		return nil
	})
	for _, rec := range purged {
		s.cache.invalidate(rec.ARN, rec.Region, rec.Name)
	}
	if err != nil {
		return 0, internal("purge", err)
	}
	for _, rec := range purged {
		s.log.Info("purged secret", "arn", rec.ARN)
	}
	return len(purged), nil
}

// RunPurger calls PurgeDue now and then every interval (an hour when every
// is not positive) until ctx ends, logging errors.
func (s *Service) RunPurger(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.PurgeDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("purge secrets scheduled for deletion", "err", err)
		} else if n > 0 {
			s.log.Info("purged secrets scheduled for deletion", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
