package builtin

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
)

// DefaultTimeout bounds dialling and logging in to a target when Conn.Timeout
// is zero: 5 seconds, as AWS's rotation templates use.
const DefaultTimeout = 5 * time.Second

// Conn says where a driver connects and as whom.
type Conn struct {
	Host     string
	Port     int
	Username string
	Password string
	// Database is the database to open; "" means the driver's default.
	Database string
	// TLS is the client TLS configuration; nil means plaintext. The
	// strategies build it from the secret's "ssl" and "rotor:sslmode" keys.
	TLS *tls.Config
	// Timeout bounds dialling and logging in; 0 means DefaultTimeout.
	Timeout time.Duration
}

// ConnectTimeout returns c.Timeout, or DefaultTimeout when c.Timeout is
// zero (or negative): the bound on dialling and logging in.
func (c Conn) ConnectTimeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Addr returns c.Host and c.Port as a dial address, "host:port" (an IPv6
// host in brackets).
func (c Conn) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// Driver opens sessions on one kind of target (a PostgreSQL server, a MySQL
// or MariaDB server, a Redis server). A driver is stateless and safe for
// concurrent use.
//
// Drivers return plain errors; the strategies wrap them in *rotor.Error and
// remove every password they know of from the text. Drivers must still
// never put a password into an error themselves.
type Driver interface {
	// Connect dials c.Host:c.Port and authenticates as c.Username with
	// c.Password, within c.Timeout. It fails when the target is
	// unreachable or refuses the credentials; an error for refused
	// credentials wraps ErrLoginRefused (see Refused), and no other error
	// does.
	Connect(ctx context.Context, c Conn) (Session, error)
}

// ErrLoginRefused is the error a Driver's Connect wraps (see Refused) when
// the target answered and refused the credentials: a wrong password, an
// unknown user, an account the server will not let in. Strategies that try
// several passwords in turn move to the next one only on such an error;
// anything else (the target unreachable, a TLS failure, a missing
// database, too many connections) is returned at once, since another
// password cannot fix it.
var ErrLoginRefused = errors.New("login refused")

// Refused marks err as a refused login: the returned error's text is
// err's, it unwraps to err, and errors.Is(it, ErrLoginRefused) holds.
// Refused(nil) is nil.
func Refused(err error) error {
	if err == nil {
		return nil
	}
	return refusedError{err}
}

// IsLoginRefused reports whether err is, or wraps, a refused login.
func IsLoginRefused(err error) bool { return errors.Is(err, ErrLoginRefused) }

// refusedError is an error marked by Refused.
type refusedError struct{ err error }

func (e refusedError) Error() string        { return e.err.Error() }
func (e refusedError) Unwrap() error        { return e.err }
func (e refusedError) Is(target error) bool { return target == ErrLoginRefused }

// Prehasher is an optional Driver capability: Prehash starts deriving what
// the target will store for password (PostgreSQL's SCRAM verifier) in the
// background, so a password change that follows a login need not wait for
// it after the login. Strategies call it before they log in.
type Prehasher interface {
	Prehash(password string)
}

// Session is one authenticated connection to a target. It is used by one
// goroutine at a time.
type Session interface {
	// WhoAmI runs a trivial query and returns the user name the server says
	// this session is authenticated as (PostgreSQL current_user, MySQL the
	// user part of CURRENT_USER(), Redis ACL WHOAMI). Strategies compare it
	// with the secret's username so that a login that "works" as somebody
	// else (an anonymous account, a proxy) is never taken for success.
	WhoAmI(ctx context.Context) (string, error)
	// ChangeOwnPassword sets the password of the session's own user, which
	// needs no administrative privilege on PostgreSQL, MySQL and MariaDB
	// (Redis needs the ACL SETUSER permission). Sessions already open keep
	// working.
	ChangeOwnPassword(ctx context.Context, password string) error
	// Close ends the session.
	Close() error
}

// Admin is the capability of a session logged in as an administrator,
// which the alternating-users strategy needs. A Session implements it when
// its target has users that can be cloned.
type Admin interface {
	// MaxUsernameLength returns the longest user name the server accepts,
	// counted as Engine.UsernameLength counts.
	MaxUsernameLength(ctx context.Context) (int, error)
	// SetPassword sets the password of the existing user. It fails if the
	// user does not exist.
	SetPassword(ctx context.Context, user, password string) error
	// CloneUser makes clone a user that logs in with password and holds
	// every privilege original holds: it creates clone when it does not
	// exist (copying what the target lets it copy, such as TLS
	// requirements) and otherwise sets its password and re-syncs its
	// privileges. It is idempotent, so a rotation retried after a failure
	// half-way finishes the work. It fails if original does not exist.
	CloneUser(ctx context.Context, original, clone, password string) error
	// SyncPrivileges gives the existing user clone every privilege original
	// holds now, without taking any away (clone may be in use), so grants
	// added to original after the clone was made reach it.
	SyncPrivileges(ctx context.Context, original, clone string) error
}

// MultiPassword is the capability of a session on a target whose users may
// hold several passwords at once (Redis ACL users), which the
// multiple-credentials strategy needs.
type MultiPassword interface {
	// SetPasswords makes user enabled with exactly the passwords keep plus
	// add, removing every other password, in one atomic change, and makes
	// the change durable where the target has a place for it (Redis: ACL
	// SAVE when an ACL file is configured).
	SetPasswords(ctx context.Context, user string, keep []string, add string) error
}

// Engine describes one kind of target to the strategies: which secrets it
// serves, its defaults and limits, and the driver that reaches it.
type Engine struct {
	// Name is the target's name in messages, e.g. "PostgreSQL".
	Name string
	// Engines lists the values of the secret's "engine" key this engine
	// accepts; the first is the one named in error messages.
	Engines []string
	// DefaultPort is used when the secret has no "port".
	DefaultPort int
	// DefaultDatabase is used when the secret has no "dbname".
	DefaultDatabase string
	// MaxUsernameLength bounds user names (as UsernameLength counts them)
	// when createSecret derives the "_clone" name without connecting; Admin
	// sessions report the server's own limit in setSecret.
	MaxUsernameLength int
	// UsernameLength counts a user name's length as the target does; nil
	// counts Unicode characters.
	UsernameLength func(string) int
	// DefaultSSLMode is the TLS mode (SSLDisable, SSLPrefer, SSLRequire or
	// SSLVerifyFull) of a secret without "ssl" or "rotor:sslmode"; ""
	// means SSLPrefer, as AWS's templates do. Targets where a TLS attempt
	// against a plaintext server hangs instead of failing (Redis) use
	// SSLDisable.
	DefaultSSLMode string
	// Password is the GetRandomPassword request createSecret uses unless
	// the secret overrides it (see PasswordSpecFor).
	Password rotor.PasswordSpec
	// Driver connects to the target.
	Driver Driver
}

// usernameLength counts name as the engine does.
func (e Engine) usernameLength(name string) int {
	if e.UsernameLength != nil {
		return e.UsernameLength(name)
	}
	return utf8.RuneCountInString(name)
}
