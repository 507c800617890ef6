// Package redis is the Redis driver of Rotor's built-in rotation functions
// (package builtin), over go-redis. It serves secrets whose "engine" is
// "redis" and rotates the passwords of Redis 6+ ACL users.
//
// Redis users may hold several passwords, so the driver supports both the
// single-user strategy (ChangeOwnPassword: ACL SETUSER <self> resetpass
// >new) and the multiple-credentials strategy (SetPasswords: ACL SETUSER
// <user> on resetpass >current >new). Every change is one ACL SETUSER
// command, hence atomic.
//
// Permissions: the user that makes the change (the secret's own user, or
// the administrator of "masterarn") needs ACL SETUSER and CONFIG GET, and
// ACL SAVE when the server has an ACL file, for example
// "+acl|setuser +acl|whoami +config|get +acl|save". ACL SETUSER lets a user
// change every user, so give it to the secret's own user only when that
// user is trusted as much as an administrator; otherwise use "masterarn".
//
// Durability: when the server has an ACL file (CONFIG GET aclfile is not
// empty) every change is followed by ACL SAVE. Users defined in redis.conf
// without an ACL file live in memory only: a restart brings back the
// passwords of the file, so use an ACL file. ACL changes are not
// replicated: rotate each server of a replica set with its own secret.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
)

// Engine returns the Redis engine: engine "redis", port 6379, plaintext
// unless the secret says "ssl": true (or sets "rotor:sslmode"), and
// 32-character passwords without /@"'\ (kept out of connection URLs).
func Engine() builtin.Engine {
	return builtin.Engine{
		Name:        "Redis",
		Engines:     []string{"redis"},
		DefaultPort: 6379,
		// A TLS handshake sent to a plaintext Redis port hangs until the
		// timeout, so without "ssl" the connection is plaintext.
		DefaultSSLMode: builtin.SSLDisable,
		Password:       rotor.PasswordSpec{Length: 32, ExcludeCharacters: `/@"'\`, RequireEachIncludedType: true},
		Driver:         Driver{},
	}
}

// Driver connects to Redis. Its sessions implement builtin.Session and
// builtin.MultiPassword.
type Driver struct{}

var _ builtin.Driver = Driver{}

// ioTimeout bounds each command on an open connection.
const ioTimeout = 30 * time.Second

// Connect opens one connection and authenticates with HELLO/AUTH as
// c.Username (an ACL user; "default" for requirepass), over TLS when c.TLS
// is set. c.Database is ignored. An error for credentials the server
// refuses wraps builtin.ErrLoginRefused.
func (Driver) Connect(ctx context.Context, c builtin.Conn) (builtin.Session, error) {
	timeout := c.ConnectTimeout()
	addr := c.Addr()
	client := goredis.NewClient(&goredis.Options{
		Addr:                     addr,
		Username:                 c.Username,
		Password:                 c.Password,
		TLSConfig:                c.TLS,
		Protocol:                 2,
		DialTimeout:              timeout,
		ReadTimeout:              ioTimeout,
		WriteTimeout:             ioTimeout,
		ContextTimeoutEnabled:    true,
		MaxRetries:               -1,
		PoolSize:                 1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(cctx).Err(); err != nil {
		client.Close()
		err = fmt.Errorf("connect to %s as %q: %w", addr, c.Username, err)
		if refused(err) {
			return nil, builtin.Refused(err)
		}
		return nil, err
	}
	return &session{c: client, user: c.Username}, nil
}

// refused reports whether err is the server refusing the credentials:
// WRONGPASS ("invalid username-password pair or user is disabled"), NOAUTH,
// or "ERR invalid password" (Redis before 6). A network or TLS failure is
// not.
func refused(err error) bool {
	var re goredis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	return goredis.IsAuthError(err) || strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") ||
		strings.Contains(msg, "invalid username-password pair") || msg == "ERR invalid password"
}

type session struct {
	c    *goredis.Client
	user string // the user the session authenticated as
}

var (
	_ builtin.Session       = (*session)(nil)
	_ builtin.MultiPassword = (*session)(nil)
)

// isNoPerm reports whether err is Redis's NOPERM error.
func isNoPerm(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOPERM") }

// WhoAmI implements builtin.Session: ACL WHOAMI. A user without the
// permission to run it is the user it authenticated as: Redis
// authenticates a named user explicitly, so this is not a guess (except
// for "nopass" users, who accept any password).
func (s *session) WhoAmI(ctx context.Context) (string, error) {
	who, err := s.c.Do(ctx, "ACL", "WHOAMI").Text()
	if isNoPerm(err) {
		if err := s.c.Ping(ctx).Err(); err != nil {
			return "", fmt.Errorf("ping: %w", err)
		}
		return s.user, nil
	}
	if err != nil {
		return "", fmt.Errorf("acl whoami: %w", err)
	}
	return who, nil
}

// ChangeOwnPassword implements builtin.Session: ACL SETUSER <self>
// resetpass >password, then ACL SAVE when the server has an ACL file.
func (s *session) ChangeOwnPassword(ctx context.Context, password string) error {
	who, err := s.WhoAmI(ctx)
	if err != nil {
		return err
	}
	return s.setUser(ctx, who, "resetpass", ">"+password)
}

// SetPasswords implements builtin.MultiPassword: ACL SETUSER user on
// resetpass >keep... >add, then ACL SAVE when the server has an ACL file.
func (s *session) SetPasswords(ctx context.Context, user string, keep []string, add string) error {
	rules := []string{"on", "resetpass"}
	for _, k := range keep {
		rules = append(rules, ">"+k)
	}
	return s.setUser(ctx, user, append(rules, ">"+add)...)
}

// setUser applies ACL rules to user and persists them. It reads the ACL
// file setting first, so a user without that permission changes nothing.
func (s *session) setUser(ctx context.Context, user string, rules ...string) error {
	cfg, err := s.c.ConfigGet(ctx, "aclfile").Result()
	if err != nil {
		return fmt.Errorf("config get aclfile: %w", err)
	}
	args := []any{"ACL", "SETUSER", user}
	for _, r := range rules {
		args = append(args, r)
	}
	if err := s.c.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("acl setuser %q: %w", user, err)
	}
	if cfg["aclfile"] == "" {
		return nil
	}
	if err := s.c.Do(ctx, "ACL", "SAVE").Err(); err != nil {
		return fmt.Errorf("acl save: %w", err)
	}
	return nil
}

// Close implements builtin.Session.
func (s *session) Close() error { return s.c.Close() }
