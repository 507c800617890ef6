package manager

import (
	"context"

	"github.com/rotorhq/rotor"
)

// findVersion returns the version with id in vs, or nil.
func findVersion(vs []*rotor.VersionRecord, id string) *rotor.VersionRecord {
	for _, v := range vs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// PutSecretValue stores a new version of the secret with id
// in.ClientRequestToken, labelled in.Stages (nil: AWSCURRENT; the first
// version of a secret always gets AWSCURRENT too). Labels move off other
// versions; AWSPREVIOUS follows AWSCURRENT; a new version that takes
// AWSCURRENT removes AWSPENDING from every other version and abandons the
// secret's active rotation run (Config.OnRunStopped is called after the
// commit), and with AutomaticallyAfterDays rules NextRotationDate counts
// from now (AWS counts a manual change as a rotation; LastRotatedDate is
// unchanged). Unlabeled versions beyond 100 are pruned, oldest first, once
// older than PruneMinAge.
//
// Idempotency (aws-api.md §2.5): if the token already names a version with
// the same value, nothing changes and the result carries that version's
// labels; if it names an empty rotation placeholder, the value is stored into
// it (exactly once) and in.Stages are applied to it. in.RotationToken is
// accepted and ignored.
//
// Errors: EVALIDATION for an empty or oversized value or bad labels;
// EINVALID for both kinds of value; ESTATE without a value or a token, or on
// a secret scheduled for deletion; EEXISTS when the token names a version
// with another value; ELIMIT beyond 20 labels or when 100 unlabeled versions
// are too young to prune; ENOTFOUND; EDENIED; EENCRYPT; EDECRYPT; EINTERNAL.
func (s *Service) PutSecretValue(ctx context.Context, in rotor.PutSecretValueInput) (*rotor.VersionResult, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.Value.IsZero() {
		return nil, rotor.Errorf(rotor.ESTATE, msgNoValue)
	}
	for _, err := range []error{validateValue(in.Value), validateToken(in.ClientRequestToken, true),
		validateStages(in.Stages)} {
		if err != nil {
			return nil, err
		}
	}
	var out *rotor.VersionResult
	seal := &sealing{s: s, id: in.ClientRequestToken, value: in.Value}
	opts := writeOpts{prepare: seal.prepare, versions: true}
	err = s.mutateStoppingOpts(ctx, c, actionPutSecretValue, in.SecretID, opts, func(tx rotor.Tx, rec *rotor.SecretRecord) (string, error) {
		if !rec.DeletedDate.IsZero() {
			return "", errMarkedForDeletion()
		}
		vs, err := tx.Versions(rec.ARN)
		if err != nil {
			return "", internal("versions", err)
		}
		before := labelsOf(vs)
		id := in.ClientRequestToken
		out = &rotor.VersionResult{ARN: rec.ARN, Name: rec.Name, VersionID: id}
		existing := findVersion(vs, id)
		if existing != nil && existing.Value != nil {
			same, err := s.sameValue(rec.ARN, existing, in.Value)
			if err != nil {
				return "", err
			}
			if !same {
				return "", errTokenInUse(id, rec.ARN)
			}
			out.Stages = before.stagesOf(id)
			return "", nil
		}
		var after labels
		if existing != nil {
			after, err = s.fillPlaceholder(tx, rec, before, id, seal, in.Stages)
		} else {
			after, err = s.addVersion(tx, rec, vs, before, id, seal, in.Stages)
		}
		if err != nil {
			return "", err
		}
		out.Stages = after.stagesOf(id)
		now := s.now()
		stopped := ""
		if existing == nil && after[rotor.StageCurrent] == id {
			// A manual new AWSCURRENT: the rotation in progress is abandoned.
			if stopped, err = s.manualCurrent(tx, rec, now); err != nil {
				return "", err
			}
		}
		return stopped, storeChanged(tx, rec, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fillPlaceholder stores value (sealed by seal) into the empty version id
// and applies stages to it. It is not a new version: nothing is pruned,
// AWSPENDING stays.
func (s *Service) fillPlaceholder(tx rotor.Tx, rec *rotor.SecretRecord, before labels, id string, value *sealing, stages []string) (labels, error) {
	after := before.clone()
	after.attach(id, stages, false, false)
	if err := checkStageLimit(after); err != nil {
		return nil, err
	}
	sealed, err := value.sealed(rec.ARN)
	if err != nil {
		return nil, err
	}
	if err := tx.FillVersion(rec.ARN, id, sealed, value.value.Binary != nil); err != nil {
		return nil, internal("fill version", err)
	}
	if err := applyLabels(tx, rec.ARN, before, after, s.now()); err != nil {
		return nil, err
	}
	return after, nil
}

// addVersion creates version id holding value (sealed by value; id is
// value.id) with stages (see
// labels.attach), then prunes unlabeled versions. vs are the secret's
// versions before, before their labels. It refuses with ELIMIT, having
// written nothing, when the label or version quota would be exceeded.
func (s *Service) addVersion(tx rotor.Tx, rec *rotor.SecretRecord, vs []*rotor.VersionRecord, before labels,
	id string, value *sealing, stages []string) (labels, error) {
	now := s.now()
	after := before.clone()
	after.attach(id, stages, len(vs) == 0, true)
	if err := checkStageLimit(after); err != nil {
		return nil, err
	}
	v := &rotor.VersionRecord{ID: id, Binary: value.value.Binary != nil, KmsKeyID: rec.KmsKeyID, CreatedDate: now}
	all := append(vs[:len(vs):len(vs)], v)
	prune, ok := pruneCandidates(all, after, id, now, s.pruneMinAge, rotor.DeprecatedVersionsKept)
	if !ok {
		return nil, rotor.Errorf(rotor.ELIMIT, msgVersionLimit)
	}
	sealed, err := value.sealed(rec.ARN)
	if err != nil {
		return nil, err
	}
	v.Value = &sealed
	if err := tx.CreateVersion(rec.ARN, v); err != nil {
		return nil, internal("create version", err)
	}
	if err := applyLabels(tx, rec.ARN, before, after, now); err != nil {
		return nil, err
	}
	if len(prune) > 0 {
		if err := tx.DeleteVersions(rec.ARN, prune); err != nil {
			return nil, internal("delete versions", err)
		}
		s.log.Info("pruned deprecated versions", "arn", rec.ARN, "count", len(prune))
	}
	return after, nil
}

// UpdateSecret changes a secret's description, KMS key id (non-nil "" or
// "alias/aws/secretsmanager" means the default key) and type, and with a
// value adds a version with id in.ClientRequestToken that becomes AWSCURRENT
// (AWSPREVIOUS follows; AWSPENDING is removed from other versions, the
// active rotation run is abandoned and NextRotationDate is recomputed, as
// for PutSecretValue). The
// result has a VersionID only when a value was given. LastChangedDate is set
// when anything changed. A repeated token with the same value creates nothing
// and returns that VersionID.
//
// Errors: EVALIDATION; EINVALID for both kinds of value; ESTATE for a value
// without token or a secret scheduled for deletion; EEXISTS when the token
// names a version with another value (or an empty placeholder); ELIMIT;
// ENOTFOUND; EDENIED; EENCRYPT; EDECRYPT; EINTERNAL.
func (s *Service) UpdateSecret(ctx context.Context, in rotor.UpdateSecretInput) (*rotor.VersionResult, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	hasValue := !in.Value.IsZero()
	var checks []error
	if hasValue {
		checks = append(checks, validateValue(in.Value))
	}
	checks = append(checks, validateToken(in.ClientRequestToken, hasValue))
	if in.Description != nil {
		checks = append(checks, validateDescription(*in.Description))
	}
	if in.KmsKeyID != nil {
		checks = append(checks, validateKmsKeyID(*in.KmsKeyID))
	}
	if in.Type != nil {
		checks = append(checks, validateType(*in.Type))
	}
	for _, err := range checks {
		if err != nil {
			return nil, err
		}
	}
	var out *rotor.VersionResult
	var seal *sealing
	var opts writeOpts
	if hasValue {
		seal = &sealing{s: s, id: in.ClientRequestToken, value: in.Value}
		opts = writeOpts{prepare: seal.prepare, versions: true}
	}
	err = s.mutateStoppingOpts(ctx, c, actionUpdateSecret, in.SecretID, opts, func(tx rotor.Tx, rec *rotor.SecretRecord) (string, error) {
		if !rec.DeletedDate.IsZero() {
			return "", errMarkedForDeletion()
		}
		out = &rotor.VersionResult{ARN: rec.ARN, Name: rec.Name}
		changed := false
		if in.Description != nil && *in.Description != rec.Description {
			rec.Description, changed = *in.Description, true
		}
		if in.KmsKeyID != nil {
			if k := normalizeKmsKeyID(*in.KmsKeyID); k != rec.KmsKeyID {
				rec.KmsKeyID, changed = k, true
			}
		}
		if in.Type != nil && *in.Type != rec.Type {
			rec.Type, changed = *in.Type, true
		}
		stopped := ""
		if hasValue {
			vs, err := tx.Versions(rec.ARN)
			if err != nil {
				return "", internal("versions", err)
			}
			id := in.ClientRequestToken
			if existing := findVersion(vs, id); existing != nil {
				same, err := s.sameValue(rec.ARN, existing, in.Value)
				if err != nil {
					return "", err
				}
				if !same {
					return "", errTokenInUse(id, rec.ARN)
				}
			} else {
				if _, err := s.addVersion(tx, rec, vs, labelsOf(vs), id, seal, nil); err != nil {
					return "", err
				}
				// A manual new AWSCURRENT: the rotation in progress is abandoned.
				if stopped, err = s.manualCurrent(tx, rec, s.now()); err != nil {
					return "", err
				}
				changed = true
			}
			out.VersionID = id
		}
		if !changed {
			return "", nil
		}
		return stopped, storeChanged(tx, rec, s.now())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sealing is the value of a write request, sealed once for the secret the
// request resolves to (its ARN is part of the sealed value's associated
// data): by prepare, before the write transaction, as soon as the secret
// is known and the caller authorized, so the single writer does not
// encrypt; by sealed, inside the transaction, if the secret differs (or
// prepare was not called). An error is kept and returned by sealed, where
// the value is needed, so a request's errors keep their order. A sealing
// belongs to one request (one goroutine).
type sealing struct {
	s     *Service
	id    string // the version id
	value rotor.Value

	arn    string // what out and err are for; "" before the first seal
	out    rotor.Sealed
	outErr error
}

// activeKeyring is a Keyring whose active key can change (envelope's:
// key rotation); sealing checks it.
type activeKeyring interface {
	ActiveID() string // the key Seal wraps data keys under now
}

// prepare seals the value for the secret found (see writeOpts.prepare).
func (p *sealing) prepare(found *rotor.SecretRecord) { p.sealFor(found.ARN) }

// sealed returns the value sealed for the secret arn, or its error
// (EENCRYPT). Called inside the write transaction, it seals again when the
// keyring's active key changed since prepare: a key rotation re-wraps
// every value under the old key in write transactions of its own, and
// one that ran between prepare and this transaction would miss a value
// sealed under the old key (which could then be retired with it).
func (p *sealing) sealed(arn string) (rotor.Sealed, error) {
	if kr, ok := p.s.keyring.(activeKeyring); ok && p.outErr == nil && p.arn != "" && p.out.KeyID != kr.ActiveID() {
		p.arn = "" // seal again, under the active key
	}
	p.sealFor(arn)
	return p.out, p.outErr
}

func (p *sealing) sealFor(arn string) {
	if p.arn == arn && arn != "" {
		return
	}
	p.arn = arn
	p.out, p.outErr = p.s.seal(arn, p.id, p.value)
}
