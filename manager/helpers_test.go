package manager_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

const (
	testRegion  = "us-east-1"
	otherRegion = "eu-west-1"
	testAccount = "123456789012"
)

// denyAll denies everything.
type denyAll struct{}

func (denyAll) Authorize(_ context.Context, _ rotor.Caller, r rotor.AccessRequest) error {
	return rotor.Errorf(rotor.EDENIED, "denied %s on %s", r.Action, r.Resource)
}

// authorizer records every call; it allows everything unless deny is set
// and returns true.
type authorizer struct {
	mu    sync.Mutex
	calls []authCall
	deny  func(action, resource string) bool
}

type authCall struct{ Action, Resource string }

func (a *authorizer) Authorize(_ context.Context, _ rotor.Caller, r rotor.AccessRequest) error {
	action, resource := r.Action, r.Resource
	a.mu.Lock()
	a.calls = append(a.calls, authCall{action, resource})
	deny := a.deny
	a.mu.Unlock()
	if deny != nil && deny(action, resource) {
		return rotor.Errorf(rotor.EDENIED, "denied %s on %s", action, resource)
	}
	return nil
}

func (a *authorizer) reset() []authCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.calls
	a.calls = nil
	return c
}

// clock is an adjustable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

// countingStore counts Update calls on the real store.
type countingStore struct {
	rotor.Store
	updates atomic.Int64
}

func (s *countingStore) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// readingStore is a countingStore that also offers its store's
// rotor.SecretReader, as the SQLite store does: the Service then reads
// cache misses through it. newEnv gives a Service one unless the test asks
// for View reads (TestReadPathsAgree).
type readingStore struct {
	*countingStore
	reads, scans atomic.Int64
}

func (s *readingStore) ReadSecret(ctx context.Context, region, name string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	s.reads.Add(1)
	return s.Store.(rotor.SecretReader).ReadSecret(ctx, region, name)
}

func (s *readingStore) ReadSecretARN(ctx context.Context, arn string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	s.reads.Add(1)
	return s.Store.(rotor.SecretReader).ReadSecretARN(ctx, arn)
}

// ScanSecrets forwards the store's rotor.SecretScanner (PreloadCache).
func (s *readingStore) ScanSecrets(ctx context.Context, after string, limit int) ([]rotor.ScannedSecret, error) {
	s.scans.Add(1)
	return s.Store.(rotor.SecretScanner).ScanSecrets(ctx, after, limit)
}

type env struct {
	svc     *manager.Service
	store   *countingStore
	reading *readingStore // what the Service reads through, unless an option replaced the store
	clock   *clock
	authz   *authorizer
	cfg     manager.Config
	ctx     context.Context
}

type envOption func(*manager.Config)

func withPruneMinAge(d time.Duration) envOption {
	return func(c *manager.Config) { c.PruneMinAge = d }
}

func withAuthorizer(a rotor.Authorizer) envOption {
	return func(c *manager.Config) { c.Authorizer = a }
}

// newEnv opens a real SQLite store in a temporary directory and a freshly
// generated keyring, and returns a Service over them with a recording
// authorizer (allowing everything) and a clock starting on 2024-03-01.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatalf("generate keyring: %v", err)
	}
	e := &env{
		store: &countingStore{Store: st},
		clock: &clock{t: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		authz: &authorizer{},
	}
	e.reading = &readingStore{countingStore: e.store}
	cfg := manager.Config{Store: e.reading, Keyring: kr, Authorizer: e.authz, Account: testAccount, Now: e.clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Store != rotor.Store(e.reading) {
		e.reading = nil
	}
	e.cfg = cfg
	e.svc = manager.New(cfg)
	// Write noted access dates before the store closes (cleanups run last first).
	t.Cleanup(func() { e.svc.FlushAccessDates(context.Background()) })
	e.ctx = callerCtx(testRegion)
	return e
}

// newEnvSharing returns a second Service over e's store and keyring, with
// its own cache and an allow-all recording authorizer.
func newEnvSharing(t testing.TB, e *env) *env {
	t.Helper()
	o := *e
	o.authz = &authorizer{}
	o.cfg.Authorizer = o.authz
	o.svc = manager.New(o.cfg)
	return &o
}

func callerCtx(region string) context.Context {
	return rotor.NewContext(context.Background(), rotor.Caller{
		Principal: rotor.Principal{Identity: "tester", Role: rotor.RoleAdmin},
		Region:    region,
		RequestID: "req-1",
	})
}

func str(s string) *string { return &s }

func sv(s string) rotor.Value { return rotor.Value{String: &s} }

// tok returns a distinct 32-character ClientRequestToken for n.
func tok(n int) string { return fmt.Sprintf("tok-%028d", n) }

func (e *env) create(t testing.TB, name, value string) *rotor.VersionResult {
	t.Helper()
	in := rotor.CreateSecretInput{Name: name}
	if value != "" {
		in.Value, in.ClientRequestToken = sv(value), tok(0)
	}
	r, err := e.svc.CreateSecret(e.ctx, in)
	if err != nil {
		t.Fatalf("CreateSecret(%q): %v", name, err)
	}
	return r
}

func (e *env) put(t testing.TB, id, token, value string, stages ...string) *rotor.VersionResult {
	t.Helper()
	r, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: id, ClientRequestToken: token, Value: sv(value), Stages: stages})
	if err != nil {
		t.Fatalf("PutSecretValue(%q, %q): %v", id, token, err)
	}
	return r
}

func (e *env) get(t testing.TB, in rotor.GetSecretValueInput) *rotor.SecretValue {
	t.Helper()
	v, err := e.svc.GetSecretValue(e.ctx, in)
	if err != nil {
		t.Fatalf("GetSecretValue(%+v): %v", in, err)
	}
	return v
}

func (e *env) current(t testing.TB, id string) string {
	t.Helper()
	v := e.get(t, rotor.GetSecretValueInput{SecretID: id})
	if v.Value.String == nil {
		t.Fatalf("GetSecretValue(%q): not a string value", id)
	}
	return *v.Value.String
}

func (e *env) describe(t testing.TB, id string) *rotor.SecretDescription {
	t.Helper()
	d, err := e.svc.DescribeSecret(e.ctx, id)
	if err != nil {
		t.Fatalf("DescribeSecret(%q): %v", id, err)
	}
	return d
}

func (e *env) stages(t testing.TB, id string) map[string][]string {
	t.Helper()
	return e.describe(t, id).VersionStages
}

// allVersions lists every version, deprecated ones included, as id → stages.
func (e *env) allVersions(t testing.TB, id string) map[string][]string {
	t.Helper()
	out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: id, IncludeDeprecated: true})
	if err != nil {
		t.Fatalf("ListSecretVersionIds(%q): %v", id, err)
	}
	m := map[string][]string{}
	for _, v := range out.Versions {
		m[v.VersionID] = v.Stages
	}
	return m
}

// wantErr fails unless err is a *rotor.Error with code and, if msg is not
// "", exactly that message.
func wantErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want code %q (%q)", code, msg)
	}
	if got := rotor.ErrorCode(err); got != code {
		t.Fatalf("code = %q (%v), want %q", got, err, code)
	}
	if msg != "" && rotor.ErrorMessage(err) != msg {
		t.Fatalf("message = %q, want %q", rotor.ErrorMessage(err), msg)
	}
}

func wantEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// snapshot is what a rejected request must leave unchanged.
type snapshot struct {
	desc     *rotor.SecretDescription
	versions *rotor.ListSecretVersionIdsOutput
}

func (e *env) snapshot(t testing.TB, id string) snapshot {
	t.Helper()
	v, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: id, IncludeDeprecated: true})
	if err != nil {
		t.Fatalf("ListSecretVersionIds(%q): %v", id, err)
	}
	return snapshot{desc: e.describe(t, id), versions: v}
}

const (
	msgNotFound        = "Secrets Manager can't find the specified secret."
	msgMarkedForDelete = "You can't perform this operation on the secret because it was marked for deletion."
)

func withAccessFlushInterval(d time.Duration) envOption {
	return func(c *manager.Config) { c.AccessFlushInterval = d }
}
