package builtin

import (
	"context"

	"github.com/rotorhq/rotor"
)

// MultiCredential is the multiple-credentials strategy for targets whose
// users may hold several passwords at once (Redis ACL users). setSecret
// leaves the user with exactly two passwords, AWSCURRENT's and
// AWSPENDING's, so after the rotation both the new AWSCURRENT and the
// AWSPREVIOUS passwords work, and the password a rotation removes is always
// the one no client has been given for a whole rotation period.
//
// The change is made as the administrator from the secret named by
// "masterarn" when the secret has one, and otherwise by the user itself,
// which then needs the permission to change users (Redis: the ACL SETUSER
// command, plus CONFIG GET and ACL SAVE when an ACL file is used).
type MultiCredential struct {
	Engine Engine
}

var _ Strategy = MultiCredential{}

// Generate returns the current JSON with a new password. It returns
// EINVALID when the current value is not a secret of this engine.
func (m MultiCredential) Generate(ctx context.Context, current string, password func(context.Context) (string, error)) (string, error) {
	return generate(ctx, m.Engine, current, password, nil)
}

// Set gives the user the passwords of AWSCURRENT (if it still logs in) and
// AWSPENDING and removes every other one, in one atomic change.
//
// It refuses (EPRECONDITION) when AWSPENDING names another user, host or
// port than AWSCURRENT, when neither the AWSCURRENT nor the AWSPENDING
// credentials log in (AWSPENDING is tried only when the target refuses
// AWSCURRENT: IsLoginRefused), or when the master secret is for another server or
// does not log in. EINVALID for malformed values; EUNSUPPORTED when the
// engine's users cannot hold several passwords; EINTERNAL when the target
// fails. A retried run repeats the same change.
func (m MultiCredential) Set(ctx context.Context, v Values) error {
	e := m.Engine
	r := newRedactor(v)
	current, pending, err := parseSameUser(e, v)
	if err != nil {
		return err
	}
	curSess, curErr := login(ctx, e, current)
	if curSess != nil {
		defer curSess.Close()
	}
	var pendSess Session
	if curErr != nil {
		if !IsLoginRefused(curErr) { // another password cannot fix it
			return r.fail(rotor.EPRECONDITION, curErr, "unable to log in to %s at %s as %q with the AWSCURRENT secret of %s",
				e.Name, current.where(), current.Username, v.SecretARN)
		}
		var err error
		if pendSess, err = login(ctx, e, pending); err != nil {
			return r.fail(rotor.EPRECONDITION, curErr, "unable to log in to %s at %s as %q with the AWSCURRENT or AWSPENDING secret of %s; with AWSCURRENT",
				e.Name, current.where(), current.Username, v.SecretARN)
		}
		defer pendSess.Close()
	}

	sess := curSess
	if sess == nil {
		sess = pendSess
	}
	if pending.MasterARN != "" {
		adm, _, err := loginMaster(ctx, e, r, v, current, pending)
		if err != nil {
			return err
		}
		defer adm.Close()
		sess = adm
	}
	mp, ok := sess.(MultiPassword)
	if !ok {
		return rotor.Errorf(rotor.EUNSUPPORTED, "%s users cannot hold several passwords", e.Name)
	}
	var keep []string
	if curErr == nil && current.Password != pending.Password {
		keep = []string{current.Password}
	}
	if err := mp.SetPasswords(ctx, pending.Username, keep, pending.Password); err != nil {
		return r.fail(rotor.EINTERNAL, err, "set the passwords of %q on %s at %s", pending.Username, e.Name, pending.where())
	}
	return nil
}

// Test logs in with AWSPENDING, runs a command and checks the server says
// the session belongs to the secret's user. EINTERNAL when it does not.
func (m MultiCredential) Test(ctx context.Context, v Values) error {
	return testPending(ctx, m.Engine, v)
}
