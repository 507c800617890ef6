package awsapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// These tests speak raw HTTP to the Handler, for what the SDK cannot show:
// framing, headers and the exact JSON.

func TestRawEmptyBody(t *testing.T) {
	for _, body := range []string{"", "{}", " \n\t{ } \n", "  "} {
		t.Run(strconv.Quote(body), func(t *testing.T) {
			got := rotor.ListSecretsInput{NextToken: "unset"}
			fs := &fakeSecrets{ListSecretsFn: func(_ context.Context, in rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
				got = in
				return &rotor.ListSecretsOutput{}, nil
			}}
			rec := post(t, newHandler(fs, nil), "secretsmanager.ListSecrets", body)
			mustJSON(t, rec)
			if got.NextToken != "" || got.MaxResults != 0 || got.Filters != nil {
				t.Errorf("service got %+v, want the zero input", got)
			}
			if rec.Body.String() != `{"SecretList":[]}` {
				t.Errorf("body=%s, want {\"SecretList\":[]}", rec.Body.String())
			}
		})
	}
}

func TestRawContentTypeLenient(t *testing.T) {
	for _, ct := range []string{"application/x-amz-json-1.1; charset=utf-8", "application/json", ""} {
		t.Run(ct, func(t *testing.T) {
			fs := &fakeSecrets{GetRandomPasswordFn: func(context.Context, rotor.PasswordSpec) (string, error) { return "pw", nil }}
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
			req.Header.Set("X-Amz-Target", "secretsmanager.GetRandomPassword")
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			newHandler(fs, nil).ServeHTTP(rec, req)
			if m := mustJSON(t, rec); m["RandomPassword"] != "pw" {
				t.Errorf("body=%s", rec.Body.String())
			}
		})
	}
}

// endless is a body that never ends; it counts what was read from it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestRawBodyLimit(t *testing.T) {
	t.Run("DeclaredLengthTooLarge", func(t *testing.T) {
		auth := &acceptAll{}
		h := &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: auth, MaxBodyBytes: 100}
		rec := post(t, h, "secretsmanager.ListSecrets", `{"NextToken":"`+strings.Repeat("x", 100)+`"}`)
		if msg := mustError(t, rec, http.StatusBadRequest, "ValidationException"); msg != "Request body is too large: the limit is 100 bytes." {
			t.Errorf("Message=%q", msg)
		}
		if auth.calls.Load() != 0 {
			t.Error("authenticator called for an oversize body")
		}
	})
	t.Run("UnknownLengthStopsReading", func(t *testing.T) {
		body := &endless{}
		h := &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: &acceptAll{}, MaxBodyBytes: 4096}
		req := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(body))
		req.ContentLength = -1
		req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if msg := mustError(t, rec, http.StatusBadRequest, "ValidationException"); msg != "Request body is too large: the limit is 4096 bytes." {
			t.Errorf("Message=%q", msg)
		}
		if body.n > 4096+1 {
			t.Errorf("read %d bytes of an endless body, want to stop just past the limit", body.n)
		}
	})
	t.Run("DefaultLimit", func(t *testing.T) {
		h := &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: &acceptAll{}}
		rec := post(t, h, "secretsmanager.ListSecrets", "{}"+strings.Repeat(" ", awsapi.DefaultMaxBodyBytes-1))
		if msg := mustError(t, rec, http.StatusBadRequest, "ValidationException"); msg != "Request body is too large: the limit is 1048576 bytes." {
			t.Errorf("Message=%q", msg)
		}
	})
	t.Run("ExactlyAtLimit", func(t *testing.T) {
		fs := &fakeSecrets{ListSecretsFn: func(context.Context, rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
			return &rotor.ListSecretsOutput{}, nil
		}}
		h := &awsapi.Handler{Secrets: fs, Auth: &acceptAll{}, MaxBodyBytes: 100}
		mustJSON(t, post(t, h, "secretsmanager.ListSecrets", "{}"+strings.Repeat(" ", 98)))
	})
}

func TestRawTargets(t *testing.T) {
	tests := []struct {
		name, target string
		want         string
	}{
		{"Missing", "", "Missing X-Amz-Target header."},
		{"UnknownOperation", "secretsmanager.DoSomething", "Unknown operation secretsmanager.DoSomething."},
		{"EmptyOperation", "secretsmanager.", "Unknown operation secretsmanager.."},
		{"UnknownPrefix", "kms.Encrypt", "Unknown operation kms.Encrypt."},
		{"NoDot", "GetSecretValue", "Unknown operation GetSecretValue."},
		{"CaseMatters", "SecretsManager.GetSecretValue", "Unknown operation SecretsManager.GetSecretValue."},
		{"UnknownRotorOperation", "rotor.Explode", "Unknown operation rotor.Explode."},
		{"NotEchoed", "secretsmanager.<script>", "Unknown operation in X-Amz-Target."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, fa := &fakeSecrets{}, &fakeAdmin{}
			rec := post(t, newHandler(fs, fa), tt.target, `{}`)
			if msg := mustError(t, rec, http.StatusBadRequest, "UnknownOperationException"); msg != tt.want {
				t.Errorf("Message=%q, want %q", msg, tt.want)
			}
			if fs.calls.Load()+fa.calls.Load() != 0 {
				t.Error("a service was called")
			}
		})
	}
}

func TestRawMethodAndPath(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/", http.StatusMethodNotAllowed},
		{http.MethodPost, "/secrets", http.StatusNotFound},
		{http.MethodGet, "/health", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			auth := &acceptAll{}
			h := &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: auth}
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{}`))
			req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			mustError(t, rec, tt.status, "UnknownOperationException")
			if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow=%q, want POST", rec.Header().Get("Allow"))
			}
			if auth.calls.Load() != 0 {
				t.Error("authenticator called")
			}
		})
	}
}

func TestRawAuthentication(t *testing.T) {
	t.Run("FailureMappedBeforeBodyIsParsed", func(t *testing.T) {
		var gotBody, readBody []byte
		fs := &fakeSecrets{}
		h := &awsapi.Handler{Secrets: fs, Auth: authFunc(func(r *http.Request, body []byte) (rotor.Authentication, error) {
			gotBody = body
			readBody, _ = io.ReadAll(r.Body)
			return rotor.Authentication{}, rotor.Errorf(rotor.EAUTHSIGNATURE, "The request signature we calculated does not match the signature you provided.")
		})}
		const body = `{"SecretId": not json`
		rec := post(t, h, "secretsmanager.GetSecretValue", body)
		if msg := mustError(t, rec, http.StatusBadRequest, "InvalidSignatureException"); msg != "The request signature we calculated does not match the signature you provided." {
			t.Errorf("Message=%q", msg)
		}
		if string(gotBody) != body || string(readBody) != body {
			t.Errorf("authenticator got body %q and read %q from r.Body, want %q", gotBody, readBody, body)
		}
		if fs.calls.Load() != 0 {
			t.Error("service called")
		}
	})
	t.Run("MissingIs400", func(t *testing.T) {
		h := &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: authFunc(func(*http.Request, []byte) (rotor.Authentication, error) {
			return rotor.Authentication{}, rotor.Errorf(rotor.EAUTHMISSING, "Missing Authentication Token")
		})}
		mustError(t, post(t, h, "secretsmanager.ListSecrets", `{}`), http.StatusBadRequest, "MissingAuthenticationTokenException")
	})
	t.Run("UnknownTargetNeedsAuthenticationFirst", func(t *testing.T) {
		h := &awsapi.Handler{Secrets: &fakeSecrets{}, Auth: authFunc(func(*http.Request, []byte) (rotor.Authentication, error) {
			return rotor.Authentication{}, rotor.Errorf(rotor.EAUTHUNKNOWN, "The security token included in the request is invalid.")
		})}
		mustError(t, post(t, h, "secretsmanager.Nope", `{}`), http.StatusBadRequest, "UnrecognizedClientException")
	})
	scoped := func(service string) awsapi.Authenticator {
		return authFunc(func(*http.Request, []byte) (rotor.Authentication, error) {
			return rotor.Authentication{Principal: testPrincipal, Region: testRegion, Service: service}, nil
		})
	}
	scopeTests := []struct {
		name, service, target, want string
	}{
		{"SecretsManagerTargetNeedsSecretsManagerScope", "rotor", "secretsmanager.ListSecrets", "Credential should be scoped to correct service: 'secretsmanager'."},
		{"OtherService", "s3", "secretsmanager.GetSecretValue", "Credential should be scoped to correct service: 'secretsmanager'."},
		{"RotorTargetNeedsRotorScope", "secretsmanager", "rotor.ListKeys", "Credential should be scoped to correct service: 'rotor'."},
		{"UnsupportedOperationToo", "s3", "secretsmanager.RotateSecret", "Credential should be scoped to correct service: 'secretsmanager'."},
	}
	for _, tt := range scopeTests {
		t.Run(tt.name, func(t *testing.T) {
			fs, fa := &fakeSecrets{}, &fakeAdmin{}
			h := &awsapi.Handler{Secrets: fs, Admin: fa, Auth: scoped(tt.service)}
			if msg := mustError(t, post(t, h, tt.target, `{}`), http.StatusBadRequest, "InvalidSignatureException"); msg != tt.want {
				t.Errorf("Message=%q, want %q", msg, tt.want)
			}
			if fs.calls.Load()+fa.calls.Load() != 0 {
				t.Error("a service was called")
			}
		})
	}
}

func TestRawMisconfiguredAndPanics(t *testing.T) {
	tests := []struct {
		name string
		h    *awsapi.Handler
	}{
		{"NoAuthenticator", &awsapi.Handler{Secrets: &fakeSecrets{}}},
		{"NoSecretService", &awsapi.Handler{Auth: &acceptAll{}}},
		{"ServicePanics", &awsapi.Handler{Auth: &acceptAll{}, Secrets: &fakeSecrets{
			ListSecretsFn: func(context.Context, rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) { panic("boom hunter2") },
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			tt.h.Logger = newLogger(&logs)
			rec := post(t, tt.h, "secretsmanager.ListSecrets", `{}`)
			if msg := mustError(t, rec, http.StatusInternalServerError, "InternalServiceError"); msg != "An error occurred on the server side." {
				t.Errorf("Message=%q", msg)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Errorf("body %s reveals the cause", rec.Body.String())
			}
			if !strings.Contains(logs.String(), rec.Header().Get("x-amzn-RequestId")) {
				t.Errorf("log %q lacks the request id", logs.String())
			}
		})
	}
	t.Run("NoAdminService", func(t *testing.T) {
		rec := post(t, &awsapi.Handler{Auth: &acceptAll{}, Secrets: &fakeSecrets{}}, "rotor.ListKeys", `{}`)
		mustError(t, rec, http.StatusInternalServerError, "InternalServiceError")
	})
}

// TestRawEncoding checks the exact JSON AWS clients parse: epoch-second
// timestamps with a millisecond fraction, LastAccessedDate at midnight,
// members without a value left out, Tags [] versus absent, base64 blobs,
// unescaped HTML characters and {} for operations without output.
func TestRawEncoding(t *testing.T) {
	fs := &fakeSecrets{
		DescribeSecretFn: func(_ context.Context, id string) (*rotor.SecretDescription, error) {
			switch id {
			case "fresh":
				return &rotor.SecretDescription{ARN: testARN, Name: testName, CreatedDate: created}, nil
			case "untagged":
				return &rotor.SecretDescription{ARN: testARN, Name: testName, Tags: []rotor.Tag{},
					LastAccessedDate: accessed, DeletedDate: ms(1700000000500), LastChangedDate: ms(1700000000000),
					Rotation: rotor.RotationConfig{Configured: true}}, nil
			}
			return nil, rotor.Errorf(rotor.ENOTFOUND, "Secrets Manager can't find the specified secret.")
		},
		GetSecretValueFn: func(_ context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
			v := rotor.Value{String: ptr(`{"html":"<a href='x'>&</a>"}`)}
			if in.SecretID == "bin" {
				v = rotor.Value{Binary: []byte("footest")}
			}
			return &rotor.SecretValue{ARN: testARN, Name: testName, VersionID: versionA, Value: v, Stages: []string{"AWSCURRENT"}, CreatedDate: created}, nil
		},
		TagResourceFn: func(context.Context, string, []rotor.Tag) error { return nil },
	}
	h := newHandler(fs, nil)
	tests := []struct {
		name, target, body, want string
	}{
		{"FreshSecret", "DescribeSecret", `{"SecretId":"fresh"}`,
			`{"ARN":"` + testARN + `","Name":"` + testName + `","CreatedDate":1523477145.713}`},
		{"TagsEmptyRotationConfiguredDatesTrimmed", "DescribeSecret", `{"SecretId":"untagged"}`,
			`{"ARN":"` + testARN + `","Name":"` + testName + `","RotationEnabled":false,"LastChangedDate":1700000000,` +
				`"LastAccessedDate":` + strconv.FormatInt(accessedDay.Unix(), 10) + `,"DeletedDate":1700000000.5,"Tags":[]}`},
		{"StringValueUnescaped", "GetSecretValue", `{"SecretId":"str"}`,
			`{"ARN":"` + testARN + `","Name":"` + testName + `","VersionId":"` + versionA + `","SecretString":"{\"html\":\"<a href='x'>&</a>\"}","VersionStages":["AWSCURRENT"],"CreatedDate":1523477145.713}`},
		{"BinaryValueBase64", "GetSecretValue", `{"SecretId":"bin"}`,
			`{"ARN":"` + testARN + `","Name":"` + testName + `","VersionId":"` + versionA + `","SecretBinary":"Zm9vdGVzdA==","VersionStages":["AWSCURRENT"],"CreatedDate":1523477145.713}`},
		{"NoOutputIsEmptyObject", "TagResource", `{"SecretId":"s","Tags":[{"Key":"k"}]}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(t, h, "secretsmanager."+tt.target, tt.body)
			mustJSON(t, rec)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body=\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	t.Run("ErrorBody", func(t *testing.T) {
		rec := post(t, h, "secretsmanager.DescribeSecret", `{"SecretId":"gone"}`)
		mustError(t, rec, http.StatusBadRequest, "ResourceNotFoundException")
		if want := `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`; rec.Body.String() != want {
			t.Errorf("body=%s, want %s", rec.Body.String(), want)
		}
	})
}

func TestRawRequestIDsAreUnique(t *testing.T) {
	fs := &fakeSecrets{ListSecretsFn: func(context.Context, rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
		return nil, errors.New("down")
	}}
	h := newHandler(fs, nil)
	seen := map[string]bool{}
	for range 5 {
		for _, body := range []string{`{}`, `{`} {
			rec := post(t, h, "secretsmanager.ListSecrets", body)
			id := rec.Header().Get("x-amzn-RequestId")
			if _, err := uuid.Parse(id); err != nil || seen[id] {
				t.Fatalf("request id %q missing or repeated", id)
			}
			seen[id] = true
		}
	}
}
