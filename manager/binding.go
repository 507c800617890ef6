package manager

import (
	"context"

	"github.com/rotorhq/rotor"
)

// The master secret a rotation is bound to.
//
// A rotation function's credentials may read one secret besides the one it
// rotates: the master secret (an administrator's credentials) that the
// secret's "masterarn" names. Which secret that is must be decided by the
// service, never by data the function can write — a function can write its
// own AWSPENDING value, and AWSCURRENT after finishSecret. So RotateSecret
// binds the master named by the AWSCURRENT value at that moment, after
// checking that the caller may read it, and stores the binding with the
// rotation configuration (RotationConfig.MasterARN). Nothing else changes
// it: not PutSecretValue, UpdateSecret or a rotation function, not the
// scheduler, not CancelRotateSecret. A run whose AWSCURRENT value names
// another master than the bound one fails at once (BoundMaster) until a
// caller allowed to read the new master calls RotateSecret again.

// msgNoMaster stands for "no master secret" in the binding messages.
const msgNoMaster = "(none)"

// currentMaster returns the "masterarn" of the value of version cur of
// rec ("" when cur is nil, holds no value or a SecretBinary, is not a JSON
// object or has no string "masterarn") and the secret it names in rec's
// region (nil when it names none, or no existing secret).
//
// Errors: EDECRYPT; EINTERNAL.
func (s *Service) currentMaster(tx rotor.Tx, rec *rotor.SecretRecord, cur *rotor.VersionRecord) (string, *rotor.SecretRecord, error) {
	if cur == nil || cur.Binary {
		return "", nil, nil // AWS's database-secret JSON is a SecretString
	}
	value, err := s.plaintext(rec.ARN, cur)
	if err != nil {
		return "", nil, err
	}
	id := masterARNOf(value)
	if id == "" {
		return "", nil, nil
	}
	master, err := s.resolve(tx, rec.Region, id)
	if isCode(err, rotor.ENOTFOUND) {
		return id, nil, nil
	} else if err != nil {
		return "", nil, err
	}
	return id, master, nil
}

// bindMaster returns the full ARN of the master secret that the AWSCURRENT
// version cur of rec names ("" for none), for RotateSecret to store as the
// rotation's binding. authorize is asked whether the caller may
// "secretsmanager:GetSecretValue" that secret; its error is returned
// unchanged.
//
// Errors: EDENIED; ESTATE when "masterarn" names no secret of the region
// (after the caller was authorized on the ARN it names, as a read of a
// missing secret is); EDECRYPT; EINTERNAL.
func (s *Service) bindMaster(tx rotor.Tx, rec *rotor.SecretRecord, cur *rotor.VersionRecord, authorize func(arn string, master *rotor.SecretRecord) error) (string, error) {
	id, master, err := s.currentMaster(tx, rec, cur)
	switch {
	case err != nil:
		return "", err
	case id == "":
		return "", nil
	case master == nil:
		if err := authorize(s.requestedARN(rec.Region, id), nil); err != nil {
			return "", err
		}
		return "", rotor.Errorf(rotor.ESTATE, "The AWSCURRENT value of this secret names the master secret %s in \"masterarn\", "+
			"but no such secret exists in %s. Store a value whose \"masterarn\" names an existing secret, then call RotateSecret again.",
			id, rec.Region)
	}
	if err := authorize(master.ARN, master); err != nil {
		return "", err
	}
	return master.ARN, nil
}

// BoundMaster returns the full ARN of the master secret the rotation of
// run's secret is bound to ("" for none), after checking that the secret's
// AWSCURRENT value still names it: its "masterarn" (a name, a partial or a
// full ARN of the run's region; none when absent or not a string) must
// resolve to the bound secret. The engine scopes the run's credentials to
// the result and nothing else; a value a function wrote never widens them.
//
// Errors: EPRECONDITION "rotation is bound to master X; the secret now
// names Y; call RotateSecret again to rebind" (X the bound ARN, Y the
// "masterarn" as written, "(none)" for either when empty) when the value
// names another master, none, or one that does not exist — retrying cannot
// help; ENOTFOUND when the secret is gone; EDECRYPT; EINTERNAL.
func (s *Service) BoundMaster(ctx context.Context, run rotor.RunRecord) (string, error) {
	if s.store == nil || s.keyring == nil {
		return "", internal("bound master", errStoreMissing)
	}
	var bound string
	var fnErr error
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		bound, fnErr = s.boundMasterTx(tx, run)
		return fnErr
	})
	switch {
	case fnErr != nil:
		return "", fnErr
	case err != nil:
		return "", internal("bound master", err)
	}
	return bound, nil
}

func (s *Service) boundMasterTx(tx rotor.Tx, run rotor.RunRecord) (string, error) {
	rec, err := tx.Secret(run.SecretARN)
	if isCode(err, rotor.ENOTFOUND) {
		return "", errNotFound()
	} else if err != nil {
		return "", internal("secret", err)
	}
	vs, err := tx.Versions(rec.ARN)
	if err != nil {
		return "", internal("versions", err)
	}
	id, master, err := s.currentMaster(tx, rec, findVersion(vs, labelsOf(vs)[rotor.StageCurrent]))
	if err != nil {
		return "", err
	}
	bound := rec.Rotation.MasterARN
	named := ""
	if master != nil {
		named = master.ARN
	}
	if named == bound && (id == "") == (bound == "") {
		return bound, nil
	}
	return "", rotor.Errorf(rotor.EPRECONDITION, "rotation is bound to master %s; the secret now names %s; call RotateSecret again to rebind",
		orNone(bound), orNone(id))
}

// orNone returns s, or msgNoMaster when s is empty.
func orNone(s string) string {
	if s == "" {
		return msgNoMaster
	}
	return s
}
