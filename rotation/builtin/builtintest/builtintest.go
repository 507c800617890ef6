// Package builtintest holds what the tests of the built-in rotation
// functions and their drivers share: a real secrets service over a
// temporary SQLite store, a way to drive the four rotation steps by hand,
// the addresses of the test databases, and TCP proxies that a test can cut
// to make a target unreachable. Only tests import it.
package builtintest

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/sqlite"
)

// Region and Account of the secrets the tests create.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

type allowAll struct{}

// Authorize allows everything.
func (allowAll) Authorize(context.Context, rotor.Caller, rotor.AccessRequest) error { return nil }

// Env is a real secrets service (manager over SQLite with a generated
// keyring) and a context carrying an admin caller in Region.
type Env struct {
	Secrets *manager.Service
	Store   rotor.Store
	Ctx     context.Context
	// Endpoint is the server URL Step gives functions ("" for none).
	Endpoint string
}

// NewEnv opens a store in a temporary directory and returns the service
// over it.
func NewEnv(t testing.TB) *Env {
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
	svc := manager.New(manager.Config{Store: st, Keyring: kr, Authorizer: allowAll{}, Account: Account})
	ctx := rotor.NewContext(context.Background(), rotor.Caller{Region: Region, Principal: rotor.Principal{Role: rotor.RoleAdmin}})
	return &Env{Secrets: svc, Store: st, Ctx: ctx}
}

// CreateSecret creates a secret holding value and returns its ARN.
func (e *Env) CreateSecret(t testing.TB, name, value string) string {
	t.Helper()
	out, err := e.Secrets.CreateSecret(e.Ctx, rotor.CreateSecretInput{Name: name, ClientRequestToken: uuid.NewString(), Value: rotor.Value{String: &value}})
	if err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	return out.ARN
}

// PutCurrent stores value as the secret's new AWSCURRENT.
func (e *Env) PutCurrent(t testing.TB, arn, value string) {
	t.Helper()
	in := rotor.PutSecretValueInput{SecretID: arn, ClientRequestToken: uuid.NewString(), Value: rotor.Value{String: &value}}
	if _, err := e.Secrets.PutSecretValue(e.Ctx, in); err != nil {
		t.Fatalf("put secret value: %v", err)
	}
}

// Value returns the SecretString of the version labelled stage, or "" when
// no version has the label.
func (e *Env) Value(t testing.TB, arn, stage string) string {
	t.Helper()
	out, err := e.Secrets.GetSecretValue(e.Ctx, rotor.GetSecretValueInput{SecretID: arn, VersionStage: stage})
	if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return ""
	} else if err != nil {
		t.Fatalf("get %s value: %v", stage, err)
	}
	return *out.Value.String
}

// StartRotation does what RotateSecret does before it queues a run: it
// enables rotation, binds it to the master secret the AWSCURRENT value's
// "masterarn" names (none when that secret does not exist) and creates the
// empty AWSPENDING placeholder version, whose id it returns.
func (e *Env) StartRotation(t testing.TB, arn string) string {
	t.Helper()
	token := uuid.NewString()
	master := ""
	var doc struct {
		MasterARN string `json:"masterarn"`
	}
	if json.Unmarshal([]byte(e.Value(t, arn, rotor.StageCurrent)), &doc) == nil && doc.MasterARN != "" {
		if d, err := e.Secrets.DescribeSecret(e.Ctx, doc.MasterARN); err == nil {
			master = d.ARN
		}
	}
	err := e.Store.Update(e.Ctx, func(tx rotor.Tx) error {
		rec, err := tx.Secret(arn)
		if err != nil {
			return err
		}
		rec.Rotation.Configured, rec.Rotation.Enabled, rec.Rotation.MasterARN = true, true, master
		if err := tx.UpdateSecret(rec); err != nil {
			return err
		}
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: token, CreatedDate: time.Now().UTC()}); err != nil {
			return err
		}
		return tx.SetStage(arn, rotor.StagePending, token)
	})
	if err != nil {
		t.Fatalf("start rotation: %v", err)
	}
	e.Secrets.InvalidateCache()
	return token
}

// FinishRotation does what the engine does after finishSecret succeeded:
// it removes the AWSPENDING label.
func (e *Env) FinishRotation(t testing.TB, arn string) {
	t.Helper()
	if err := e.Store.Update(e.Ctx, func(tx rotor.Tx) error { return tx.RemoveStage(arn, rotor.StagePending) }); err != nil {
		t.Fatalf("remove AWSPENDING: %v", err)
	}
	e.Secrets.InvalidateCache()
}

// Step invokes one step of fn for the rotation of arn to token, with the
// master secret the rotation is bound to, as the engine does.
func (e *Env) Step(fn lambda.Function, arn, token, step string) error {
	d, err := e.Secrets.DescribeSecret(e.Ctx, arn)
	if err != nil {
		return err
	}
	_, err = fn.Invoke(e.Ctx, lambda.Invocation{
		Event:    lambda.Event{Step: step, SecretID: arn, ClientRequestToken: token},
		Region:   Region,
		Master:   d.Rotation.MasterARN,
		Endpoint: e.Endpoint,
	})
	return err
}

// Steps invokes the given steps in order and returns the first error,
// naming its step.
func (e *Env) Steps(fn lambda.Function, arn, token string, steps ...string) error {
	for _, s := range steps {
		if err := e.Step(fn, arn, token, s); err != nil {
			return &StepError{Step: s, Err: err}
		}
	}
	return nil
}

// StepError is the failure of one step.
type StepError struct {
	Step string
	Err  error
}

// Error names the step and says why it failed.
func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the function's error.
func (e *StepError) Unwrap() error { return e.Err }

// Rotate runs a whole rotation of arn with fn and returns the new
// version's id; the test fails if a step fails.
func (e *Env) Rotate(t testing.TB, fn lambda.Function, arn string) string {
	t.Helper()
	token := e.StartRotation(t, arn)
	if err := e.Steps(fn, arn, token, rotor.Steps...); err != nil {
		t.Fatalf("rotate %s: %v", arn, err)
	}
	e.FinishRotation(t, arn)
	return token
}

// HostPort splits u's host into host and port.
func HostPort(t testing.TB, u *url.URL) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return host, p
}

// Unique returns prefix followed by a short random suffix, for names of
// users, databases and secrets that tests running at the same time never
// share.
func Unique(prefix string) string {
	return prefix + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
}
