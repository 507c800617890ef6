package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
)

// MaxUsernameLength is PostgreSQL's default limit on identifiers, in bytes
// (NAMEDATALEN-1); longer names are silently truncated by the server,
// which is why the driver refuses them.
const MaxUsernameLength = 63

// Engine returns the PostgreSQL engine: engines "postgres" and
// "aurora-postgresql", port 5432, database "postgres", user names of up
// to 63 bytes, and 32-character passwords without :/@"'\ as AWS's
// templates generate.
func Engine() builtin.Engine {
	return builtin.Engine{
		Name:              "PostgreSQL",
		Engines:           []string{"postgres", "aurora-postgresql"},
		DefaultPort:       5432,
		DefaultDatabase:   "postgres",
		MaxUsernameLength: MaxUsernameLength,
		UsernameLength:    func(s string) int { return len(s) },
		Password:          rotor.PasswordSpec{Length: 32, ExcludeCharacters: `:/@"'\`, RequireEachIncludedType: true},
		Driver:            Driver{},
	}
}

// Driver connects to PostgreSQL. Its sessions implement builtin.Session
// and builtin.Admin.
type Driver struct{}

var _ builtin.Driver = Driver{}

// Connect opens one connection as c.Username to c.Database (default
// "postgres"), over TLS when c.TLS is set (the server must accept it: no
// fallback). An error for credentials the server refuses wraps
// builtin.ErrLoginRefused. Environment variables such as PGHOST or PGSSLMODE do not
// apply.
func (Driver) Connect(ctx context.Context, c builtin.Conn) (builtin.Session, error) {
	timeout := c.ConnectTimeout()
	// Everything that matters is set below; the DSN only keeps the
	// environment (PGSSLMODE, PGTARGETSESSIONATTRS, ...) out.
	cfg, err := pgx.ParseConfig("sslmode=disable sslnegotiation=postgres target_session_attrs=any")
	if err != nil {
		return nil, fmt.Errorf("configure connection: %w", err)
	}
	db := c.Database
	if db == "" {
		db = "postgres"
	}
	if c.Port < 1 || c.Port > 65535 {
		return nil, fmt.Errorf("invalid port %d", c.Port)
	}
	cfg.Host = c.Host
	cfg.Port = uint16(c.Port)
	cfg.User = c.Username
	cfg.Password = c.Password
	cfg.Database = db
	cfg.TLSConfig = c.TLS
	cfg.Fallbacks = nil
	cfg.ConnectTimeout = timeout
	cfg.RuntimeParams = map[string]string{"application_name": "rotor-rotation"}
	cfg.ValidateConnect = nil
	cfg.AfterConnect = nil
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec // no server-side statement cache to go stale

	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		err = fmt.Errorf("connect: %w", unwrapConnect(err))
		if refused(err) {
			return nil, builtin.Refused(err)
		}
		return nil, err
	}
	return &session{conn: conn}, nil
}

// refused reports whether err is the server refusing the login: SQLSTATE
// 28P01 (invalid_password, also a user that does not exist), 28000
// (invalid_authorization_specification: no pg_hba.conf entry lets this
// user in, or the role may not log in) or 42501 (insufficient_privilege:
// no CONNECT privilege on the database). A missing database (3D000), too
// many connections (53300) or a network or TLS failure is not.
func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000" || pe.Code == "42501")
}

// unwrapConnect drops pgx's "failed to connect to `user=... database=...`"
// prefix, which repeats what the caller says.
func unwrapConnect(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap()
	}
	return err
}

type session struct {
	conn *pgx.Conn
	// Learnt by WhoAmI, in the same round trip, and reused: the session's
	// user ("" until known; a session never changes user, rotor runs no SET
	// ROLE) and the server's password_encryption.
	who, encryption string
}

var (
	_ builtin.Session = (*session)(nil)
	_ builtin.Admin   = (*session)(nil)
)

// WhoAmI implements builtin.Session: SELECT current_user, now(), which
// also reads password_encryption for a later password change.
func (s *session) WhoAmI(ctx context.Context) (string, error) {
	var who, enc string
	var now time.Time
	if err := s.conn.QueryRow(ctx, "SELECT current_user, now(), current_setting('password_encryption')").Scan(&who, &now, &enc); err != nil {
		return "", fmt.Errorf("query current_user: %w", err)
	}
	s.who, s.encryption = who, enc
	return who, nil
}

// ChangeOwnPassword implements builtin.Session: ALTER ROLE <self> WITH
// PASSWORD ..., which PostgreSQL allows every role for itself. The login
// already asked the server who the session is; that answer is reused.
func (s *session) ChangeOwnPassword(ctx context.Context, password string) error {
	who := s.who
	if who == "" {
		var err error
		if who, err = s.WhoAmI(ctx); err != nil {
			return err
		}
	}
	return s.SetPassword(ctx, who, password)
}

// Close implements builtin.Session.
func (s *session) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), builtin.DefaultTimeout)
	defer cancel()
	return s.conn.Close(ctx)
}

// MaxUsernameLength implements builtin.Admin: the server's
// max_identifier_length, in bytes.
func (s *session) MaxUsernameLength(ctx context.Context) (int, error) {
	var v string
	if err := s.conn.QueryRow(ctx, "SHOW max_identifier_length").Scan(&v); err != nil {
		return 0, fmt.Errorf("show max_identifier_length: %w", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("max_identifier_length %q is not a number", v)
	}
	return n, nil
}

// SetPassword implements builtin.Admin: ALTER ROLE user WITH PASSWORD ...
func (s *session) SetPassword(ctx context.Context, user, password string) error {
	lit, err := s.passwordLiteral(ctx, user, password)
	if err != nil {
		return err
	}
	if _, err := s.conn.Exec(ctx, "ALTER ROLE "+ident(user)+" WITH PASSWORD "+lit); err != nil {
		return fmt.Errorf("alter role %s: %w", ident(user), err)
	}
	return nil
}

// CloneUser implements builtin.Admin in one transaction: it creates clone
// with LOGIN, the password and membership in original (CREATE ROLE ... IN
// ROLE), or, when clone exists, sets its password, makes it LOGIN INHERIT
// and grants it original if it cannot already use original's privileges.
func (s *session) CloneUser(ctx context.Context, original, clone, password string) error {
	lit, err := s.passwordLiteral(ctx, clone, password)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.conn, func(tx pgx.Tx) error {
		if ok, err := roleExists(ctx, tx, original); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("role %s does not exist", ident(original))
		}
		exists, err := roleExists(ctx, tx, clone)
		if err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, "CREATE ROLE "+ident(clone)+" WITH LOGIN INHERIT PASSWORD "+lit+" IN ROLE "+ident(original)); err != nil {
				return fmt.Errorf("create role %s: %w", ident(clone), err)
			}
			return nil
		}
		if _, err := tx.Exec(ctx, "ALTER ROLE "+ident(clone)+" WITH LOGIN INHERIT PASSWORD "+lit); err != nil {
			return fmt.Errorf("alter role %s: %w", ident(clone), err)
		}
		return grantMembership(ctx, tx, original, clone)
	})
}

// SyncPrivileges implements builtin.Admin: the clone holds the original's
// privileges through membership, so this only grants original to clone
// again if the clone cannot use its privileges (the membership was
// revoked).
func (s *session) SyncPrivileges(ctx context.Context, original, clone string) error {
	return pgx.BeginFunc(ctx, s.conn, func(tx pgx.Tx) error {
		for _, r := range []string{original, clone} {
			if ok, err := roleExists(ctx, tx, r); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("role %s does not exist", ident(r))
			}
		}
		return grantMembership(ctx, tx, original, clone)
	})
}

func roleExists(ctx context.Context, tx pgx.Tx, name string) (bool, error) {
	var ok bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up role %s: %w", ident(name), err)
	}
	return ok, nil
}

// grantMembership grants original to clone unless clone can already use
// original's privileges.
func grantMembership(ctx context.Context, tx pgx.Tx, original, clone string) error {
	var usable bool
	if err := tx.QueryRow(ctx, "SELECT pg_has_role($1, $2, 'USAGE')", clone, original).Scan(&usable); err != nil {
		return fmt.Errorf("check membership of %s in %s: %w", ident(clone), ident(original), err)
	}
	if usable {
		return nil
	}
	if _, err := tx.Exec(ctx, "GRANT "+ident(original)+" TO "+ident(clone)); err != nil {
		return fmt.Errorf("grant %s to %s: %w", ident(original), ident(clone), err)
	}
	return nil
}

// passwordLiteral returns the SQL literal to put after PASSWORD for user:
// a verifier computed here when the server's password_encryption allows,
// else the escaped password.
func (s *session) passwordLiteral(ctx context.Context, user, password string) (string, error) {
	enc := s.encryption
	if enc == "" {
		if err := s.conn.QueryRow(ctx, "SHOW password_encryption").Scan(&enc); err != nil {
			return "", fmt.Errorf("show password_encryption: %w", err)
		}
	}
	if enc == "scram-sha-256" {
		if v, ok := takePrehashed(password); ok {
			return quoteLiteral(v), nil
		}
	}
	v, err := verifier(enc, user, password)
	if err != nil {
		return "", err
	}
	return quoteLiteral(v), nil
}
