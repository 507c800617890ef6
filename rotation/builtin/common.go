package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rotorhq/rotor"
)

// redactor removes known passwords from error texts. The engine scrubs
// what it records too, but a strategy never relies on that.
type redactor struct{ secrets []string }

// newRedactor collects the passwords of every value of v (and the values
// themselves), longest first so that a password containing another is
// replaced whole.
func newRedactor(v Values) *redactor {
	r := &redactor{}
	for _, s := range []string{v.Current, v.Pending, v.Previous, v.Master} {
		if s == "" {
			continue
		}
		r.secrets = append(r.secrets, s)
		var doc map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &doc) != nil {
			continue
		}
		var pw string
		if json.Unmarshal(doc[KeyPassword], &pw) == nil && pw != "" {
			r.secrets = append(r.secrets, pw)
			if b, err := json.Marshal(pw); err == nil { // as it appears inside JSON text
				r.secrets = append(r.secrets, strings.Trim(string(b), `"`))
			}
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// scrub returns s without any known secret.
func (r *redactor) scrub(s string) string {
	for _, x := range r.secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// fail returns an *rotor.Error with code whose message is the formatted
// text followed by cause's text, scrubbed. The cause itself is not kept:
// its text may hold what was scrubbed.
func (r *redactor) fail(code string, cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		var re *rotor.Error
		if errors.As(cause, &re) && re.Err == nil {
			msg += ": " + re.Message
		} else {
			msg += ": " + cause.Error()
		}
	}
	return &rotor.Error{Code: code, Message: r.scrub(msg)}
}

// login connects to d's target with d's credentials, trying each TLS
// configuration d allows in turn, and checks that the server says the
// session belongs to d.Username. The caller closes the session. The error
// is a refused login (IsLoginRefused) when the driver said an attempt was
// refused.
func login(ctx context.Context, e Engine, d *dbSecret) (Session, error) {
	var errs []string
	refused := false
	attempts := d.tlsAttempts()
	for _, t := range attempts {
		s, err := e.Driver.Connect(ctx, d.conn(t))
		if err == nil {
			var who string
			who, err = s.WhoAmI(ctx)
			if err == nil && who != d.Username {
				err = fmt.Errorf("the server says this session belongs to user %q, not %q", who, d.Username)
			}
			if err == nil {
				return s, nil
			}
			s.Close()
		}
		refused = refused || IsLoginRefused(err)
		if len(attempts) > 1 {
			kind := "plaintext"
			if t != nil {
				kind = "TLS"
			}
			err = fmt.Errorf("%s: %w", kind, err)
		}
		errs = append(errs, err.Error())
		if ctx.Err() != nil {
			break
		}
	}
	err := errors.New(strings.Join(errs, "; "))
	if refused {
		return nil, Refused(err)
	}
	return nil, err
}

// tryLogin logs in with d and reports whether it worked, closing the
// session; the error says why not.
func tryLogin(ctx context.Context, e Engine, d *dbSecret) error {
	s, err := login(ctx, e, d)
	if err != nil {
		return err
	}
	return s.Close()
}

// sameTarget refuses to act when pending names another server than
// current: the guard against a confused deputy that would change the
// password of whatever a tampered AWSPENDING names.
func sameTarget(current, pending *dbSecret) error {
	if !strings.EqualFold(current.Host, pending.Host) || current.Port != pending.Port {
		return rotor.Errorf(rotor.EPRECONDITION, "refusing to rotate: the AWSPENDING secret is for %s but the AWSCURRENT secret is for %s",
			pending.where(), current.where())
	}
	return nil
}

// generate parses current and returns it with username and a new password.
func generate(ctx context.Context, e Engine, current string, password func(context.Context) (string, error), username func(*dbSecret) (string, error)) (string, error) {
	cur, err := parseSecret(e, rotor.StageCurrent, current)
	if err != nil {
		return "", err
	}
	user := cur.Username
	if username != nil {
		if user, err = username(cur); err != nil {
			return "", err
		}
	}
	pw, err := password(ctx)
	if err != nil {
		return "", &rotor.Error{Code: rotor.ErrorCode(err), Message: "generate password: " + rotor.ErrorMessage(err)}
	}
	return cur.with(user, pw)
}

// parsePair parses the AWSCURRENT and AWSPENDING values of v.
func parsePair(e Engine, v Values) (current, pending *dbSecret, err error) {
	if current, err = parseSecret(e, rotor.StageCurrent, v.Current); err != nil {
		return nil, nil, err
	}
	if pending, err = parseSecret(e, rotor.StagePending, v.Pending); err != nil {
		return nil, nil, err
	}
	return current, pending, nil
}

// parseSameUser parses the AWSCURRENT and AWSPENDING values of v and
// refuses (EPRECONDITION) an AWSPENDING value for another server or user
// than AWSCURRENT: the strategies that rotate one user's password.
func parseSameUser(e Engine, v Values) (current, pending *dbSecret, err error) {
	if current, pending, err = parsePair(e, v); err != nil {
		return nil, nil, err
	}
	if err := sameTarget(current, pending); err != nil {
		return nil, nil, err
	}
	if current.Username != pending.Username {
		return nil, nil, rotor.Errorf(rotor.EPRECONDITION, "refusing to rotate: the AWSPENDING secret is for user %q but the AWSCURRENT secret is for user %q",
			pending.Username, current.Username)
	}
	return current, pending, nil
}

// loginMaster logs in as the administrator of the master secret that
// pending names ("masterarn"), whose AWSCURRENT value is v.Master, and
// returns the session (the caller closes it) and the parsed master
// secret. It refuses (EPRECONDITION) when v.Master is empty or its
// credentials do not log in; parseMaster's errors (the master secret must
// be for current's server) are returned unchanged.
func loginMaster(ctx context.Context, e Engine, r *redactor, v Values, current, pending *dbSecret) (Session, *dbSecret, error) {
	if v.Master == "" {
		return nil, nil, rotor.Errorf(rotor.EPRECONDITION, "the master secret %s has no AWSCURRENT value", pending.MasterARN)
	}
	master, err := parseMaster(e, v.Master, current)
	if err != nil {
		return nil, nil, err
	}
	sess, err := login(ctx, e, master)
	if err != nil {
		return nil, nil, r.fail(rotor.EPRECONDITION, err, "unable to log in to %s at %s as administrator %q from the master secret %s",
			e.Name, master.where(), master.Username, pending.MasterARN)
	}
	return sess, master, nil
}

// testPending is every strategy's testSecret: log in with AWSPENDING, run
// a query and check who the server says we are.
func testPending(ctx context.Context, e Engine, v Values) error {
	r := newRedactor(v)
	pending, err := parseSecret(e, rotor.StagePending, v.Pending)
	if err != nil {
		return err
	}
	if err := tryLogin(ctx, e, pending); err != nil {
		return r.fail(rotor.EINTERNAL, err, "unable to log in to %s at %s as %q with the AWSPENDING secret of %s",
			e.Name, pending.where(), pending.Username, v.SecretARN)
	}
	return nil
}
