package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rotorhq/rotor"
)

const (
	testKeyID   = "AKIAIOSFODNN7EXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken   = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLE"
	testRegion  = "us-west-2"
	testService = "secretsmanager"
	testBody    = `{"SecretId":"prod/db","VersionStage":"AWSCURRENT"}`
)

// signTime is the time of the botocore request quoted in aws-api.md §1.5.
var signTime = time.Date(2020, 6, 11, 14, 14, 39, 0, time.UTC)

// fixedNow returns a Now function that always reports t.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// payloadHash is the hex SHA-256 of body, as the SDK passes it to SignHTTP.
func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// sign signs req with the real aws-sdk-go-v2 client signer. A fresh Signer
// is used every time because the SDK's own key cache ignores the secret.
func sign(tb testing.TB, req *http.Request, body []byte, creds aws.Credentials, region, service string, at time.Time) {
	tb.Helper()
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(body), service, region, at)
	if err != nil {
		tb.Fatalf("SignHTTP: %v", err)
	}
}

// creds returns static credentials for the test key, with token if non-empty.
func creds(secret, token string) aws.Credentials {
	return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret, SessionToken: token}
}

// sdkRequest builds a Secrets Manager request the way aws-sdk-go-v2 does
// (POST /, JSON 1.1 content type, X-Amz-Target, amz-sdk-invocation-id and
// amz-sdk-request, a known Content-Length) and signs it.
func sdkRequest(tb testing.TB, baseURL string, body []byte, c aws.Credentials, region, service string, at time.Time) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Amz-Sdk-Invocation-Id", "6f1c1d6e-0a2b-4c3d-8e9f-0123456789ab")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux api/secretsmanager#1.50.12")
	sign(tb, req, body, c, region, service, at)
	return req
}

// botoRequest builds a request that carries exactly the signed header set
// boto3 uses (content-type;host;x-amz-date;x-amz-target) plus unsigned extras
// (User-Agent, Content-Length). The signature is computed by the SDK signer
// over a shadow request holding only those headers.
func botoRequest(tb testing.TB, method, rawURL string, body []byte, c aws.Credentials, at time.Time) *http.Request {
	tb.Helper()
	shadow, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		tb.Fatal(err)
	}
	shadow.Header.Set("Content-Type", "application/x-amz-json-1.1")
	shadow.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	c.SessionToken = "" // botocore signs the token too; keep the set minimal here
	sign(tb, shadow, body, c, testRegion, testService, at)

	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("User-Agent", "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.1")
	req.Header.Set("X-Amz-Date", shadow.Header.Get("X-Amz-Date"))
	req.Header.Set("Authorization", shadow.Header.Get("Authorization"))
	return req
}

// captured is a request as Go's HTTP server hands it to a handler, with its
// complete body.
type captured struct {
	r    *http.Request
	body []byte
}

// clone returns a deep copy that a test may modify.
func (c captured) clone() captured {
	return captured{r: c.r.Clone(context.Background()), body: bytes.Clone(c.body)}
}

// wire is an httptest.Server that records the requests it receives.
type wire struct {
	srv *httptest.Server
	got chan captured
}

// newWire starts a server whose handler records each request and answers 204.
func newWire(tb testing.TB) *wire {
	tb.Helper()
	w := &wire{got: make(chan captured, 1)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.got <- captured{r: r.Clone(context.Background()), body: body}
		rw.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(w.srv.Close)
	return w
}

// URL is the server's base URL.
func (w *wire) URL() string { return w.srv.URL }

// send sends req over a real connection and returns what the server saw.
func (w *wire) send(tb testing.TB, req *http.Request) captured {
	tb.Helper()
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("send: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		tb.Fatalf("send: status %d", resp.StatusCode)
	}
	return <-w.got
}

// code returns the rotor code of err and fails the test if err is neither
// nil nor a *rotor.Error.
func code(tb testing.TB, err error) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	var re *rotor.Error
	if !errors.As(err, &re) {
		tb.Fatalf("error %v (%T) is not a *rotor.Error", err, err)
	}
	return re.Code
}

// checkSafe fails if the client-visible message of err leaks the secret,
// the session token or the signature.
func checkSafe(tb testing.TB, err error, signature string) {
	tb.Helper()
	msg := rotor.ErrorMessage(err)
	for _, s := range []string{testSecret, testToken, signature} {
		if s != "" && strings.Contains(msg, s) {
			tb.Errorf("message %q leaks secret material", msg)
		}
	}
}

// signatureOf extracts the Signature part of an Authorization header.
func signatureOf(authz string) string {
	_, sig, _ := strings.Cut(authz, "Signature=")
	return sig
}
