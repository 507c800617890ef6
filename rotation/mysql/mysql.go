package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
)

// Engine limits on user names, in characters, used by createSecret before
// it can ask the server (setSecret asks): MySQL 5.7.8 and later allow 32
// characters, current MariaDB 128 (older versions 80; the server's own
// limit is checked in setSecret).
const (
	MaxMySQLUsernameLength   = 32
	MaxMariaDBUsernameLength = 128
)

// passwordSpec is AWS's template default: 32 characters without /@"'\.
var passwordSpec = rotor.PasswordSpec{Length: 32, ExcludeCharacters: `/@"'\`, RequireEachIncludedType: true}

// MySQL returns the MySQL engine: engines "mysql" and "aurora-mysql",
// port 3306, no default database.
func MySQL() builtin.Engine {
	return builtin.Engine{
		Name:              "MySQL",
		Engines:           []string{"mysql", "aurora-mysql"},
		DefaultPort:       3306,
		MaxUsernameLength: MaxMySQLUsernameLength,
		Password:          passwordSpec,
		Driver:            Driver{},
	}
}

// MariaDB returns the MariaDB engine: engine "mariadb", port 3306, no
// default database.
func MariaDB() builtin.Engine {
	return builtin.Engine{
		Name:              "MariaDB",
		Engines:           []string{"mariadb"},
		DefaultPort:       3306,
		MaxUsernameLength: MaxMariaDBUsernameLength,
		Password:          passwordSpec,
		Driver:            Driver{},
	}
}

// Driver connects to MySQL and MariaDB. Its sessions implement
// builtin.Session and builtin.Admin.
type Driver struct{}

var _ builtin.Driver = Driver{}

// ioTimeout bounds each read and write on an open connection.
const ioTimeout = 30 * time.Second

// Connect opens one connection as c.Username, to c.Database if set, over
// TLS when c.TLS is set (a server without TLS is then an error, never a
// silent fallback to plaintext). An error for credentials the server
// refuses wraps builtin.ErrLoginRefused.
func (Driver) Connect(ctx context.Context, c builtin.Conn) (builtin.Session, error) {
	timeout := c.ConnectTimeout()
	addr := c.Addr()
	cfg := driver.NewConfig()
	cfg.User = c.Username
	cfg.Passwd = c.Password
	cfg.Net = "tcp"
	cfg.Addr = addr
	cfg.DBName = c.Database
	cfg.TLS = c.TLS
	cfg.Timeout = timeout
	cfg.ReadTimeout = ioTimeout
	cfg.WriteTimeout = ioTimeout
	cfg.AllowNativePasswords = true
	cfg.Logger = discard{}
	connector, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure connection: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := db.Conn(cctx)
	if err == nil {
		err = conn.PingContext(cctx)
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		db.Close()
		err = fmt.Errorf("connect to %s as %q: %w", addr, c.Username, err)
		if refused(err) {
			return nil, builtin.Refused(err)
		}
		return nil, err
	}
	s := &session{db: db, conn: conn}
	var version, mode string
	if err := conn.QueryRowContext(cctx, "SELECT VERSION(), @@SESSION.sql_mode").Scan(&version, &mode); err != nil {
		s.Close()
		return nil, fmt.Errorf("read server version: %w", err)
	}
	s.d = newDialect(version, mode)
	return s, nil
}

// MySQL and MariaDB error numbers of a refused login.
const (
	// erDBAccessDenied is ER_DBACCESS_DENIED_ERROR: the account may not use
	// the database (an alternate user whose privileges are not synced yet).
	erDBAccessDenied = 1044
	// erAccessDenied is ER_ACCESS_DENIED_ERROR: wrong password, unknown
	// user or host.
	erAccessDenied = 1045
	// erAccessDeniedNoPassword is ER_ACCESS_DENIED_NO_PASSWORD_ERROR, which
	// MariaDB returns for some unknown users and authentication plugins.
	erAccessDeniedNoPassword = 1698
)

// refused reports whether err is the server refusing the account: one of
// the "Access denied" errors above. An unknown database (1049), too many
// connections (1040) or a network or TLS failure is not.
func refused(err error) bool {
	var me *driver.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erDBAccessDenied, erAccessDenied, erAccessDeniedNoPassword:
		return true
	}
	return false
}

// discard silences the driver's own logging (it logs connection errors
// that are returned anyway).
type discard struct{}

// Print discards its arguments.
func (discard) Print(...any) {}

type session struct {
	db   *sql.DB
	conn *sql.Conn
	d    dialect
}

var (
	_ builtin.Session = (*session)(nil)
	_ builtin.Admin   = (*session)(nil)
)

// WhoAmI implements builtin.Session: the user part of CURRENT_USER(), from
// SELECT CURRENT_USER(), NOW().
func (s *session) WhoAmI(ctx context.Context) (string, error) {
	var who, now string
	if err := s.conn.QueryRowContext(ctx, "SELECT CURRENT_USER(), NOW()").Scan(&who, &now); err != nil {
		return "", fmt.Errorf("query CURRENT_USER(): %w", err)
	}
	if i := strings.LastIndexByte(who, '@'); i >= 0 {
		who = who[:i]
	}
	return who, nil
}

// ChangeOwnPassword implements builtin.Session (see dialect.changeOwnPassword).
func (s *session) ChangeOwnPassword(ctx context.Context, password string) error {
	if _, err := s.conn.ExecContext(ctx, s.d.changeOwnPassword(password)); err != nil {
		return fmt.Errorf("change own password: %w", err)
	}
	return nil
}

// Close implements builtin.Session.
func (s *session) Close() error {
	return errors.Join(s.conn.Close(), s.db.Close())
}

// MaxUsernameLength implements builtin.Admin: the length of mysql.user's
// User column, or the version's documented limit if that cannot be read.
func (s *session) MaxUsernameLength(ctx context.Context) (int, error) {
	var n sql.NullInt64
	err := s.conn.QueryRowContext(ctx, "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'user' AND COLUMN_NAME = 'User'").Scan(&n)
	if err == nil && n.Valid && n.Int64 > 0 {
		return int(n.Int64), nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read the user name length: %w", err)
	}
	return s.d.defaultMaxUsernameLength(), nil
}

// hosts returns the hosts of the accounts named user.
func (s *session) hosts(ctx context.Context, user string) ([]string, error) {
	rows, err := s.conn.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host", user)
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", quoteIdent(user), err)
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("look up user %s: %w", quoteIdent(user), err)
		}
		hosts = append(hosts, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up user %s: %w", quoteIdent(user), err)
	}
	return hosts, nil
}

func (s *session) exec(ctx context.Context, what, stmt string) error {
	if _, err := s.conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// SetPassword implements builtin.Admin for every account named user (see
// dialect.setPassword).
func (s *session) SetPassword(ctx context.Context, user, password string) error {
	hosts, err := s.hosts(ctx, user)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return fmt.Errorf("user %s does not exist", quoteIdent(user))
	}
	for _, h := range hosts {
		if err := s.exec(ctx, "set the password of "+account(user, h), s.d.setPassword(user, h, password)); err != nil {
			return err
		}
	}
	return nil
}

// CloneUser implements builtin.Admin: for every account original@host it
// creates clone@host (or sets its password), copies the grants, the TLS
// requirement and (MySQL 8) the default roles. Each statement commits by
// itself; a retry after a failure re-does them all.
func (s *session) CloneUser(ctx context.Context, original, clone, password string) error {
	hosts, err := s.hosts(ctx, original)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return fmt.Errorf("user %s does not exist", quoteIdent(original))
	}
	existing, err := s.hosts(ctx, clone)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		info, err := s.accountInfo(ctx, original, h)
		if err != nil {
			return err
		}
		acct := account(clone, h)
		if slices.Contains(existing, h) {
			err = s.exec(ctx, "set the password of "+acct, s.d.setPassword(clone, h, password))
		} else {
			err = s.exec(ctx, "create user "+acct, s.d.createUser(clone, h, info.plugin, password))
		}
		if err != nil {
			return err
		}
		if err := s.syncGrants(ctx, original, clone, h); err != nil {
			return err
		}
		if err := s.exec(ctx, "set the TLS requirement of "+acct, s.d.require(clone, h, info.tls)); err != nil {
			return err
		}
	}
	return nil
}

// SyncPrivileges implements builtin.Admin for every host where both
// original and clone have an account.
func (s *session) SyncPrivileges(ctx context.Context, original, clone string) error {
	hosts, err := s.hosts(ctx, original)
	if err != nil {
		return err
	}
	existing, err := s.hosts(ctx, clone)
	if err != nil {
		return err
	}
	if len(hosts) == 0 || len(existing) == 0 {
		return fmt.Errorf("users %s and %s must both exist", quoteIdent(original), quoteIdent(clone))
	}
	for _, h := range hosts {
		if slices.Contains(existing, h) {
			if err := s.syncGrants(ctx, original, clone, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncGrants re-issues every grant of original@host for clone@host, then
// (MySQL 8) sets the same default roles.
func (s *session) syncGrants(ctx context.Context, original, clone, host string) error {
	rows, err := s.conn.QueryContext(ctx, "SHOW GRANTS FOR "+account(original, host))
	if err != nil {
		return fmt.Errorf("show grants for %s: %w", account(original, host), err)
	}
	var stmts []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("show grants for %s: %w", account(original, host), err)
		}
		stmt, err := rewriteGrant(line, original, host, clone, host)
		if err != nil {
			rows.Close()
			return err
		}
		if stmt != "" {
			stmts = append(stmts, stmt)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("show grants for %s: %w", account(original, host), err)
	}
	for _, st := range stmts {
		if err := s.exec(ctx, "copy a grant to "+account(clone, host), st); err != nil {
			return err
		}
	}
	if s.d.mariaDB || s.d.major < 8 {
		return nil
	}
	roles, err := s.defaultRoles(ctx, original, host)
	if err != nil || len(roles) == 0 {
		return err
	}
	return s.exec(ctx, "set the default roles of "+account(clone, host), setDefaultRoles(clone, host, roles))
}

// defaultRoles reads MySQL 8's mysql.default_roles for user@host.
func (s *session) defaultRoles(ctx context.Context, user, host string) ([][2]string, error) {
	rows, err := s.conn.QueryContext(ctx, "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles WHERE USER = ? AND HOST = ?", user, host)
	if err != nil {
		return nil, fmt.Errorf("read the default roles of %s: %w", account(user, host), err)
	}
	defer rows.Close()
	var roles [][2]string
	for rows.Next() {
		var r [2]string
		if err := rows.Scan(&r[0], &r[1]); err != nil {
			return nil, fmt.Errorf("read the default roles of %s: %w", account(user, host), err)
		}
		roles = append(roles, r)
	}
	return roles, rows.Err()
}

type accountInfo struct {
	tls    tlsRequirement
	plugin string
}

// accountInfo reads an account's TLS requirement and authentication plugin.
func (s *session) accountInfo(ctx context.Context, user, host string) (accountInfo, error) {
	var typ, cipher, issuer, subject, plugin sql.RawBytes
	var info accountInfo
	rows, err := s.conn.QueryContext(ctx, "SELECT ssl_type, ssl_cipher, x509_issuer, x509_subject, plugin FROM mysql.user WHERE User = ? AND Host = ?", user, host)
	if err != nil {
		return info, fmt.Errorf("read account %s: %w", account(user, host), err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return info, fmt.Errorf("read account %s: %w", account(user, host), err)
		}
		return info, fmt.Errorf("user %s does not exist", account(user, host))
	}
	if err := rows.Scan(&typ, &cipher, &issuer, &subject, &plugin); err != nil {
		return info, fmt.Errorf("read account %s: %w", account(user, host), err)
	}
	info.tls = tlsRequirement{SSLType: string(typ), Cipher: string(cipher), Issuer: string(issuer), Subject: string(subject)}
	info.plugin = string(plugin)
	return info, rows.Err()
}
