// Package mysqlsecret connects database/sql to MySQL or MariaDB (through
// go-sql-driver/mysql) with the credentials of a secret, following its
// rotation.
//
// A Connector reads the secret (AWS's JSON shape: host, port, username,
// password, dbname, ssl) through a client.Cache on every new connection and
// builds a fresh mysql.Config for each attempt, so a pool picks up new
// credentials without a restart. When the server refuses the login (error
// 1045, ER_ACCESS_DENIED_ERROR) it refreshes the secret and retries as
// client.Dialer describes; every other error is returned untouched.
//
//	cache := client.New(secretsmanager.NewFromConfig(cfg))
//	db := mysqlsecret.OpenDB(cache, "prod/app/mysql")
//	defer db.Close()
package mysqlsecret

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/rotorhq/rotor/client"
)

// DefaultPort is used when the secret has no port.
const DefaultPort = 3306

// Connector is a database/sql driver.Connector that logs in with the
// secret's credentials. It is safe for concurrent use.
type Connector struct {
	dialer *client.Dialer
	base   *mysql.Config
}

var _ driver.Connector = (*Connector)(nil)

// Option configures a Connector.
type Option func(*options)

type options struct {
	dial []client.DialOption
	base *mysql.Config
}

// WithDialOptions sets the retry budget and AWSPENDING behaviour (see
// client.DialOption; defaults: 5 logins within 10 s, AWSPENDING tried).
func WithDialOptions(opts ...client.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// WithConfig sets the template every connection's configuration is cloned
// from (timeouts, TLS, Params, ParseTime, ...; default mysql.NewConfig()).
// The secret always sets Net ("tcp"), Addr, User and Passwd, and DBName
// when it has a dbname; its ssl key sets TLSConfig only when the template
// sets neither TLS nor TLSConfig. cfg is cloned; later changes to it have
// no effect.
func WithConfig(cfg *mysql.Config) Option {
	return func(o *options) { o.base = cfg.Clone() }
}

// NewConnector returns a Connector for the MySQL/MariaDB secret secretID
// read through cache.
func NewConnector(cache *client.Cache, secretID string, opts ...Option) *Connector {
	o := options{base: mysql.NewConfig()}
	for _, opt := range opts {
		opt(&o)
	}
	return &Connector{dialer: client.NewDialer(cache, secretID, IsAuthFailure, o.dial...), base: o.base}
}

// OpenDB returns a *sql.DB whose connections log in through
// NewConnector(cache, secretID, opts...).
func OpenDB(cache *client.Cache, secretID string, opts ...Option) *sql.DB {
	return sql.OpenDB(NewConnector(cache, secretID, opts...))
}

// Connect opens one connection (driver.Connector). Errors: those of
// client.Dialer.Dial (ErrLoginRefused wrapping the last *mysql.MySQLError
// 1045 when every login was refused; the cache's errors when the secret
// cannot be read; an error wrapping client.ErrNotDBSecret when the secret
// lacks host or username) and, untouched, any other driver error.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := c.dialer.Dial(ctx, func(ctx context.Context, s *client.DBSecret) error {
		cfg, err := Config(c.base, s)
		if err != nil {
			return fmt.Errorf("mysqlsecret: secret %q: %w", c.dialer.SecretID(), err)
		}
		mc, err := mysql.NewConnector(cfg)
		if err != nil {
			return fmt.Errorf("mysqlsecret: connection settings: %w", err)
		}
		cn, err := mc.Connect(ctx)
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

// Driver returns go-sql-driver/mysql's driver (driver.Connector).
func (c *Connector) Driver() driver.Driver { return &mysql.MySQLDriver{} }

// Stats returns the counters of the Connector's logins, raw authentication
// failures included.
func (c *Connector) Stats() client.DialStats { return c.dialer.Stats() }

// Config returns a clone of base (mysql.NewConfig() when nil) with the
// secret's address, credentials and database. The secret's ssl key maps
// to TLSConfig, unless base sets TLS or TLSConfig: absent "preferred" (TLS
// if the server offers it, else plaintext), true "true" (verified), false
// "false". Errors wrap client.ErrNotDBSecret when s lacks host or
// username.
func Config(base *mysql.Config, s *client.DBSecret) (*mysql.Config, error) {
	if s.Host == "" || s.Username == "" {
		return nil, fmt.Errorf("the secret needs host and username: %w", client.ErrNotDBSecret)
	}
	if base == nil {
		base = mysql.NewConfig()
	}
	cfg := base.Clone()
	cfg.Net = "tcp"
	cfg.Addr = s.Addr(DefaultPort)
	cfg.User, cfg.Passwd = s.Username, s.Password
	if s.DBName != "" {
		cfg.DBName = s.DBName
	}
	if cfg.TLS == nil && cfg.TLSConfig == "" {
		switch {
		case s.SSL == nil:
			cfg.TLSConfig = "preferred"
		case *s.SSL:
			cfg.TLSConfig = "true"
		default:
			cfg.TLSConfig = "false"
		}
	}
	return cfg, nil
}

// ErAccessDenied is the MySQL/MariaDB error number for a refused login
// (ER_ACCESS_DENIED_ERROR).
const ErAccessDenied = 1045

// IsAuthFailure reports whether err is the server refusing a login (error
// 1045).
func IsAuthFailure(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == ErAccessDenied
}
