package client_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/internal/rotortest"
)

func TestMain(m *testing.M) { rotortest.Main(m) }

var ctx = context.Background()

// clock is a settable clock for client.WithNow.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// counting wraps the real SDK client and counts the requests sent through
// it, independently of the cache's own counters.
type counting struct {
	api        client.API
	describes  atomic.Int64
	gets       atomic.Int64
	beforeDesc func() // called before each DescribeSecret, if set

	mu        sync.Mutex
	getInputs []string // "SecretId|VersionId|VersionStage"
}

func (c *counting) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	c.describes.Add(1)
	if c.beforeDesc != nil {
		c.beforeDesc()
	}
	return c.api.DescribeSecret(ctx, in, optFns...)
}

func (c *counting) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.gets.Add(1)
	c.mu.Lock()
	c.getInputs = append(c.getInputs, aws.ToString(in.SecretId)+"|"+aws.ToString(in.VersionId)+"|"+aws.ToString(in.VersionStage))
	c.mu.Unlock()
	return c.api.GetSecretValue(ctx, in, optFns...)
}

func (c *counting) lastGet() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.getInputs) == 0 {
		return ""
	}
	return c.getInputs[len(c.getInputs)-1]
}

// wantCounts fails unless exactly describes and gets requests were sent,
// both by the wrapper's count and by the cache's Stats.
func (c *counting) wantCounts(t *testing.T, cache *client.Cache, what string, describes, gets int64) {
	t.Helper()
	if d, g := c.describes.Load(), c.gets.Load(); d != describes || g != gets {
		t.Fatalf("%s: sent %d DescribeSecret and %d GetSecretValue, want %d and %d", what, d, g, describes, gets)
	}
	st := cache.Stats()
	if int64(st.DescribeSecretCalls) != describes || int64(st.GetSecretValueCalls) != gets {
		t.Fatalf("%s: Stats counts %d DescribeSecret and %d GetSecretValue, want %d and %d",
			what, st.DescribeSecretCalls, st.GetSecretValueCalls, describes, gets)
	}
}

// quiet discards the cache's log.
var quiet = client.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// env is one test's server, SDK client, counting wrapper, clock and cache.
type env struct {
	srv   *rotortest.Server
	sm    *secretsmanager.Client
	api   *counting
	clock *clock
	cache *client.Cache
}

// newEnv starts a server and builds a cache over a counting wrapper of the
// real SDK client, with a test clock and no SDK retries (so a stopped
// server fails fast).
func newEnv(t *testing.T, opts ...client.Option) *env {
	t.Helper()
	srv := rotortest.Start(t)
	sm := srv.Client(func(o *secretsmanager.Options) { o.Retryer = aws.NopRetryer{} })
	e := &env{srv: srv, sm: sm, api: &counting{api: sm}, clock: newClock()}
	e.cache = client.New(e.api, append([]client.Option{client.WithNow(e.clock.Now), quiet}, opts...)...)
	return e
}

func mustString(t *testing.T, c *client.Cache, id string, opts ...client.GetOption) string {
	t.Helper()
	s, err := c.GetSecretString(ctx, id, opts...)
	if err != nil {
		t.Fatalf("GetSecretString %s: %v", id, err)
	}
	return s
}
