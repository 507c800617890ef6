package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/sqlite"
)

const testRegion = "us-east-1"

// countingStore is the real store with its transactions counted.
type countingStore struct {
	rotor.Store
	views, updates atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(rotor.Tx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

func (s *countingStore) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

func (s *countingStore) transactions() int64 { return s.views.Load() + s.updates.Load() }

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is an auth.Service over a real SQLite store and keyring, behind a
// real HTTP server whose handler authenticates every request.
type env struct {
	store   *countingStore
	keyring *envelope.Keyring
	clock   *clock
	svc     *auth.Service
	server  *httptest.Server
	admin   *rotor.AccessKey // the bootstrap key
}

// result is what the test server answers: the Authentication or the error.
type result struct {
	Code        string
	Message     string
	Identity    string
	AccessKeyID string
	Role        rotor.Role
	Scope       []rotor.Grant
	Expires     time.Time
	Region      string
	Service     string
}

// newEnv serves us-east-1 and eu-west-1.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvRegions(t, []string{testRegion, "eu-west-1"})
}

// newEnvRegions serves regions (nil: every region).
func newEnvRegions(t testing.TB, regions []string) *env {
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
	e := &env{store: &countingStore{Store: st}, keyring: kr, clock: &clock{now: time.Now().UTC()}}
	e.svc = auth.New(auth.Config{Store: e.store, Keyring: kr, Regions: regions, Now: e.clock.Now})
	e.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var res result
		a, err := e.svc.Authenticate(r, body)
		if err != nil {
			res.Code, res.Message = rotor.ErrorCode(err), rotor.ErrorMessage(err)
		} else {
			p := a.Principal
			res = result{Identity: p.Identity, AccessKeyID: p.AccessKeyID, Role: p.Role, Scope: p.Scope,
				Expires: p.Expires, Region: a.Region, Service: a.Service}
		}
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(e.server.Close)
	if e.admin, err = e.svc.Bootstrap(context.Background()); err != nil || e.admin == nil {
		t.Fatalf("Bootstrap = %v, %v", e.admin, err)
	}
	return e
}

// spareAdminKey gives the bootstrap admin a second active key, so tests may
// deactivate or delete the first (the last active admin key is kept).
func (e *env) spareAdminKey(t testing.TB) *rotor.AccessKey {
	t.Helper()
	k, err := e.svc.CreateAccessKey(context.Background(), auth.BootstrapIdentity)
	if err != nil {
		t.Fatalf("spare admin key: %v", err)
	}
	return k
}

func creds(k *rotor.AccessKey) aws.Credentials {
	return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
}

// call sends a request signed with c for region at the env's current time.
func (e *env) call(t *testing.T, c aws.Credentials, region string) result {
	t.Helper()
	return e.callWith(t, c, region, func(*http.Request) {})
}

// callWith is call with a hook that may change the request after signing.
func (e *env) callWith(t *testing.T, c aws.Credentials, region string, after func(*http.Request)) result {
	t.Helper()
	body := []byte(`{"MaxResults":1}`)
	req, err := http.NewRequest(http.MethodPost, e.server.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]),
		"secretsmanager", region, e.clock.Now()); err != nil {
		t.Fatalf("sign: %v", err)
	}
	after(req)
	resp, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	var res result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return res
}

// wantOK fails unless r is a successful authentication as identity.
func wantOK(t *testing.T, r result, identity string) {
	t.Helper()
	if r.Code != "" {
		t.Fatalf("authentication failed: %s: %s, want success as %s", r.Code, r.Message, identity)
	} else if r.Identity != identity {
		t.Fatalf("Identity=%q, want %q", r.Identity, identity)
	}
}

// wantFail fails unless r is a failure with code and message.
func wantFail(t *testing.T, r result, code, message string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("Code=%q (%s), want %q", r.Code, r.Message, code)
	} else if message != "" && r.Message != message {
		t.Fatalf("Message=%q, want %q", r.Message, message)
	}
}

// wantCode fails unless err carries the rotor error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := rotor.ErrorCode(err); got != code {
		t.Fatalf("error code=%q (%v), want %q", got, err, code)
	}
}

const (
	msgInvalid = "The security token included in the request is invalid."
	msgExpired = "The security token included in the request is expired"
)
