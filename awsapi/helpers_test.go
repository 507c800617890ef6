package awsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// fakeSecrets is a function-field rotor.SecretService. A method whose
// function is nil fails with a rotor EINTERNAL error; calls counts every
// call, so a test can assert the service was never reached.
type fakeSecrets struct {
	calls atomic.Int32

	CreateSecretFn             func(context.Context, rotor.CreateSecretInput) (*rotor.VersionResult, error)
	GetSecretValueFn           func(context.Context, rotor.GetSecretValueInput) (*rotor.SecretValue, error)
	BatchGetSecretValueFn      func(context.Context, rotor.BatchGetSecretValueInput) (*rotor.BatchGetSecretValueOutput, error)
	PutSecretValueFn           func(context.Context, rotor.PutSecretValueInput) (*rotor.VersionResult, error)
	UpdateSecretFn             func(context.Context, rotor.UpdateSecretInput) (*rotor.VersionResult, error)
	UpdateSecretVersionStageFn func(context.Context, rotor.UpdateSecretVersionStageInput) (*rotor.SecretRef, error)
	DescribeSecretFn           func(context.Context, string) (*rotor.SecretDescription, error)
	ListSecretsFn              func(context.Context, rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error)
	ListSecretVersionIdsFn     func(context.Context, rotor.ListSecretVersionIdsInput) (*rotor.ListSecretVersionIdsOutput, error)
	DeleteSecretFn             func(context.Context, rotor.DeleteSecretInput) (*rotor.DeleteSecretOutput, error)
	RestoreSecretFn            func(context.Context, string) (*rotor.SecretRef, error)
	TagResourceFn              func(context.Context, string, []rotor.Tag) error
	UntagResourceFn            func(context.Context, string, []string) error
	GetRandomPasswordFn        func(context.Context, rotor.PasswordSpec) (string, error)
	PutResourcePolicyFn        func(context.Context, rotor.PutResourcePolicyInput) (*rotor.SecretRef, error)
	GetResourcePolicyFn        func(context.Context, string) (*rotor.ResourcePolicy, error)
	DeleteResourcePolicyFn     func(context.Context, string) (*rotor.SecretRef, error)
	ValidateResourcePolicyFn   func(context.Context, rotor.ValidateResourcePolicyInput) (*rotor.PolicyValidation, error)
}

var _ rotor.SecretService = (*fakeSecrets)(nil)

var errNotSet = rotor.Errorf(rotor.EINTERNAL, "fake: method not set")

func (f *fakeSecrets) PutResourcePolicy(ctx context.Context, in rotor.PutResourcePolicyInput) (*rotor.SecretRef, error) {
	f.calls.Add(1)
	if f.PutResourcePolicyFn == nil {
		return nil, errNotSet
	}
	return f.PutResourcePolicyFn(ctx, in)
}

func (f *fakeSecrets) GetResourcePolicy(ctx context.Context, id string) (*rotor.ResourcePolicy, error) {
	f.calls.Add(1)
	if f.GetResourcePolicyFn == nil {
		return nil, errNotSet
	}
	return f.GetResourcePolicyFn(ctx, id)
}

func (f *fakeSecrets) DeleteResourcePolicy(ctx context.Context, id string) (*rotor.SecretRef, error) {
	f.calls.Add(1)
	if f.DeleteResourcePolicyFn == nil {
		return nil, errNotSet
	}
	return f.DeleteResourcePolicyFn(ctx, id)
}

func (f *fakeSecrets) ValidateResourcePolicy(ctx context.Context, in rotor.ValidateResourcePolicyInput) (*rotor.PolicyValidation, error) {
	f.calls.Add(1)
	if f.ValidateResourcePolicyFn == nil {
		return nil, errNotSet
	}
	return f.ValidateResourcePolicyFn(ctx, in)
}

func (f *fakeSecrets) CreateSecret(ctx context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
	f.calls.Add(1)
	if f.CreateSecretFn == nil {
		return nil, errNotSet
	}
	return f.CreateSecretFn(ctx, in)
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
	f.calls.Add(1)
	if f.GetSecretValueFn == nil {
		return nil, errNotSet
	}
	return f.GetSecretValueFn(ctx, in)
}

func (f *fakeSecrets) BatchGetSecretValue(ctx context.Context, in rotor.BatchGetSecretValueInput) (*rotor.BatchGetSecretValueOutput, error) {
	f.calls.Add(1)
	if f.BatchGetSecretValueFn == nil {
		return nil, errNotSet
	}
	return f.BatchGetSecretValueFn(ctx, in)
}

func (f *fakeSecrets) PutSecretValue(ctx context.Context, in rotor.PutSecretValueInput) (*rotor.VersionResult, error) {
	f.calls.Add(1)
	if f.PutSecretValueFn == nil {
		return nil, errNotSet
	}
	return f.PutSecretValueFn(ctx, in)
}

func (f *fakeSecrets) UpdateSecret(ctx context.Context, in rotor.UpdateSecretInput) (*rotor.VersionResult, error) {
	f.calls.Add(1)
	if f.UpdateSecretFn == nil {
		return nil, errNotSet
	}
	return f.UpdateSecretFn(ctx, in)
}

func (f *fakeSecrets) UpdateSecretVersionStage(ctx context.Context, in rotor.UpdateSecretVersionStageInput) (*rotor.SecretRef, error) {
	f.calls.Add(1)
	if f.UpdateSecretVersionStageFn == nil {
		return nil, errNotSet
	}
	return f.UpdateSecretVersionStageFn(ctx, in)
}

func (f *fakeSecrets) DescribeSecret(ctx context.Context, id string) (*rotor.SecretDescription, error) {
	f.calls.Add(1)
	if f.DescribeSecretFn == nil {
		return nil, errNotSet
	}
	return f.DescribeSecretFn(ctx, id)
}

func (f *fakeSecrets) ListSecrets(ctx context.Context, in rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
	f.calls.Add(1)
	if f.ListSecretsFn == nil {
		return nil, errNotSet
	}
	return f.ListSecretsFn(ctx, in)
}

func (f *fakeSecrets) ListSecretVersionIds(ctx context.Context, in rotor.ListSecretVersionIdsInput) (*rotor.ListSecretVersionIdsOutput, error) {
	f.calls.Add(1)
	if f.ListSecretVersionIdsFn == nil {
		return nil, errNotSet
	}
	return f.ListSecretVersionIdsFn(ctx, in)
}

func (f *fakeSecrets) DeleteSecret(ctx context.Context, in rotor.DeleteSecretInput) (*rotor.DeleteSecretOutput, error) {
	f.calls.Add(1)
	if f.DeleteSecretFn == nil {
		return nil, errNotSet
	}
	return f.DeleteSecretFn(ctx, in)
}

func (f *fakeSecrets) RestoreSecret(ctx context.Context, id string) (*rotor.SecretRef, error) {
	f.calls.Add(1)
	if f.RestoreSecretFn == nil {
		return nil, errNotSet
	}
	return f.RestoreSecretFn(ctx, id)
}

func (f *fakeSecrets) TagResource(ctx context.Context, id string, tags []rotor.Tag) error {
	f.calls.Add(1)
	if f.TagResourceFn == nil {
		return errNotSet
	}
	return f.TagResourceFn(ctx, id, tags)
}

func (f *fakeSecrets) UntagResource(ctx context.Context, id string, keys []string) error {
	f.calls.Add(1)
	if f.UntagResourceFn == nil {
		return errNotSet
	}
	return f.UntagResourceFn(ctx, id, keys)
}

func (f *fakeSecrets) GetRandomPassword(ctx context.Context, spec rotor.PasswordSpec) (string, error) {
	f.calls.Add(1)
	if f.GetRandomPasswordFn == nil {
		return "", errNotSet
	}
	return f.GetRandomPasswordFn(ctx, spec)
}

// fakeAdmin is a function-field rotor.AdminService, like fakeSecrets.
type fakeAdmin struct {
	calls atomic.Int32

	CreateIdentityFn  func(context.Context, string, rotor.Role) (*rotor.Identity, error)
	ListIdentitiesFn  func(context.Context) ([]rotor.Identity, error)
	DeleteIdentityFn  func(context.Context, string) error
	CreateAccessKeyFn func(context.Context, string) (*rotor.AccessKey, error)
	UpdateAccessKeyFn func(context.Context, string, string) error
	DeleteAccessKeyFn func(context.Context, string) error
	ListKeysFn        func(context.Context) ([]rotor.KeyInfo, error)
	RotateKeysFn      func(context.Context) (*rotor.KeyInfo, error)
	RetireKeyFn       func(context.Context, string) error
	BackupFn          func(context.Context, string) (string, error)
	DownloadBackupFn  func(context.Context) (*rotor.Snapshot, error)

	PutIdentityPolicyFn    func(context.Context, string, string) error
	GetIdentityPolicyFn    func(context.Context, string) (string, error)
	DeleteIdentityPolicyFn func(context.Context, string) error
}

func (f *fakeAdmin) PutIdentityPolicy(ctx context.Context, name, doc string) error {
	f.calls.Add(1)
	if f.PutIdentityPolicyFn == nil {
		return errNotSet
	}
	return f.PutIdentityPolicyFn(ctx, name, doc)
}

func (f *fakeAdmin) GetIdentityPolicy(ctx context.Context, name string) (string, error) {
	f.calls.Add(1)
	if f.GetIdentityPolicyFn == nil {
		return "", errNotSet
	}
	return f.GetIdentityPolicyFn(ctx, name)
}

func (f *fakeAdmin) DeleteIdentityPolicy(ctx context.Context, name string) error {
	f.calls.Add(1)
	if f.DeleteIdentityPolicyFn == nil {
		return errNotSet
	}
	return f.DeleteIdentityPolicyFn(ctx, name)
}

var _ rotor.AdminService = (*fakeAdmin)(nil)

func (f *fakeAdmin) CreateIdentity(ctx context.Context, name string, role rotor.Role) (*rotor.Identity, error) {
	f.calls.Add(1)
	if f.CreateIdentityFn == nil {
		return nil, errNotSet
	}
	return f.CreateIdentityFn(ctx, name, role)
}

func (f *fakeAdmin) ListIdentities(ctx context.Context) ([]rotor.Identity, error) {
	f.calls.Add(1)
	if f.ListIdentitiesFn == nil {
		return nil, errNotSet
	}
	return f.ListIdentitiesFn(ctx)
}

func (f *fakeAdmin) DeleteIdentity(ctx context.Context, name string) error {
	f.calls.Add(1)
	if f.DeleteIdentityFn == nil {
		return errNotSet
	}
	return f.DeleteIdentityFn(ctx, name)
}

func (f *fakeAdmin) CreateAccessKey(ctx context.Context, identity string) (*rotor.AccessKey, error) {
	f.calls.Add(1)
	if f.CreateAccessKeyFn == nil {
		return nil, errNotSet
	}
	return f.CreateAccessKeyFn(ctx, identity)
}

func (f *fakeAdmin) UpdateAccessKey(ctx context.Context, id, status string) error {
	f.calls.Add(1)
	if f.UpdateAccessKeyFn == nil {
		return errNotSet
	}
	return f.UpdateAccessKeyFn(ctx, id, status)
}

func (f *fakeAdmin) DeleteAccessKey(ctx context.Context, id string) error {
	f.calls.Add(1)
	if f.DeleteAccessKeyFn == nil {
		return errNotSet
	}
	return f.DeleteAccessKeyFn(ctx, id)
}

func (f *fakeAdmin) ListKeys(ctx context.Context) ([]rotor.KeyInfo, error) {
	f.calls.Add(1)
	if f.ListKeysFn == nil {
		return nil, errNotSet
	}
	return f.ListKeysFn(ctx)
}

func (f *fakeAdmin) RotateKeys(ctx context.Context) (*rotor.KeyInfo, error) {
	f.calls.Add(1)
	if f.RotateKeysFn == nil {
		return nil, errNotSet
	}
	return f.RotateKeysFn(ctx)
}

func (f *fakeAdmin) RetireKey(ctx context.Context, id string) error {
	f.calls.Add(1)
	if f.RetireKeyFn == nil {
		return errNotSet
	}
	return f.RetireKeyFn(ctx, id)
}

func (f *fakeAdmin) Backup(ctx context.Context, path string) (string, error) {
	f.calls.Add(1)
	if f.BackupFn == nil {
		return "", errNotSet
	}
	return f.BackupFn(ctx, path)
}

func (f *fakeAdmin) DownloadBackup(ctx context.Context) (*rotor.Snapshot, error) {
	f.calls.Add(1)
	if f.DownloadBackupFn == nil {
		return nil, errNotSet
	}
	return f.DownloadBackupFn(ctx)
}

// fakeRotation is a function-field rotor.Rotator, like fakeSecrets.
type fakeRotation struct {
	calls atomic.Int32

	RotateSecretFn       func(context.Context, rotor.RotateSecretInput) (*rotor.VersionResult, error)
	CancelRotateSecretFn func(context.Context, string) (*rotor.VersionResult, error)
}

var _ rotor.Rotator = (*fakeRotation)(nil)

func (f *fakeRotation) RotateSecret(ctx context.Context, in rotor.RotateSecretInput) (*rotor.VersionResult, error) {
	f.calls.Add(1)
	if f.RotateSecretFn == nil {
		return nil, errNotSet
	}
	return f.RotateSecretFn(ctx, in)
}

func (f *fakeRotation) CancelRotateSecret(ctx context.Context, id string) (*rotor.VersionResult, error) {
	f.calls.Add(1)
	if f.CancelRotateSecretFn == nil {
		return nil, errNotSet
	}
	return f.CancelRotateSecretFn(ctx, id)
}

// fakeRuns is a function-field rotor.RotationService, like fakeSecrets.
type fakeRuns struct {
	calls atomic.Int32

	ListRotationRunsFn func(context.Context, rotor.RunFilter) ([]rotor.RunRecord, error)
	RotationHistoryFn  func(context.Context, string, int) ([]rotor.RunHistory, error)
	AbandonRotationFn  func(context.Context, string) (*rotor.VersionResult, error)
}

var _ rotor.RotationService = (*fakeRuns)(nil)

func (f *fakeRuns) ListRotationRuns(ctx context.Context, filter rotor.RunFilter) ([]rotor.RunRecord, error) {
	f.calls.Add(1)
	if f.ListRotationRunsFn == nil {
		return nil, errNotSet
	}
	return f.ListRotationRunsFn(ctx, filter)
}

func (f *fakeRuns) RotationHistory(ctx context.Context, id string, limit int) ([]rotor.RunHistory, error) {
	f.calls.Add(1)
	if f.RotationHistoryFn == nil {
		return nil, errNotSet
	}
	return f.RotationHistoryFn(ctx, id, limit)
}

func (f *fakeRuns) AbandonRotation(ctx context.Context, id string) (*rotor.VersionResult, error) {
	f.calls.Add(1)
	if f.AbandonRotationFn == nil {
		return nil, errNotSet
	}
	return f.AbandonRotationFn(ctx, id)
}

// testPrincipal is who acceptAll says signed every request.
var testPrincipal = rotor.Principal{Identity: "tester", AccessKeyID: "AKIDTESTTESTTEST", Role: rotor.RoleAdmin}

const testRegion = "eu-west-3"

// acceptAll is an Authenticator that accepts every request (the real one is
// tested in package auth). Its credential scope names the service of the
// request's target prefix, so both secretsmanager.* and rotor.* pass the
// scope check.
type acceptAll struct{ calls atomic.Int32 }

func (a *acceptAll) Authenticate(r *http.Request, body []byte) (rotor.Authentication, error) {
	a.calls.Add(1)
	service, _, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if !ok {
		service = "secretsmanager"
	}
	return rotor.Authentication{Principal: testPrincipal, Region: testRegion, Service: service}, nil
}

// authFunc adapts a function to awsapi.Authenticator.
type authFunc func(r *http.Request, body []byte) (rotor.Authentication, error)

func (f authFunc) Authenticate(r *http.Request, body []byte) (rotor.Authentication, error) {
	return f(r, body)
}

// logBuffer is a concurrency-safe buffer for a test logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newHandler returns a Handler over the fakes with an accept-all authenticator.
func newHandler(s *fakeSecrets, a *fakeAdmin) *awsapi.Handler {
	return &awsapi.Handler{Secrets: s, Admin: a, Auth: &acceptAll{}}
}

// newClient starts h on an httptest server and returns an aws-sdk-go-v2
// Secrets Manager client pointed at it, with retries off.
func newClient(t *testing.T, h http.Handler) *secretsmanager.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTESTTESTTEST", "secret", ""),
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Retryer = aws.NopRetryer{}
	})
}

// post sends one raw request through h and returns the recorded response.
func post(t *testing.T, h http.Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wireError is an error response body.
type wireError struct {
	Type    string `json:"__type"`
	Message string `json:"Message"`
}

// mustError checks rec is an AWS error response with the given status and
// type, and returns its message.
func mustError(t *testing.T, rec *httptest.ResponseRecorder, status int, typ string) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status=%d, want %d (body %s)", rec.Code, status, rec.Body.String())
	}
	var e wireError
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body.String(), err)
	}
	if e.Type != typ {
		t.Fatalf("__type=%q, want %q (message %q)", e.Type, typ, e.Message)
	}
	if got := rec.Header().Get("X-Amzn-ErrorType"); got != typ {
		t.Fatalf("X-Amzn-ErrorType=%q, want %q", got, typ)
	}
	checkCommonHeaders(t, rec.Header())
	return e.Message
}

// checkCommonHeaders checks the headers every response carries.
func checkCommonHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type=%q, want application/x-amz-json-1.1", got)
	}
	if id := h.Get("x-amzn-RequestId"); len(id) != 36 {
		t.Errorf("x-amzn-RequestId=%q, want a UUID", id)
	}
}

// mustJSON checks rec is a 200 JSON response and decodes it into a map.
func mustJSON(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status=%d, want 200 (body %s)", rec.Code, rec.Body.String())
	}
	checkCommonHeaders(t, rec.Header())
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", rec.Body.String(), err)
	}
	return m
}

// wantAPIError checks that err is an AWS API error with this code and message.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err=%v (%T), want an API error %s", err, err, code)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("error=%s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// ms returns a UTC time with millisecond precision.
func ms(unixMilli int64) time.Time { return time.UnixMilli(unixMilli).UTC() }

func ptr[T any](v T) *T { return &v }

// newLogger returns a debug-level JSON logger writing to buf.
func newLogger(buf *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
