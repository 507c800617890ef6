// Package pgsecret connects database/sql to PostgreSQL (through pgx) with
// the credentials of a secret, following its rotation. Connections are
// pgx's own database/sql adapter (github.com/jackc/pgx/v5/stdlib): the
// Connector only chooses the credentials each new connection logs in with,
// so values, transactions, prepared statements and (*sql.Conn).Raw (which
// yields a *stdlib.Conn, whose Conn method returns the *pgx.Conn) behave as
// stdlib documents.
//
// A Connector reads the secret (AWS's JSON shape: host, port, username,
// password, dbname, ssl) through a client.Cache on every new connection, so
// a pool picks up new credentials without a restart. When PostgreSQL
// refuses the password (SQLSTATE 28P01) it refreshes the secret and retries
// as client.Dialer describes; every other error is returned untouched.
//
//	cache := client.New(secretsmanager.NewFromConfig(cfg))
//	db := pgsecret.OpenDB(cache, "prod/app/postgres")
//	defer db.Close()
package pgsecret

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rotorhq/rotor/client"
)

// DefaultPort and DefaultDBName are used when the secret has no port or
// dbname, as in AWS's rotation templates.
const (
	DefaultPort   = 5432
	DefaultDBName = "postgres"
)

// Connector is a database/sql driver.Connector that logs in with the
// secret's credentials. It is safe for concurrent use.
type Connector struct {
	dialer    *client.Dialer
	params    string
	configure func(*pgx.ConnConfig) error
}

var _ driver.Connector = (*Connector)(nil)

// Option configures a Connector.
type Option func(*options)

type options struct {
	dial      []client.DialOption
	params    string
	configure func(*pgx.ConnConfig) error
}

// WithDialOptions sets the retry budget and AWSPENDING behaviour (see
// client.DialOption; defaults: 5 logins within 10 s, AWSPENDING tried).
func WithDialOptions(opts ...client.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// WithParams adds libpq keyword/value settings (e.g. "sslmode=verify-full
// sslrootcert=/etc/ssl/rds.pem application_name=app connect_timeout=5").
// They override what the secret implies (host, port, user, dbname,
// sslmode), except the password, which always comes from the secret.
func WithParams(conninfo string) Option { return func(o *options) { o.params = conninfo } }

// WithConfig sets a function that adjusts each connection's configuration
// after it is built from the secret (e.g. TLS settings, RuntimeParams).
func WithConfig(f func(*pgx.ConnConfig) error) Option {
	return func(o *options) { o.configure = f }
}

// NewConnector returns a Connector for the PostgreSQL secret secretID read
// through cache.
func NewConnector(cache *client.Cache, secretID string, opts ...Option) *Connector {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Connector{
		dialer:    client.NewDialer(cache, secretID, IsAuthFailure, o.dial...),
		params:    o.params,
		configure: o.configure,
	}
}

// OpenDB returns a *sql.DB whose connections log in through
// NewConnector(cache, secretID, opts...).
func OpenDB(cache *client.Cache, secretID string, opts ...Option) *sql.DB {
	return sql.OpenDB(NewConnector(cache, secretID, opts...))
}

// Connect opens one connection (driver.Connector), a *stdlib.Conn logged
// in with the secret's current credentials. Errors: those of
// client.Dialer.Dial (ErrLoginRefused wrapping the last *pgconn.PgError
// with SQLSTATE 28P01 when every login was refused; the cache's errors when
// the secret cannot be read; an error wrapping client.ErrNotDBSecret when
// the secret lacks host or username) and, untouched, any other error pgx
// returns.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := c.dialer.Dial(ctx, func(ctx context.Context, s *client.DBSecret) error {
		cfg, err := c.config(s)
		if err != nil {
			return err
		}
		cn, err := stdlib.GetConnector(*cfg).Connect(ctx)
		if err != nil {
			return err
		}
		conn = cn
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Driver returns pgx's database/sql driver, stdlib.GetDefaultDriver()
// (driver.Connector).
func (c *Connector) Driver() driver.Driver { return stdlib.GetDefaultDriver() }

// Stats returns the counters of the Connector's logins, raw authentication
// failures included.
func (c *Connector) Stats() client.DialStats { return c.dialer.Stats() }

// config builds one connection's configuration from s.
func (c *Connector) config(s *client.DBSecret) (*pgx.ConnConfig, error) {
	cfg, err := Config(s, c.params)
	if err != nil {
		return nil, fmt.Errorf("pgsecret: secret %q: %w", c.dialer.SecretID(), err)
	}
	if c.configure != nil {
		if err := c.configure(cfg); err != nil {
			return nil, fmt.Errorf("pgsecret: configure connection: %w", err)
		}
	}
	return cfg, nil
}

// Config builds a pgx connection configuration from a database secret and
// optional extra keyword/value settings (see WithParams). The secret's ssl
// key maps to sslmode: absent "prefer" (TLS if offered, else plaintext),
// true "verify-full", false "disable". Errors wrap client.ErrNotDBSecret
// when s lacks host or username, or describe invalid params; they never
// contain the password.
func Config(s *client.DBSecret, params string) (*pgx.ConnConfig, error) {
	if s.Host == "" || s.Username == "" {
		return nil, fmt.Errorf("the secret needs host and username: %w", client.ErrNotDBSecret)
	}
	port, dbname, sslmode := s.Port, s.DBName, "prefer"
	if port == 0 {
		port = DefaultPort
	}
	if dbname == "" {
		dbname = DefaultDBName
	}
	if s.SSL != nil {
		sslmode = "disable"
		if *s.SSL {
			sslmode = "verify-full"
		}
	}
	// The password is set after parsing so that no parse error can echo it.
	conninfo := strings.Join([]string{
		"host=" + quote(s.Host), "port=" + strconv.Itoa(port), "user=" + quote(s.Username),
		"dbname=" + quote(dbname), "sslmode=" + sslmode, params,
	}, " ")
	cfg, err := pgx.ParseConfig(conninfo)
	if err != nil {
		return nil, fmt.Errorf("invalid connection settings: %w", err)
	}
	cfg.Password = s.Password
	return cfg, nil
}

// quote quotes a libpq keyword/value setting.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// IsAuthFailure reports whether err is PostgreSQL refusing a password
// (SQLSTATE 28P01, invalid_password).
func IsAuthFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "28P01"
}
