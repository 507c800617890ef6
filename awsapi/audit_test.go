package awsapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// recordingAuditor is a function-field rotor.Auditor that keeps every
// record (the real one, package audit, is tested there and end to end).
type recordingAuditor struct {
	mu       sync.Mutex
	BeginFn  func() (bool, error) // nil = always reserved
	begins   int
	recs     []rotor.AuditRecord
	reserved []bool
}

func (a *recordingAuditor) Begin(context.Context) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.begins++
	if a.BeginFn != nil {
		return a.BeginFn()
	}
	return true, nil
}

func (a *recordingAuditor) Record(rec rotor.AuditRecord, reserved bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, rec)
	a.reserved = append(a.reserved, reserved)
}

func (a *recordingAuditor) records() []rotor.AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]rotor.AuditRecord(nil), a.recs...)
}

const auditValue = "s3cr3t-Value-<&>-\u00e9"

func TestAuditOneRecordPerRequestWithoutValues(t *testing.T) {
	arn := "arn:aws:secretsmanager:eu-west-3:123456789012:secret:app/db-AbCdEf"
	fs := &fakeSecrets{
		CreateSecretFn: func(_ context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: arn, Name: in.Name, VersionID: in.ClientRequestToken}, nil
		},
		PutSecretValueFn: func(_ context.Context, in rotor.PutSecretValueInput) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: arn, Name: "app/db", VersionID: in.ClientRequestToken}, nil
		},
		GetSecretValueFn: func(_ context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
			v := auditValue
			return &rotor.SecretValue{ARN: arn, Name: "app/db", VersionID: "v-1", Value: rotor.Value{String: &v}, Stages: []string{"AWSCURRENT"}}, nil
		},
	}
	au := &recordingAuditor{}
	h := newHandler(fs, &fakeAdmin{})
	h.Audit = au
	token := "11111111-2222-3333-4444-555555555555"
	b64 := base64.StdEncoding.EncodeToString([]byte(auditValue))

	type call struct{ target, body string }
	calls := []call{
		{"secretsmanager.CreateSecret", `{"Name":"app/db","ClientRequestToken":"` + token + `","SecretString":"` + auditValue + `","Description":"d","Tags":[{"Key":"team","Value":"x"}]}`},
		{"secretsmanager.PutSecretValue", `{"SecretId":"app/db","ClientRequestToken":"` + token + `","SecretBinary":"` + b64 + `","VersionStages":["AWSCURRENT"]}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"app/db","VersionStage":"AWSCURRENT"}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":""}`}, // validation error
		{"secretsmanager.Nope", `{}`},
		{"rotor.ListKeys", `{}`},
	}
	for _, c := range calls {
		post(t, h, c.target, c.body)
	}
	recs := au.records()
	if len(recs) != len(calls) || au.begins != len(calls) {
		t.Fatalf("%d records and %d Begin calls for %d requests", len(recs), au.begins, len(calls))
	}
	for i, rec := range recs {
		all, _ := json.Marshal(rec)
		for _, form := range []string{auditValue, b64, strings.Trim(string(must(json.Marshal(auditValue))), `"`)} {
			if strings.Contains(string(all)+string(rec.Parameters), form) {
				t.Errorf("record %d (%s) holds the value (%q): %s", i, rec.Name, form, all)
			}
		}
		if rec.RequestID == "" || rec.Time.IsZero() || rec.SourceIP == "" {
			t.Errorf("record %d lacks request id, time or source ip: %+v", i, rec)
		}
		if len(rec.Parameters) > 0 && !json.Valid(rec.Parameters) {
			t.Errorf("record %d parameters are not JSON: %s", i, rec.Parameters)
		}
	}
	wantParams := []string{
		`{"name":"app/db","clientRequestToken":"` + token + `","description":"d","tags":[{"Key":"team","Value":"x"}]}`,
		`{"secretId":"app/db","clientRequestToken":"` + token + `","versionStages":["AWSCURRENT"]}`,
		`{"secretId":"app/db","versionStage":"AWSCURRENT"}`,
		``, ``, ``,
	}
	for i, want := range wantParams {
		if got := string(recs[i].Parameters); got != want {
			t.Errorf("%s parameters = %s, want %s", calls[i].target, got, want)
		}
	}
	get := recs[2]
	if get.Source != rotor.AuditSourceSecretsManager || get.Name != "GetSecretValue" || !get.ReadOnly ||
		get.ARN != arn || get.VersionID != "v-1" || get.ErrorCode != "" || get.Principal.Identity != testPrincipal.Identity || get.Principal.AccessKeyID != testPrincipal.AccessKeyID || get.Region != testRegion {
		t.Errorf("GetSecretValue record = %+v", get)
	}
	if recs[0].ReadOnly || recs[0].VersionID != token {
		t.Errorf("CreateSecret record = %+v", recs[0])
	}
	if recs[3].ErrorCode != "ValidationException" || recs[3].ErrorMessage == "" {
		t.Errorf("validation failure record = %+v", recs[3])
	}
	if recs[4].ErrorCode != "UnknownOperationException" || recs[4].Name != "Nope" {
		t.Errorf("unknown operation record = %+v", recs[4])
	}
	if recs[5].Source != rotor.AuditSourceRotor || recs[5].Name != "ListKeys" {
		t.Errorf("rotor.ListKeys record = %+v", recs[5])
	}
}

func must(b []byte, err error) []byte { return b }

func TestAuditRecordsFailedAuthenticationWithPresentedKey(t *testing.T) {
	au := &recordingAuditor{}
	fs := &fakeSecrets{}
	h := &awsapi.Handler{Secrets: fs, Audit: au, Auth: authFunc(func(*http.Request, []byte) (rotor.Authentication, error) {
		return rotor.Authentication{}, rotor.Errorf(rotor.EAUTHUNKNOWN, "The security token included in the request is invalid.")
	})}
	for _, authz := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY0001/20261203/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=my-secret-key-pasted-here/20261203/eu-west-1/secretsmanager/aws4_request",
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"SecretId":"x"}`))
		req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
		req.Header.Set("Authorization", authz)
		req.Header.Set("User-Agent", "test-agent")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	recs := au.records()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if r.AccessKeyID != "AKIAUNKNOWNKEY0001" || r.Region != "eu-west-1" || r.Principal.Identity != "" ||
		r.ErrorCode != "UnrecognizedClientException" || r.UserAgent != "test-agent" || r.Parameters != nil {
		t.Errorf("record = %+v", r)
	}
	if recs[1].AccessKeyID != "" {
		t.Errorf("a credential that is not an access key id was recorded: %q", recs[1].AccessKeyID)
	}
	if fs.calls.Load() != 0 {
		t.Error("service called")
	}
}

func TestAuditUnavailableIsRetryable503(t *testing.T) {
	unavailable := rotor.Errorf(rotor.EUNAVAILABLE, "The audit log cannot be written at the moment; the request was not served. Retry later.")
	au := &recordingAuditor{BeginFn: func() (bool, error) { return false, unavailable }}
	fs := &fakeSecrets{}
	h := newHandler(fs, &fakeAdmin{})
	h.Audit = au
	rec := post(t, h, "secretsmanager.GetSecretValue", `{"SecretId":"app/db"}`)
	if msg := mustError(t, rec, http.StatusServiceUnavailable, "ServiceUnavailableException"); msg != unavailable.Message {
		t.Errorf("Message = %q", msg)
	}
	if fs.calls.Load() != 0 {
		t.Fatal("the service was called although the audit log refused")
	}
	recs := au.records()
	if len(recs) != 1 || au.reserved[0] || recs[0].ErrorCode != "ServiceUnavailableException" || recs[0].Name != "GetSecretValue" {
		t.Fatalf("records = %+v reserved %v, want the refusal recorded without a reservation", recs, au.reserved)
	}

	// The AWS SDK retries it: three attempts with the standard retryer.
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := secretsmanager.NewFromConfig(aws.Config{Region: testRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTESTTESTTEST", "secret", "")},
		func(o *secretsmanager.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		})
	_, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db")})
	wantAPIError(t, err, "ServiceUnavailableException", unavailable.Message)
	if n := len(au.records()); n != 1+3 {
		t.Fatalf("%d requests reached the server, want the first + 3 SDK attempts", n)
	}
}
