package sigv4_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sigv4"
)

// parseAndVerify runs both steps the way a server does.
func parseAndVerify(v *sigv4.Verifier, c captured, secret string) error {
	a, err := sigv4.ParseRequest(c.r)
	if err != nil {
		return err
	}
	return v.Verify(c.r, c.body, a, secret)
}

func TestVerifyValid(t *testing.T) {
	w := newWire(t)
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"aws-sdk-go-v2 headers", func() *http.Request {
			return sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, signTime)
		}},
		{"aws-sdk-go-v2 headers with session token", func() *http.Request {
			return sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, testToken), testRegion, testService, signTime)
		}},
		{"aws-sdk-go-v2 empty body", func() *http.Request {
			return sdkRequest(t, w.URL(), nil, creds(testSecret, ""), testRegion, testService, signTime)
		}},
		{"aws-sdk-go-v2 {} body", func() *http.Request {
			return sdkRequest(t, w.URL(), []byte("{}"), creds(testSecret, ""), testRegion, testService, signTime)
		}},
		{"boto3 header set", func() *http.Request {
			return botoRequest(t, http.MethodPost, w.URL()+"/", []byte(testBody), creds(testSecret, ""), signTime)
		}},
		{"other region", func() *http.Request {
			return sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), "eu-central-1", testService, signTime)
		}},
		{"header values with runs of spaces and repeated headers", func() *http.Request {
			req, err := http.NewRequest(http.MethodPost, w.URL()+"/", strings.NewReader(testBody))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
			req.Header.Set("Amz-Sdk-Request", "attempt=1;    max=3")
			req.Header.Set("X-Amz-Meta-Note", "a   b  c    d")
			req.Header.Add("X-Amz-Meta-Multi", "first   value")
			req.Header.Add("X-Amz-Meta-Multi", "second")
			sign(t, req, []byte(testBody), creds(testSecret, ""), testRegion, testService, signTime)
			return req
		}},
		{"signed at midnight", func() *http.Request {
			return sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, time.Date(2020, 6, 11, 0, 0, 0, 0, time.UTC))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req()
			got := w.send(t, req)
			a, err := sigv4.ParseRequest(got.r)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			v := &sigv4.Verifier{Now: fixedNow(a.Time)}
			if err := v.Verify(got.r, got.body, a, testSecret); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyBotoSignedHeaderSet(t *testing.T) {
	w := newWire(t)
	got := w.send(t, botoRequest(t, http.MethodPost, w.URL()+"/", []byte(testBody), creds(testSecret, ""), signTime))
	a, err := sigv4.ParseRequest(got.r)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(a.SignedHeaders, ";"); s != "content-type;host;x-amz-date;x-amz-target" {
		t.Fatalf("SignedHeaders = %s, want boto3's set", s)
	}
	// Go's server sees headers the client did not sign.
	if got.r.Header.Get("User-Agent") == "" || got.r.Header.Get("Content-Length") == "" {
		t.Fatalf("expected unsigned User-Agent and Content-Length on the wire, got %v", got.r.Header)
	}
	if err := (&sigv4.Verifier{Now: fixedNow(signTime)}).Verify(got.r, got.body, a, testSecret); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifyFailures(t *testing.T) {
	w := newWire(t)
	plain := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, signTime))
	withToken := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, testToken), testRegion, testService, signTime))
	otherSecret := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds("ANOTHERSECRETKEY0123456789abcdefghijklmn", ""), testRegion, testService, signTime))
	otherRegion := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), "us-east-1", testService, signTime))
	otherService := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, "kms", signTime))

	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

	tests := []struct {
		name    string
		base    captured
		mutate  func(c *captured)
		secret  string
		code    string
		message string
	}{
		{name: "untouched", base: plain},
		{name: "untouched with token", base: withToken},
		{name: "unsigned header changed", base: plain, mutate: func(c *captured) {
			c.r.Header.Set("User-Agent", "something-else/2.0")
			c.r.Header.Set("Accept-Encoding", "br")
		}},
		{name: "unsigned header added", base: plain, mutate: func(c *captured) {
			c.r.Header.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793")
			c.r.Header.Set("X-Forwarded-For", "203.0.113.7")
		}},
		{name: "matching unsigned x-amz-content-sha256", base: plain, mutate: func(c *captured) {
			c.r.Header.Set("X-Amz-Content-Sha256", payloadHash(c.body))
		}},
		{name: "tampered body", base: plain, mutate: func(c *captured) {
			c.body = bytes.Replace(c.body, []byte("prod/db"), []byte("prod/xx"), 1)
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "truncated body", base: plain, mutate: func(c *captured) {
			c.body = c.body[:len(c.body)-1]
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "tampered signed header", base: plain, mutate: func(c *captured) {
			c.r.Header.Set("X-Amz-Target", "secretsmanager.DeleteSecret")
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "signed header gets a second value", base: plain, mutate: func(c *captured) {
			c.r.Header.Add("Content-Type", "text/plain")
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "tampered session token", base: withToken, mutate: func(c *captured) {
			c.r.Header.Set("X-Amz-Security-Token", testToken+"x")
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "tampered host", base: plain, mutate: func(c *captured) {
			c.r.Host = "evil.example"
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "tampered method", base: plain, mutate: func(c *captured) {
			c.r.Method = http.MethodPut
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "tampered path", base: plain, mutate: func(c *captured) {
			c.r.URL.Path = "/other"
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "query added", base: plain, mutate: func(c *captured) {
			c.r.URL.RawQuery = "Action=DeleteSecret"
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "signature altered", base: plain, mutate: func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			last := authz[len(authz)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			c.r.Header.Set("Authorization", authz[:len(authz)-1]+string(repl))
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "signed header missing", base: plain, mutate: func(c *captured) {
			c.r.Header.Del("Amz-Sdk-Invocation-Id")
		}, code: rotor.EAUTHSIGNATURE, message: "Header 'amz-sdk-invocation-id' is listed in SignedHeaders but is missing from the request."},
		{name: "signed content-length missing", base: plain, mutate: func(c *captured) {
			c.r.Header.Del("Content-Length")
			c.r.ContentLength = -1
		}, code: rotor.EAUTHSIGNATURE, message: "Header 'content-length' is listed in SignedHeaders but is missing from the request."},
		{name: "session token removed", base: withToken, mutate: func(c *captured) {
			c.r.Header.Del("X-Amz-Security-Token")
		}, code: rotor.EAUTHSIGNATURE, message: "Header 'x-amz-security-token' is listed in SignedHeaders but is missing from the request."},
		{name: "host not signed", base: plain, mutate: func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			c.r.Header.Set("Authorization", strings.Replace(authz, ";host;", ";", 1))
		}, code: rotor.EAUTHSIGNATURE, message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "x-amz-content-sha256 does not match body", base: plain, mutate: func(c *captured) {
			c.r.Header.Set("X-Amz-Content-Sha256", payloadHash([]byte("other")))
		}, code: rotor.EAUTHSIGNATURE, message: "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{name: "x-amz-content-sha256 UNSIGNED-PAYLOAD", base: plain, mutate: func(c *captured) {
			c.r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}, code: rotor.EAUTHSIGNATURE, message: "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{name: "wrong secret", base: plain, secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ", code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "signed with another secret", base: otherSecret, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "scope region differs from signing region", base: otherRegion, mutate: func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			c.r.Header.Set("Authorization", strings.Replace(authz, "/us-east-1/", "/"+testRegion+"/", 1))
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
		{name: "scope service differs from signing service", base: otherService, mutate: func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			c.r.Header.Set("Authorization", strings.Replace(authz, "/kms/", "/"+testService+"/", 1))
		}, code: rotor.EAUTHSIGNATURE, message: mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base.clone()
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			secret := tt.secret
			if secret == "" {
				secret = testSecret
			}
			v := &sigv4.Verifier{Now: fixedNow(signTime)}
			err := parseAndVerify(v, c, secret)
			if got := code(t, err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			if msg := rotor.ErrorMessage(err); msg != tt.message {
				t.Errorf("message = %q\nwant      %q", msg, tt.message)
			}
			checkSafe(t, err, signatureOf(c.r.Header.Get("Authorization")))
		})
	}
}

func TestVerifyClockSkew(t *testing.T) {
	w := newWire(t)
	got := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, signTime))
	a, err := sigv4.ParseRequest(got.r)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse("20060102T150405Z", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name    string
		now     time.Time
		skew    time.Duration
		code    string
		message string
	}{
		{name: "same time", now: signTime},
		{name: "just inside, server ahead", now: signTime.Add(15 * time.Minute)},
		{name: "just inside, server ahead, sub-second", now: signTime.Add(15*time.Minute + 999*time.Millisecond - time.Second)},
		{name: "just inside, server behind", now: signTime.Add(-15 * time.Minute)},
		{name: "just outside, server ahead", now: signTime.Add(15*time.Minute + time.Second), code: rotor.EAUTHSIGNATURE,
			message: "Signature expired: 20200611T141439Z is now earlier than 20200611T141440Z (20200611T142940Z - 15 min.)"},
		{name: "just outside, server ahead by a nanosecond", now: signTime.Add(15*time.Minute + time.Nanosecond), code: rotor.EAUTHSIGNATURE,
			message: "Signature expired: 20200611T141439Z is now earlier than 20200611T141439Z (20200611T142939Z - 15 min.)"},
		{name: "just outside, server behind", now: signTime.Add(-15*time.Minute - time.Second), code: rotor.EAUTHSIGNATURE,
			message: "Signature not yet current: 20200611T141439Z is still later than 20200611T141438Z (20200611T135938Z + 15 min.)"},
		{name: "AWS example, expired", now: at("20200611T144500Z"), code: rotor.EAUTHSIGNATURE,
			message: "Signature expired: 20200611T141439Z is now earlier than 20200611T143000Z (20200611T144500Z - 15 min.)"},
		{name: "AWS example, not yet current", now: at("20200611T135900Z"), code: rotor.EAUTHSIGNATURE,
			message: "Signature not yet current: 20200611T141439Z is still later than 20200611T141400Z (20200611T135900Z + 15 min.)"},
		{name: "custom window inside", now: signTime.Add(5 * time.Minute), skew: 5 * time.Minute},
		{name: "custom window outside", now: signTime.Add(5*time.Minute + time.Second), skew: 5 * time.Minute, code: rotor.EAUTHSIGNATURE,
			message: "Signature expired: 20200611T141439Z is now earlier than 20200611T141440Z (20200611T141940Z - 5 min.)"},
		{name: "server in another zone", now: signTime.In(time.FixedZone("UTC+9", 9*3600)).Add(16 * time.Minute), code: rotor.EAUTHSIGNATURE,
			message: "Signature expired: 20200611T141439Z is now earlier than 20200611T141539Z (20200611T143039Z - 15 min.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &sigv4.Verifier{Now: fixedNow(tt.now), MaxSkew: tt.skew}
			err := v.Verify(got.r, got.body, a, testSecret)
			if c := code(t, err); c != tt.code {
				t.Fatalf("code = %q (%v), want %q", c, err, tt.code)
			}
			if msg := rotor.ErrorMessage(err); msg != tt.message {
				t.Errorf("message = %q\nwant      %q", msg, tt.message)
			}
		})
	}
}

// TestVerifyDefaultNow checks that a nil Now means the real clock: a request
// signed now passes, one signed an hour ago does not.
func TestVerifyDefaultNow(t *testing.T) {
	w := newWire(t)
	var v sigv4.Verifier
	for _, tt := range []struct {
		at   time.Time
		code string
	}{
		{time.Now(), ""},
		{time.Now().Add(-time.Hour), rotor.EAUTHSIGNATURE},
		{time.Now().Add(time.Hour), rotor.EAUTHSIGNATURE},
	} {
		got := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, tt.at))
		if c := code(t, parseAndVerify(&v, got, testSecret)); c != tt.code {
			t.Errorf("signed at %v: code = %q, want %q", tt.at, c, tt.code)
		}
	}
}

// TestVerifyPathsAndQueries checks the canonical URI and query string
// against the SDK signer for paths and queries that need encoding. The query
// reaches the server in the client's order and encoding (as botocore sends
// it), not in canonical form.
func TestVerifyPathsAndQueries(t *testing.T) {
	w := newWire(t)
	v := &sigv4.Verifier{Now: fixedNow(signTime)}
	for _, target := range []string{
		"/",
		"",
		"/a/b/c",
		"/a%20b/c%2Fd/e~f_g.h-i",
		"/%E2%9C%93/caf%C3%A9",
		"/a//b/",
		"/?b=2&a=1&a=0&A=3",
		"/?flag&empty=&z=last",
		"/?q=a+b&r=x%20y&s=%2F%3D%26&t=~-._",
		"/x?%E2%9C%93=%E2%9C%93",
	} {
		t.Run(target, func(t *testing.T) {
			got := w.send(t, botoRequest(t, http.MethodPost, w.URL()+target, []byte(testBody), creds(testSecret, ""), signTime))
			if err := parseAndVerify(v, got, testSecret); err != nil {
				t.Fatalf("Verify %q (server saw %q): %v", target, got.r.URL.RequestURI(), err)
			}
		})
	}
}

// TestVerifySDKKnownAnswer replays aws-sdk-go-v2's own signer test
// (TestSignRequest in aws/signer/v4/v4_test.go) and expects its published
// signature: an opaque path full of reserved characters, header values with
// inner spaces, a header with two values, content-length known only as
// Request.ContentLength, and headers the SDK never signs.
func TestVerifySDKKnownAnswer(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "https://dynamodb.us-east-1.amazonaws.com", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = "//example.org/bucket/key-._~,!@#$%^&*()"
	req.Header.Set("X-Amz-Target", "prefix.Operation")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.ContentLength = 2
	req.Header.Set("X-Amz-Meta-Other-Header", "some-value=!@#$%^&* (+)")
	req.Header.Add("X-Amz-Meta-Other-Header_With_Underscore", "some-value=!@#$%^&* (+)")
	req.Header.Add("X-amz-Meta-Other-Header_With_Underscore", "some-value=!@#$%^&* (+)")
	req.Header.Set("User-Agent", "foo")
	req.Header.Set("X-Amzn-Trace-Id", "bar")
	req.Header.Set("Expect", "baz")
	req.Header.Set("Transfer-Encoding", "qux")
	req.Header.Set("X-Amz-Date", "19700101T000000Z")
	req.Header.Set("X-Amz-Security-Token", "SESSION")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/19700101/us-east-1/dynamodb/aws4_request, "+
		"SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-meta-other-header;x-amz-meta-other-header_with_underscore;x-amz-security-token;x-amz-target, "+
		"Signature=a518299330494908a70222cec6899f6f32f297f8595f6df1776d998936652ad9")

	a, err := sigv4.ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Now: fixedNow(time.Unix(0, 0))}
	if err := v.Verify(req, []byte("{}"), a, "SECRET"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := v.Verify(req, []byte("{}"), a, "SECRET2"); code(t, err) != rotor.EAUTHSIGNATURE {
		t.Fatalf("Verify with another secret: %v, want EAUTHSIGNATURE", err)
	}
}

// TestVerifySecretChange checks that the signing-key cache never answers for
// a secret it was not derived from: the same key id, date, region and
// service with a new secret must use the new secret.
func TestVerifySecretChange(t *testing.T) {
	w := newWire(t)
	const newSecret = "NEWSECRETNEWSECRETNEWSECRETNEWSECRET0000"
	v := &sigv4.Verifier{Now: fixedNow(signTime)}
	old := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, signTime))
	rotated := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(newSecret, ""), testRegion, testService, signTime))

	steps := []struct {
		req    captured
		secret string
		code   string
	}{
		{old, testSecret, ""},
		{rotated, testSecret, rotor.EAUTHSIGNATURE},
		{rotated, newSecret, ""},
		{old, newSecret, rotor.EAUTHSIGNATURE},
		{old, testSecret, ""},
	}
	for i, s := range steps {
		if c := code(t, parseAndVerify(v, s.req, s.secret)); c != s.code {
			t.Errorf("step %d: code = %q, want %q", i, c, s.code)
		}
	}
}

// TestVerifyConcurrent verifies from many goroutines at once with one
// Verifier; run with -race.
func TestVerifyConcurrent(t *testing.T) {
	w := newWire(t)
	regions := []string{"us-west-2", "us-east-1", "eu-west-1", "ap-south-1"}
	var reqs []captured
	for _, region := range regions {
		reqs = append(reqs, w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), region, testService, signTime)))
	}
	v := &sigv4.Verifier{Now: fixedNow(signTime)}
	errs := make(chan error, 64)
	for i := range 64 {
		go func() {
			c := reqs[i%len(reqs)]
			secret := testSecret
			if i%3 == 0 {
				secret = "wrong"
			}
			err := parseAndVerify(v, c, secret)
			if (secret == testSecret) != (err == nil) {
				errs <- errors.New("unexpected result: " + rotor.ErrorMessage(err))
				return
			}
			errs <- nil
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestVerifyWithSecretsManagerClient points the real Secrets Manager client
// at a server that authenticates with this package. The server answers with
// an AWS error shape when verification fails, so the client call succeeds
// exactly when the signature verifies.
func TestVerifyWithSecretsManagerClient(t *testing.T) {
	var (
		v            sigv4.Verifier
		mu           sync.Mutex // guards serverSecret and signed
		serverSecret string
		signed       []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		a, err := sigv4.ParseRequest(r)
		if err == nil {
			mu.Lock()
			signed = a.SignedHeaders
			secret := serverSecret
			mu.Unlock()
			err = v.Verify(r, body, a, secret)
		}
		rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(rw).Encode(map[string]string{"__type": "InvalidSignatureException", "Message": rotor.ErrorMessage(err)})
			return
		}
		_ = json.NewEncoder(rw).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/db-AbCdEf", "Name": "prod/db",
			"SecretString": "hunter2", "VersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
		})
	}))
	defer srv.Close()

	for _, tt := range []struct {
		name, token, serverSecret string
		ok                        bool
	}{
		{"long-term key", "", testSecret, true},
		{"session token", testToken, testSecret, true},
		{"server has another secret", "", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			serverSecret = tt.serverSecret
			mu.Unlock()
			client := secretsmanager.New(secretsmanager.Options{
				Region:       testRegion,
				BaseEndpoint: aws.String(srv.URL),
				Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, tt.token),
				HTTPClient:   srv.Client(),
				Retryer:      aws.NopRetryer{},
			})
			out, err := client.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db")})
			if !tt.ok {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
					t.Fatalf("err = %v, want InvalidSignatureException", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecretValue: %v", err)
			}
			if aws.ToString(out.SecretString) != "hunter2" {
				t.Errorf("SecretString = %q", aws.ToString(out.SecretString))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, h := range []string{"amz-sdk-invocation-id", "amz-sdk-request", "content-type", "host", "x-amz-date", "x-amz-target"} {
				if !strings.Contains(";"+strings.Join(signed, ";")+";", ";"+h+";") {
					t.Errorf("SDK did not sign %q; signed %v", h, signed)
				}
			}
		})
	}
}

// TestVerifyWarmRejectsChanges checks that nothing a Verifier keeps between
// calls (signing keys, pooled buffers and HMAC states) lets a changed request
// through: on one warm Verifier, each changed copy of a request that has
// just verified is refused, and the original still verifies after it.
func TestVerifyWarmRejectsChanges(t *testing.T) {
	w := newWire(t)
	good := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, ""), testRegion, testService, signTime))
	v := &sigv4.Verifier{Now: fixedNow(signTime)}
	changes := []struct {
		name   string
		mutate func(c *captured)
		secret string
	}{
		{"body", func(c *captured) { c.body = bytes.Replace(c.body, []byte("prod"), []byte("prox"), 1) }, ""},
		{"signed header", func(c *captured) { c.r.Header.Set("X-Amz-Target", "secretsmanager.DeleteSecret") }, ""},
		{"host", func(c *captured) { c.r.Host = "other.example" }, ""},
		{"path", func(c *captured) { c.r.URL.Path = "/x" }, ""},
		{"secret", nil, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"},
		{"signature", func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			c.r.Header.Set("Authorization", authz[:len(authz)-8]+"00000000")
		}, ""},
	}
	for round := range 3 {
		for _, ch := range changes {
			if err := parseAndVerify(v, good.clone(), testSecret); err != nil {
				t.Fatalf("round %d before %s: original refused: %v", round, ch.name, err)
			}
			c := good.clone()
			if ch.mutate != nil {
				ch.mutate(&c)
			}
			secret := testSecret
			if ch.secret != "" {
				secret = ch.secret
			}
			if got := code(t, parseAndVerify(v, c, secret)); got != rotor.EAUTHSIGNATURE {
				t.Errorf("round %d: changed %s: code = %q, want %q", round, ch.name, got, rotor.EAUTHSIGNATURE)
			}
		}
	}
}

// TestVerifyAllocations pins the cost of a warm verification: with the
// signing key cached, Verify allocates nothing.
func TestVerifyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; scripts/test runs this test without it")
	}
	w := newWire(t)
	got := w.send(t, sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, testToken), testRegion, testService, signTime))
	a, err := sigv4.ParseRequest(got.r)
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Now: fixedNow(signTime)}
	if err := v.Verify(got.r, got.body, a, testSecret); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := v.Verify(got.r, got.body, a, testSecret); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("warm Verify allocates %v times, want 0", allocs)
	}
}

// partlySigned returns a genuinely signed request whose signature covers
// only host, x-amz-date and content-type, carrying unsigned on top: what an
// attacker who captured such a request could send with other headers.
func partlySigned(t *testing.T, unsigned map[string]string) captured {
	t.Helper()
	w := newWire(t)
	body := []byte(testBody)
	shadow, err := http.NewRequest(http.MethodPost, w.URL()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	shadow.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sign(t, shadow, body, creds(testSecret, ""), testRegion, testService, signTime)
	if got := shadow.Header.Get("Authorization"); !strings.Contains(got, "SignedHeaders=content-type;host;x-amz-date,") {
		t.Fatalf("shadow request signed over unexpected headers: %s", got)
	}
	req, err := http.NewRequest(http.MethodPost, w.URL()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Content-Type", "X-Amz-Date", "Authorization"} {
		req.Header.Set(k, shadow.Header.Get(k))
	}
	for k, v := range unsigned {
		req.Header.Set(k, v)
	}
	return w.send(t, req)
}

func TestVerifyRequiresSignedTargetDateAndToken(t *testing.T) {
	tests := []struct {
		name     string
		unsigned map[string]string
		mutate   func(c *captured)
		message  string
	}{
		{name: "x-amz-target", unsigned: map[string]string{"X-Amz-Target": "secretsmanager.DeleteSecret"},
			message: "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "x-amz-security-token", unsigned: map[string]string{"X-Amz-Security-Token": testToken},
			message: "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "x-amz-date", mutate: func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			c.r.Header.Set("Authorization", strings.Replace(authz, ";x-amz-date,", ",", 1))
		}, message: "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "date without x-amz-date", mutate: func(c *captured) {
			authz := c.r.Header.Get("Authorization")
			c.r.Header.Set("Authorization", strings.Replace(authz, ";x-amz-date,", ",", 1))
			c.r.Header.Set("Date", signTime.Format(http.TimeFormat))
			c.r.Header.Del("X-Amz-Date")
		}, message: "'Date' must be a 'SignedHeader' in the AWS Authorization."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := partlySigned(t, tt.unsigned)
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			v := &sigv4.Verifier{Now: fixedNow(signTime)}
			err := parseAndVerify(v, c, testSecret)
			if got := code(t, err); got != rotor.EAUTHSIGNATURE {
				t.Fatalf("code = %q (%v), want %q", got, err, rotor.EAUTHSIGNATURE)
			}
			if msg := rotor.ErrorMessage(err); msg != tt.message {
				t.Errorf("message = %q\nwant      %q", msg, tt.message)
			}
		})
	}
	// The same request without the unsigned header verifies: the signature
	// itself is genuine, only the header outside it is refused.
	v := &sigv4.Verifier{Now: fixedNow(signTime)}
	if err := parseAndVerify(v, partlySigned(t, nil), testSecret); err != nil {
		t.Fatalf("request signed over content-type;host;x-amz-date alone: %v", err)
	}
}
