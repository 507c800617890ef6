// Package redissecret authenticates go-redis connections with the
// credentials of a secret, following its rotation.
//
// A Connector is a go-redis dialer: for every new connection it reads the
// secret (username and password in AWS's JSON shape; host and port too,
// when the secret has them) through a client.Cache, dials, and sends AUTH
// itself. When Redis answers WRONGPASS it refreshes the secret and retries
// as client.Dialer describes; every other error is returned untouched.
// Because the connection is already authenticated when go-redis receives
// it, go-redis must not authenticate again: Configure (or NewClient) sets
// the options up accordingly.
//
//	cache := client.New(secretsmanager.NewFromConfig(cfg))
//	rdb := redissecret.NewConnector(cache, "prod/app/redis").NewClient(&redis.Options{Addr: "cache:6379"})
//	defer rdb.Close()
package redissecret

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rotorhq/rotor/client"
)

// DefaultPort is used when the secret has a host but no port.
const DefaultPort = 6379

// DefaultDialTimeout bounds one TCP (and TLS) connection attempt and the
// AUTH exchange.
const DefaultDialTimeout = 5 * time.Second

// Connector dials Redis and authenticates with the secret's credentials.
// It is safe for concurrent use.
type Connector struct {
	dialer  *client.Dialer
	tls     *tls.Config
	timeout time.Duration
}

// Option configures a Connector.
type Option func(*options)

type options struct {
	dial    []client.DialOption
	tls     *tls.Config
	timeout time.Duration
}

// WithDialOptions sets the retry budget and AWSPENDING behaviour (see
// client.DialOption; defaults: 5 logins within 10 s, AWSPENDING tried).
func WithDialOptions(opts ...client.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// WithTLS makes connections use TLS with cfg (cloned; ServerName defaults
// to the host dialled). Without it, TLS is used only when the secret's ssl
// key is true; Configure also takes redis.Options.TLSConfig.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg.Clone() } }

// WithDialTimeout bounds one connection attempt with its AUTH exchange
// (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// NewConnector returns a Connector for the Redis secret secretID read
// through cache.
func NewConnector(cache *client.Cache, secretID string, opts ...Option) *Connector {
	o := options{timeout: DefaultDialTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return &Connector{
		dialer:  client.NewDialer(cache, secretID, IsAuthFailure, o.dial...),
		tls:     o.tls,
		timeout: o.timeout,
	}
}

// Dial opens one authenticated connection; its signature is that of
// redis.Options.Dialer. It dials the secret's host and port when the
// secret has a host, else addr. Errors: those of client.Dialer.Dial
// (ErrLoginRefused wrapping the last WRONGPASS reply when every login was
// refused; the cache's errors when the secret cannot be read) and,
// untouched, any other dial, TLS or AUTH error.
func (c *Connector) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := c.dialer.Dial(ctx, func(ctx context.Context, s *client.DBSecret) error {
		target := addr
		if s.Host != "" {
			target = s.Addr(DefaultPort)
		}
		nc, err := c.dial(ctx, network, target, s)
		if err != nil {
			return err
		}
		if err := auth(ctx, nc, s.Username, s.Password, c.timeout); err != nil {
			nc.Close()
			return err
		}
		conn = nc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// dial opens the TCP (and TLS) connection.
func (c *Connector) dial(ctx context.Context, network, addr string, s *client.DBSecret) (net.Conn, error) {
	d := net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := c.tls
	if cfg == nil && s.SSL != nil && *s.SSL {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg == nil {
		return nc, nil
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// Configure sets o up to dial through c: Dialer is c.Dial; Username,
// Password and the credentials providers are cleared (the connection is
// authenticated before go-redis sees it); TLSConfig moves into c (the
// dialer does the handshake); DialTimeout is raised to cover c's retry
// budget; DialerRetries is set to 1 when unset, since c retries itself.
func (c *Connector) Configure(o *redis.Options) {
	if o.TLSConfig != nil && c.tls == nil {
		c.tls = o.TLSConfig.Clone()
	}
	o.TLSConfig = nil
	o.Dialer = c.Dial
	o.Username, o.Password = "", ""
	o.CredentialsProvider, o.CredentialsProviderContext, o.StreamingCredentialsProvider = nil, nil, nil
	if need := c.dialer.Budget() + 2*c.timeout; o.DialTimeout < need {
		o.DialTimeout = need
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
}

// NewClient returns redis.NewClient for a copy of o set up by Configure.
func (c *Connector) NewClient(o *redis.Options) *redis.Client {
	cp := *o
	c.Configure(&cp)
	return redis.NewClient(&cp)
}

// Credentials returns the username and password the next Dial would try
// first; its signature is that of redis.Options.CredentialsProviderContext,
// for applications that let go-redis authenticate (then a WRONGPASS during
// a rotation is not retried). Errors are the cache's.
func (c *Connector) Credentials(ctx context.Context) (username, password string, err error) {
	s, err := c.dialer.Credentials(ctx)
	if err != nil {
		return "", "", err
	}
	return s.Username, s.Password, nil
}

// Stats returns the counters of the Connector's logins, raw authentication
// failures included.
func (c *Connector) Stats() client.DialStats { return c.dialer.Stats() }

// ReplyError is an error reply from Redis to AUTH. It implements
// redis.Error.
type ReplyError string

// Error returns the reply without its leading "-".
func (e ReplyError) Error() string { return string(e) }

// RedisError marks ReplyError as a Redis reply (redis.Error).
func (ReplyError) RedisError() {}

var _ redis.Error = ReplyError("")

// IsAuthFailure reports whether err is Redis refusing credentials: a
// WRONGPASS reply (Redis 6+), or "ERR invalid password" (older servers),
// whether sent to this package's AUTH or to go-redis's.
func IsAuthFailure(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "ERR invalid password")
}

// auth sends AUTH [username] password on nc and reads the reply.
func auth(ctx context.Context, nc net.Conn, username, password string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := nc.SetDeadline(deadline); err != nil {
		return err
	}
	parts := []string{"AUTH", password}
	if username != "" {
		parts = []string{"AUTH", username, password}
	}
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(parts)) + "\r\n")
	for _, p := range parts {
		b.WriteString("$" + strconv.Itoa(len(p)) + "\r\n" + p + "\r\n")
	}
	if _, err := nc.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("redissecret: send AUTH: %w", err)
	}
	// Read exactly the reply line: go-redis reads whatever follows from nc.
	line, err := readLine(nc)
	if err != nil {
		return fmt.Errorf("redissecret: read AUTH reply: %w", err)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return err
	}
	switch {
	case line == "+OK":
		return nil
	case strings.HasPrefix(line, "-"):
		return ReplyError(strings.TrimPrefix(line, "-"))
	default:
		return fmt.Errorf("redissecret: unexpected AUTH reply (%d bytes)", len(line))
	}
}

// readLine reads one CRLF-terminated line of at most 4 KiB, one byte at a
// time so that nothing past the line is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	c := make([]byte, 1)
	for b.Len() < 4096 {
		if _, err := io.ReadFull(r, c); err != nil {
			return "", err
		}
		if c[0] == '\n' {
			return strings.TrimSuffix(b.String(), "\r"), nil
		}
		b.WriteByte(c[0])
	}
	return "", errors.New("reply line too long")
}
