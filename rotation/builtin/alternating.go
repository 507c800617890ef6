package builtin

import (
	"context"
	"strings"

	"github.com/rotorhq/rotor"
)

// AlternatingUsers is the alternating-users strategy (AWS's ...MultiUser
// templates): one secret, two users "name" and "name_clone" with the same
// privileges. Each rotation sets a new password on the user that is not in
// AWSCURRENT and points AWSCURRENT at it, so clients holding the previous
// version keep working until the rotation after next. An administrator
// whose credentials are in the secret named by "masterarn" does the work;
// it must be allowed to create users, set their passwords and grant them
// the original's privileges.
//
// The "_clone" user is created on its first rotation with the original's
// privileges, and its privileges are re-synced from the original on every
// rotation, so grants added to the original later reach it. Privileges
// are only ever added to the clone, never taken away (it may be in use);
// see the driver for what exactly is copied.
type AlternatingUsers struct {
	Engine Engine
}

var _ Strategy = AlternatingUsers{}

// Generate returns the current JSON with the alternate user name (the
// "_clone" suffix added or removed) and a new password. It returns
// EINVALID when the current value is not a secret of this engine, has no
// "masterarn", or when the alternate name would be longer than the engine
// allows.
func (a AlternatingUsers) Generate(ctx context.Context, current string, password func(context.Context) (string, error)) (string, error) {
	e := a.Engine
	return generate(ctx, e, current, password, func(cur *dbSecret) (string, error) {
		if cur.MasterARN == "" {
			return "", missingMaster(rotor.StageCurrent)
		}
		alt := altUsername(cur.Username)
		if err := checkUsernameLength(e, alt, e.MaxUsernameLength); err != nil {
			return "", err
		}
		return alt, nil
	})
}

func missingMaster(label string) error {
	return invalidf("%s secret: %q key is missing from secret JSON: the alternating-users strategy needs the ARN of a secret holding administrator credentials", label, KeyMasterARN)
}

func checkUsernameLength(e Engine, name string, max int) error {
	if n := e.usernameLength(name); max > 0 && n > max {
		return invalidf("user name %q is %d long but %s allows at most %d: shorten the secret's %q so that its %q alternate fits",
			name, n, e.Name, max, KeyUsername, cloneSuffix)
	}
	return nil
}

// Set makes the AWSPENDING user log in with its new password, logged in as
// the administrator from the master secret.
//
// It refuses (EPRECONDITION) when AWSPENDING names a user other than the
// AWSCURRENT user or its alternate, or another host or port; when neither
// the AWSCURRENT nor the AWSPENDING credentials log in (AWSCURRENT proves
// the secret really is for this server; it is tried only when the target
// refuses AWSPENDING: IsLoginRefused), and when AWSPENDING fails to log in
// for another reason (the target unreachable); when the master secret is for
// another server or its credentials do not log in. It returns EINVALID for
// malformed values, a missing "masterarn" or a user name too long for the
// server, and EINTERNAL when the target fails. Every step is idempotent: a
// retried run finishes what a failed one began.
func (a AlternatingUsers) Set(ctx context.Context, v Values) error {
	e := a.Engine
	r := newRedactor(v)
	current, pending, err := parsePair(e, v)
	if err != nil {
		return err
	}
	if pending.MasterARN == "" {
		return missingMaster(rotor.StagePending)
	}
	if err := sameTarget(current, pending); err != nil {
		return err
	}
	if pending.Username != current.Username && pending.Username != altUsername(current.Username) {
		return rotor.Errorf(rotor.EPRECONDITION, "refusing to rotate: the AWSPENDING user %q is neither the AWSCURRENT user %q nor its alternate %q",
			pending.Username, current.Username, altUsername(current.Username))
	}
	pendErr := tryLogin(ctx, e, pending)
	if pendErr != nil && !IsLoginRefused(pendErr) { // the target fails: AWSCURRENT cannot fix it
		return r.fail(rotor.EPRECONDITION, pendErr, "unable to log in to %s at %s as %q with the AWSPENDING secret of %s",
			e.Name, pending.where(), pending.Username, v.SecretARN)
	}
	pendingOK := pendErr == nil
	if !pendingOK {
		if err := tryLogin(ctx, e, current); err != nil {
			return r.fail(rotor.EPRECONDITION, err, "unable to log in to %s at %s as %q with the AWSCURRENT secret of %s",
				e.Name, current.where(), current.Username, v.SecretARN)
		}
	}
	sess, master, err := loginMaster(ctx, e, r, v, current, pending)
	if err != nil {
		return err
	}
	defer sess.Close()
	adm, ok := sess.(Admin)
	if !ok {
		return rotor.Errorf(rotor.EUNSUPPORTED, "%s does not support the alternating-users strategy", e.Name)
	}
	max, err := adm.MaxUsernameLength(ctx)
	if err != nil {
		return r.fail(rotor.EINTERNAL, err, "read the longest user name %s at %s accepts", e.Name, master.where())
	}
	if err := checkUsernameLength(e, pending.Username, max); err != nil {
		return err
	}

	original, _ := strings.CutSuffix(pending.Username, cloneSuffix)
	if original == "" {
		original = pending.Username
	}
	clone := original + cloneSuffix
	switch {
	case pending.Username == current.Username:
		// Not alternating this time (the secret was edited): just the password.
		if !pendingOK {
			err = adm.SetPassword(ctx, pending.Username, pending.Password)
		}
	case pending.Username == clone:
		err = adm.CloneUser(ctx, original, clone, pending.Password)
	default: // pending is the original; the clone is in use
		if err = adm.SyncPrivileges(ctx, original, clone); err == nil && !pendingOK {
			err = adm.SetPassword(ctx, original, pending.Password)
		}
	}
	if err != nil {
		return r.fail(rotor.EINTERNAL, err, "set up user %q on %s at %s", pending.Username, e.Name, pending.where())
	}
	return nil
}

// Test logs in with AWSPENDING, runs a query and checks the server says
// the session belongs to the AWSPENDING user. EINTERNAL when it does not.
func (a AlternatingUsers) Test(ctx context.Context, v Values) error {
	return testPending(ctx, a.Engine, v)
}
