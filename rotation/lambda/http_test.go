package lambda_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// received is one request as an HTTP function saw it.
type received struct {
	Method string
	Header http.Header
	Body   []byte
}

// recorder is an HTTP function that records its requests and answers with
// answer.
type recorder struct {
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.got = append(rec.got, received{r.Method, r.Header.Clone(), body})
	rec.mu.Unlock()
	if rec.answer != nil {
		rec.answer(w, r)
	}
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.got...)
}

// only returns the one request the function received.
func (rec *recorder) only(t *testing.T) received {
	t.Helper()
	got := rec.requests()
	if len(got) != 1 {
		t.Fatalf("function received %d requests, want 1", len(got))
	}
	return got[0]
}

func newFunction(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*recorder, *httptest.Server) {
	t.Helper()
	rec := &recorder{answer: answer}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

func reply(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

var credentialHeaders = []string{lambda.HeaderAccessKeyID, lambda.HeaderSecretAccessKey, lambda.HeaderSessionToken}

func TestHTTPSuccess(t *testing.T) {
	rec, srv := newFunction(t, reply(http.StatusOK, nil, `{"ok":true}`))
	inv := testInvocation()
	res, err := (&lambda.HTTP{URL: srv.URL + "/rotate"}).Invoke(context.Background(), inv)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.Output != `{"ok":true}` {
		t.Errorf("Output = %q, want the response body", res.Output)
	}
	req := rec.only(t)
	if req.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.Method)
	}
	if string(req.Body) != testEventJSON {
		t.Errorf("body = %s, want %s", req.Body, testEventJSON)
	}
	want := map[string]string{
		"Content-Type":               "application/json",
		"X-Amz-Invocation-Type":      "RequestResponse",
		lambda.HeaderRegion:          inv.Region,
		lambda.HeaderEndpoint:        inv.Endpoint,
		lambda.HeaderAccessKeyID:     inv.Credentials.AccessKeyID,
		lambda.HeaderSecretAccessKey: inv.Credentials.SecretAccessKey,
		lambda.HeaderSessionToken:    inv.Credentials.SessionToken,
		lambda.HeaderTimestamp:       "",
		lambda.HeaderSignature:       "",
	}
	for name, value := range want {
		if got := req.Header.Get(name); got != value {
			t.Errorf("header %s = %q, want %q", name, got, value)
		}
	}
}

func TestHTTPFailures(t *testing.T) {
	errorObject := `{"errorType":"ValueError","errorMessage":"Invalid step parameter","stackTrace":[]}`
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		msg    string // "" = success
	}{
		{"500", reply(500, nil, "internal oops\n"), "http function answered 500: internal oops"},
		{"502NoBody", reply(502, nil, ""), "http function answered 502"},
		{"404", reply(404, nil, "no such function"), "http function answered 404: no such function"},
		{"FunctionErrorHeader", reply(200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, errorObject),
			"http function failed: Unhandled: ValueError: Invalid step parameter"},
		{"FunctionErrorHeaderNotJSON", reply(200, map[string]string{"X-Amz-Function-Error": "Handled"}, "it broke"),
			"http function failed: Handled: it broke"},
		{"ErrorObjectWith200", reply(200, nil, errorObject), "http function failed: ValueError: Invalid step parameter"},
		{"ErrorMessageOnly", reply(200, nil, `{"errorMessage":"no type"}`), "http function failed: no type"},
		{"OKObject", reply(200, nil, `{"status":"done"}`), ""},
		{"OKArrayNamingErrorType", reply(200, nil, `["errorType"]`), ""},
		{"NoContent", reply(204, nil, ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFunction(t, tt.answer)
			rr := httptest.NewRecorder()
			tt.answer(rr, httptest.NewRequest("POST", "/", nil))
			res, err := (&lambda.HTTP{URL: srv.URL}).Invoke(context.Background(), testInvocation())
			if res.Output != rr.Body.String() {
				t.Errorf("Output = %q, want the body %q", res.Output, rr.Body.String())
			}
			if tt.msg == "" {
				if err != nil {
					t.Errorf("Invoke: %v, want success", err)
				}
				return
			}
			mustFailWith(t, err, tt.msg)
		})
	}
}

func TestHTTPRedirectNotFollowed(t *testing.T) {
	target, targetSrv := newFunction(t, reply(200, nil, "captured"))
	_, redirector := newFunction(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetSrv.URL+"/steal", http.StatusTemporaryRedirect)
	})
	tests := []struct {
		name   string
		client *http.Client
	}{
		{"DefaultClient", nil},
		// A caller's client that would follow redirects is not allowed to.
		{"FollowingClient", &http.Client{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &lambda.HTTP{URL: redirector.URL, Client: tt.client}
			_, err := fn.Invoke(context.Background(), testInvocation())
			if err == nil || !strings.HasPrefix(rotor.ErrorMessage(err), "http function answered 307 (redirects are not followed)") {
				t.Errorf("err = %v, want a 307 failure", err)
			}
			if n := len(target.requests()); n != 0 {
				t.Errorf("redirect target received %d requests, want 0", n)
			}
		})
	}
	if tests[1].client.CheckRedirect != nil {
		t.Errorf("Invoke modified the caller's Client")
	}
}

func TestCredentialsAllowed(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://rotation.example.com/hook", true},
		{"https://10.1.2.3:8443/", true},
		{"http://127.0.0.1:9000/rotate", true},
		{"http://127.9.8.7/", true},
		{"http://[::1]:9000/", true},
		{"http://[::ffff:127.0.0.1]/", true},
		{"http://localhost:9000/", true},
		{"http://LOCALHOST./", true},
		{"HTTP://127.0.0.1/", true},
		{"http://rotation.example.com/hook", false},
		{"http://10.0.0.5:8080/", false},
		{"http://192.168.1.10/", false},
		{"http://0.0.0.0:9000/", false},
		{"http://[::]:9000/", false},
		{"http://localhost.example.com/", false},
		{"http://127.0.0.1.example.com/", false},
		{"http://[2001:db8::1]/", false},
		{"ftp://127.0.0.1/", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatalf("parse %q: %v", tt.url, err)
		}
		if got := lambda.CredentialsAllowed(u); got != tt.want {
			t.Errorf("CredentialsAllowed(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

// TestHTTPCredentialsByScheme sends real requests to URLs with non-loopback
// names; httptest's client dials every example.com name to the test server,
// so nothing leaves the machine.
func TestHTTPCredentialsByScheme(t *testing.T) {
	inv := testInvocation()
	t.Run("PlainHTTPRemote", func(t *testing.T) {
		rec, srv := newFunction(t, reply(200, nil, ""))
		fn := &lambda.HTTP{URL: "http://rotation.example.com/hook", Client: srv.Client()}
		if _, err := fn.Invoke(context.Background(), inv); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		req := rec.only(t)
		for _, name := range credentialHeaders {
			if v, ok := req.Header[name]; ok {
				t.Errorf("header %s = %q sent over plain http to a remote host", name, v)
			}
		}
		if got := req.Header.Get(lambda.HeaderEndpoint); got != inv.Endpoint {
			t.Errorf("header %s = %q, want %q", lambda.HeaderEndpoint, got, inv.Endpoint)
		}
	})
	t.Run("HTTPSRemote", func(t *testing.T) {
		rec := &recorder{answer: reply(200, nil, "")}
		srv := httptest.NewTLSServer(rec)
		defer srv.Close()
		fn := &lambda.HTTP{URL: "https://example.com/hook", Client: srv.Client()}
		if _, err := fn.Invoke(context.Background(), inv); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		req := rec.only(t)
		for i, name := range credentialHeaders {
			want := []string{inv.Credentials.AccessKeyID, inv.Credentials.SecretAccessKey, inv.Credentials.SessionToken}[i]
			if got := req.Header.Get(name); got != want {
				t.Errorf("header %s = %q, want %q over https", name, got, want)
			}
		}
	})
}

func TestHTTPSignature(t *testing.T) {
	secret := []byte("signing-secret")
	rec, srv := newFunction(t, reply(200, nil, ""))
	if _, err := (&lambda.HTTP{URL: srv.URL, Secret: secret}).Invoke(context.Background(), testInvocation()); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	req := rec.only(t)
	ts, sig := req.Header.Get(lambda.HeaderTimestamp), req.Header.Get(lambda.HeaderSignature)

	// The format, computed independently: "v1=" + hex(HMAC-SHA256(secret, ts + "." + body)).
	mac := hmac.New(sha256.New, secret)
	io.WriteString(mac, ts+"."+string(req.Body))
	if want := "v1=" + hex.EncodeToString(mac.Sum(nil)); sig != want {
		t.Errorf("%s = %q, want %q", lambda.HeaderSignature, sig, want)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q, want Unix seconds", lambda.HeaderTimestamp, ts)
	}
	sent := time.Unix(secs, 0)

	tests := []struct {
		name   string
		secret []byte
		body   []byte
		now    time.Time
		code   string
	}{
		{"OK", secret, req.Body, time.Now(), ""},
		{"OKWithin5Minutes", secret, req.Body, sent.Add(4*time.Minute + 59*time.Second), ""},
		{"OKClockBehind", secret, req.Body, sent.Add(-4 * time.Minute), ""},
		{"ErrWrongSecret", []byte("other-secret"), req.Body, time.Now(), rotor.EAUTHSIGNATURE},
		{"ErrTamperedBody", secret, []byte(strings.Replace(string(req.Body), "createSecret", "finishSecret", 1)), time.Now(), rotor.EAUTHSIGNATURE},
		{"ErrStale", secret, req.Body, sent.Add(5*time.Minute + time.Second), rotor.EAUTHSIGNATURE},
		{"ErrFuture", secret, req.Body, sent.Add(-5*time.Minute - time.Second), rotor.EAUTHSIGNATURE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lambda.VerifySignature(tt.secret, ts, sig, tt.body, tt.now)
			if code := rotor.ErrorCode(err); code != tt.code {
				t.Errorf("VerifySignature = %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	_, srv := newFunction(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers only when the caller gives up
	})
	for _, tt := range []struct {
		name   string
		client *http.Client
	}{{"DefaultClient", nil}, {"GivenClient", &http.Client{}}} {
		t.Run(tt.name, func(t *testing.T) {
			fn := &lambda.HTTP{URL: srv.URL, Timeout: 100 * time.Millisecond, Client: tt.client}
			_, err := fn.Invoke(context.Background(), testInvocation())
			mustFailWith(t, err, "http function timed out after 100ms")
		})
	}
}

func TestHTTPCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, srv := newFunction(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	_, err := (&lambda.HTTP{URL: srv.URL}).Invoke(ctx, testInvocation())
	mustFailWith(t, err, "http function canceled: context canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
	}
}

func TestHTTPTransportError(t *testing.T) {
	// A loopback port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	fn := &lambda.HTTP{URL: "http://" + addr + "/hook?token=url-held-token"}
	_, err = fn.Invoke(context.Background(), testInvocation())
	msg := rotor.ErrorMessage(err)
	if rotor.ErrorCode(err) != rotor.EINTERNAL || !strings.HasPrefix(msg, "http function request failed: ") || !strings.Contains(msg, "connection refused") {
		t.Errorf("err = %v, want a refused-connection failure", err)
	}
	if strings.Contains(msg, "url-held-token") {
		t.Errorf("message %q quotes the URL", msg)
	}
}

func TestHTTPBodyBounded(t *testing.T) {
	_, srv := newFunction(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("y", 32<<10))
		for range 64 { // 2 MiB, more than Invoke will read
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	res, err := (&lambda.HTTP{URL: srv.URL}).Invoke(context.Background(), testInvocation())
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if len(res.Output) != lambda.MaxOutput {
		t.Errorf("len(Output) = %d, want %d", len(res.Output), lambda.MaxOutput)
	}
	if !strings.HasPrefix(res.Output, "yyyy") || !strings.HasSuffix(res.Output, "[... response truncated at 65536 bytes ...]\n") {
		t.Errorf("Output = %q...%q, want the body's start and a truncation marker", res.Output[:8], res.Output[len(res.Output)-60:])
	}
}

func TestHTTPValidate(t *testing.T) {
	tests := []struct {
		name string
		fn   lambda.HTTP
	}{
		{"Empty", lambda.HTTP{}},
		{"Relative", lambda.HTTP{URL: "/rotate"}},
		{"NoHost", lambda.HTTP{URL: "http:///rotate"}},
		{"OtherScheme", lambda.HTTP{URL: "ftp://127.0.0.1/rotate"}},
		{"Unparsable", lambda.HTTP{URL: "http://[::1/"}},
		{"NegativeTimeout", lambda.HTTP{URL: "http://127.0.0.1/", Timeout: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := rotor.ErrorCode(tt.fn.Validate()); code != rotor.EINVALID {
				t.Errorf("Validate code = %q, want %q", code, rotor.EINVALID)
			}
			_, err := tt.fn.Invoke(context.Background(), testInvocation())
			if code := rotor.ErrorCode(err); code != rotor.EINVALID {
				t.Errorf("Invoke code = %q, want %q", code, rotor.EINVALID)
			}
		})
	}
	if err := (&lambda.HTTP{URL: "https://rotation.example.com/hook"}).Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}
