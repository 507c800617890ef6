package manager

import (
	"context"

	"github.com/rotorhq/rotor"
)

// UpdateSecretVersionStage moves or removes one staging label: it removes
// in.VersionStage from in.RemoveFromVersionId (which must carry it) and
// attaches it to in.MoveToVersionId. When the label is on another version,
// that version must be named in RemoveFromVersionId. Moving AWSCURRENT moves
// AWSPREVIOUS to the version AWSCURRENT left and keeps AWSPENDING where it
// is (aws-api.md §2.3 rules 5 and 6); removing AWSCURRENT without moving it
// does not move AWSPREVIOUS. A version left without labels is deprecated.
// It never abandons a rotation run: this is how a rotation function's
// finishSecret moves AWSCURRENT onto the version being rotated to.
//
// Errors: EINVALID when neither version is given, RemoveFromVersionId is
// unknown or lacks the label, or the label is on a version not named in
// RemoveFromVersionId; ENOTFOUND for an unknown secret or MoveToVersionId;
// ESTATE on a secret scheduled for deletion; ELIMIT beyond 20 labels;
// EVALIDATION; EDENIED; EINTERNAL.
func (s *Service) UpdateSecretVersionStage(ctx context.Context, in rotor.UpdateSecretVersionStageInput) (*rotor.SecretRef, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	if err := validateStage(in.VersionStage, "versionStage"); err != nil {
		return nil, err
	}
	if in.MoveToVersionID == "" && in.RemoveFromVersionID == "" {
		return nil, rotor.Errorf(rotor.EINVALID, msgNoMoveOrRemove)
	}
	var out *rotor.SecretRef
	err = s.mutateWith(ctx, c, rotor.AccessRequest{Action: actionUpdateSecretVersionStage, VersionStage: in.VersionStage},
		in.SecretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
			if !rec.DeletedDate.IsZero() {
				return errMarkedForDeletion()
			}
			vs, err := tx.Versions(rec.ARN)
			if err != nil {
				return internal("versions", err)
			}
			before := labelsOf(vs)
			after, err := moveStage(before, vs, in)
			if err != nil {
				return err
			}
			if err := applyLabels(tx, rec.ARN, before, after, s.now()); err != nil {
				return err
			}
			if err := storeChanged(tx, rec, s.now()); err != nil {
				return err
			}
			out = &rotor.SecretRef{ARN: rec.ARN, Name: rec.Name}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// moveStage computes the labels after UpdateSecretVersionStage (pure).
func moveStage(before labels, vs []*rotor.VersionRecord, in rotor.UpdateSecretVersionStageInput) (labels, error) {
	stage, move, remove := in.VersionStage, in.MoveToVersionID, in.RemoveFromVersionID
	holder, held := before[stage]
	if remove != "" {
		if findVersion(vs, remove) == nil {
			return nil, rotor.Errorf(rotor.EINVALID, "Not a valid version: %s", remove)
		}
		if !held || holder != remove {
			return nil, rotor.Errorf(rotor.EINVALID, "Version stage %s not found in version %s", stage, remove)
		}
	}
	if move != "" {
		if findVersion(vs, move) == nil {
			return nil, errVersionNotFound(move)
		}
		if held && holder != move && remove == "" {
			return nil, rotor.Errorf(rotor.EINVALID,
				"The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.",
				stage, holder)
		}
	}
	after := before.clone()
	switch {
	case move == "":
		delete(after, stage)
	case stage == rotor.StageCurrent:
		after.moveCurrent(move)
	default:
		after[stage] = move
	}
	if err := checkStageLimit(after); err != nil {
		return nil, err
	}
	return after, nil
}
