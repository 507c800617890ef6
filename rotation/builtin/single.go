package builtin

import (
	"context"

	"github.com/rotorhq/rotor"
)

// SingleUser is the single-user strategy (AWS's ...SingleUser templates):
// the secret's own user changes its own password, so it needs no
// administrator. Between setSecret and finishSecret the target already
// wants the new password while AWSCURRENT still holds the old one: clients
// must retry a failed login after re-reading the secret.
//
// The secret is a JSON object with "engine" (one of Engine.Engines),
// "host", "username" and "password", and optionally "port", "dbname",
// "ssl" and the "rotor:" keys; every other key is kept as is.
type SingleUser struct {
	Engine Engine
}

var (
	_ Strategy   = SingleUser{}
	_ MasterUser = SingleUser{}
)

// NeedsMaster implements MasterUser: the user acts alone, whatever
// "masterarn" says.
func (SingleUser) NeedsMaster() bool { return false }

// Generate returns the current JSON with a new password. It returns
// EINVALID when the current value is not a secret of this engine.
func (s SingleUser) Generate(ctx context.Context, current string, password func(context.Context) (string, error)) (string, error) {
	return generate(ctx, s.Engine, current, password, nil)
}

// Set logs in with AWSCURRENT and changes the user's own password to
// AWSPENDING's. Only if the target refuses AWSCURRENT (IsLoginRefused)
// does it try AWSPENDING (a retried run whose password change already
// happened: nothing to do), and only if it refuses that too, AWSPREVIOUS
// (a run that changed the password but never finished). In the usual run
// that is one login, where trying AWSPENDING first (AWS's templates) costs
// a refused login before it. Any other failure to log in (the target
// unreachable, a TLS failure, a missing database) is returned at once:
// another password cannot fix it, and trying one would hide it.
//
// It refuses (EPRECONDITION) when AWSPENDING names another user, host or
// port than AWSCURRENT, and when it cannot log in; EINVALID when a value
// is not a secret of this engine; EINTERNAL when the target fails.
func (s SingleUser) Set(ctx context.Context, v Values) error {
	e := s.Engine
	r := newRedactor(v)
	current, pending, err := parseSameUser(e, v)
	if err != nil {
		return err
	}
	if p, ok := e.Driver.(Prehasher); ok {
		p.Prehash(pending.Password) // alongside the login
	}
	cannot := func(stage string, err error) error {
		return r.fail(rotor.EPRECONDITION, err, "unable to log in to %s at %s as %q with the %s secret of %s",
			e.Name, current.where(), current.Username, stage, v.SecretARN)
	}
	sess, curErr := login(ctx, e, current)
	if curErr != nil {
		if !IsLoginRefused(curErr) {
			return cannot(rotor.StageCurrent, curErr)
		}
		pendErr := tryLogin(ctx, e, pending)
		if pendErr == nil {
			return nil
		}
		if !IsLoginRefused(pendErr) {
			return cannot(rotor.StagePending, pendErr)
		}
		if v.Previous != "" {
			prev, err := parseSecret(e, rotor.StagePrevious, v.Previous)
			if err == nil && sameTarget(prev, pending) == nil && prev.Username == pending.Username {
				// AWS's templates use AWSCURRENT's TLS settings here too.
				prev.SSLMode, prev.CA = current.SSLMode, current.CA
				var prevErr error
				if sess, prevErr = login(ctx, e, prev); prevErr != nil && !IsLoginRefused(prevErr) {
					return cannot(rotor.StagePrevious, prevErr)
				}
			}
		}
	}
	if sess == nil {
		return r.fail(rotor.EPRECONDITION, curErr, "unable to log in to %s at %s as %q with the AWSCURRENT, AWSPENDING or AWSPREVIOUS secret of %s; with AWSCURRENT",
			e.Name, current.where(), current.Username, v.SecretARN)
	}
	defer sess.Close()
	if err := sess.ChangeOwnPassword(ctx, pending.Password); err != nil {
		return r.fail(rotor.EINTERNAL, err, "change the password of %q on %s at %s", pending.Username, e.Name, pending.where())
	}
	return nil
}

// Test logs in with AWSPENDING, runs a query and checks the server says
// the session belongs to the secret's user. EINTERNAL when it does not.
func (s SingleUser) Test(ctx context.Context, v Values) error {
	return testPending(ctx, s.Engine, v)
}
