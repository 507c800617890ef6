package manager

import (
	"context"
	"slices"

	"github.com/rotorhq/rotor"
)

// CreateSecret creates a secret named in.Name in the caller's region, with
// a version labelled AWSCURRENT whose id is in.ClientRequestToken when a
// value is given (VersionID "" otherwise). The ARN gets a fresh random
// suffix, so a re-created name never reuses an ARN.
//
// Errors: EVALIDATION for an invalid name or a value, description, KMS key
// id, type or tag breaking the model's limits; EINVALID for both kinds of
// value, duplicate tag keys or more than 50 tags; ESTATE when a value comes
// without ClientRequestToken or the name belongs to a secret scheduled for
// deletion; EEXISTS when the name is taken (with AWS's token message when
// the token names a version of that secret holding another value), unless
// the request repeats the token and value of the existing secret's version,
// which returns the identical result; EENCRYPT; EDENIED (authorized against the ARN the
// secret gets, or has when it exists); EINTERNAL.
func (s *Service) CreateSecret(ctx context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	if !rotor.ValidSecretName(in.Name) {
		return nil, rotor.Errorf(rotor.EVALIDATION, rotor.InvalidNameMessage)
	}
	hasValue := !in.Value.IsZero()
	if hasValue {
		if err := validateValue(in.Value); err != nil {
			return nil, err
		}
	}
	if err := validateToken(in.ClientRequestToken, hasValue); err != nil {
		return nil, err
	}
	for _, err := range []error{validateDescription(in.Description), validateKmsKeyID(in.KmsKeyID),
		validateType(in.Type), validateTags(in.Tags)} {
		if err != nil {
			return nil, err
		}
	}

	for range mutateAttempts {
		// Authorize outside the transaction, against the ARN the request
		// will be answered with; the transaction checks it still holds.
		var arn string
		existing, err := s.locate(ctx, c.Region, in.Name)
		switch {
		case err == nil:
			arn = existing.ARN
		case isCode(err, rotor.ENOTFOUND):
			arn = rotor.SecretARN(c.Region, s.account, in.Name, newSuffix())
		default:
			return nil, err
		}
		if err := s.authorize(ctx, c, rotor.AccessRequest{Action: actionCreateSecret, Resource: arn, Secret: existing,
			Name: in.Name, RequestTags: in.Tags}); err != nil {
			return nil, err
		}

		// A new secret's value is sealed here, not by the single writer.
		seal := &sealing{s: s, id: in.ClientRequestToken, value: in.Value}
		if existing == nil && hasValue {
			seal.sealFor(arn)
		}
		var (
			out   *rotor.VersionResult
			fnErr error
		)
		err = s.store.Update(ctx, func(tx rotor.Tx) error {
			out, fnErr = s.createTx(tx, c.Region, arn, existing != nil, in, seal)
			return fnErr
		})
		s.cache.invalidate(arn, c.Region, in.Name)
		switch {
		case fnErr == errRetry:
			continue
		case fnErr != nil:
			return nil, fnErr
		case err != nil:
			return nil, internal("create secret", err)
		}
		return out, nil
	}
	return nil, internal("create secret", errRetry)
}

// createTx is CreateSecret's transaction. arn is the authorized ARN:
// the existing secret's when exists, else the one to create; seal seals
// in.Value.
//
// A name that was not found outside the transaction is not looked up
// again inside it: the insert itself fails (EEXISTS, on the unique region
// and name, or on the ARN) if the name was taken since, or the random
// suffix collided, and CreateSecret starts over, finding the secret.
func (s *Service) createTx(tx rotor.Tx, region, arn string, exists bool, in rotor.CreateSecretInput, seal *sealing) (*rotor.VersionResult, error) {
	if exists {
		rec, err := tx.SecretByName(region, in.Name)
		switch {
		case err == nil && rec.ARN == arn:
			return s.createExisting(tx, rec, in)
		case err == nil, isCode(err, rotor.ENOTFOUND):
			return nil, errRetry
		default:
			return nil, internal("secret by name", err)
		}
	}

	now := s.now()
	rec := &rotor.SecretRecord{
		ARN:             arn,
		Region:          region,
		Name:            in.Name,
		Description:     in.Description,
		KmsKeyID:        normalizeKmsKeyID(in.KmsKeyID),
		Type:            in.Type,
		Tags:            slices.Clone(in.Tags),
		TagsEverSet:     len(in.Tags) > 0,
		CreatedDate:     now,
		LastChangedDate: now,
	}
	if err := tx.CreateSecret(rec); isCode(err, rotor.EEXISTS) {
		return nil, errRetry // the name was taken since, or the random suffix collided
	} else if err != nil {
		return nil, internal("create secret", err)
	}
	out := &rotor.VersionResult{ARN: arn, Name: in.Name}
	if in.Value.IsZero() {
		return out, nil
	}
	sealed, err := seal.sealed(arn)
	if err != nil {
		return nil, err
	}
	v := &rotor.VersionRecord{ID: in.ClientRequestToken, Value: &sealed, Binary: in.Value.Binary != nil,
		KmsKeyID: rec.KmsKeyID, CreatedDate: now}
	if err := tx.CreateVersion(arn, v); err != nil {
		return nil, internal("create version", err)
	}
	if err := applyLabels(tx, arn, labels{}, labels{rotor.StageCurrent: v.ID}, now); err != nil {
		return nil, err
	}
	out.VersionID = v.ID
	return out, nil
}

// createExisting answers CreateSecret for a name that is taken (§2.5).
func (s *Service) createExisting(tx rotor.Tx, rec *rotor.SecretRecord, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
	if !rec.DeletedDate.IsZero() {
		return nil, rotor.Errorf(rotor.ESTATE, msgScheduledName)
	}
	exists := rotor.Errorf(rotor.EEXISTS, "The operation failed because the secret %s already exists.", in.Name)
	if in.ClientRequestToken == "" || in.Value.IsZero() {
		return nil, exists
	}
	v, err := tx.Version(rec.ARN, in.ClientRequestToken)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, exists
	} else if err != nil {
		return nil, internal("version", err)
	}
	same, err := s.sameValue(rec.ARN, v, in.Value)
	if err != nil {
		return nil, err
	}
	if !same {
		return nil, errTokenInUse(in.ClientRequestToken, rec.ARN)
	}
	return &rotor.VersionResult{ARN: rec.ARN, Name: rec.Name, VersionID: v.ID}, nil
}
