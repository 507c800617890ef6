// Package handler_test measures the GetSecretValue request path in process:
// the handler of a server core built by server.New (awsapi.Handler behind
// its mux) over the real auth.Service (SigV4 verified on every request),
// manager.Service, envelope keyring and SQLite store, with no network in
// between. Unlike bench/getsecret it is stable on a busy machine,
// so ns/op and allocs/op of Rotor's own code can be compared before and after
// a change:
//
//	go test ./bench/handler -run '^$' -bench . -benchmem -count 5
//
// Besides ns/op (wall time, which swings with whatever else the machine
// runs) each benchmark reports cpu-ns/op: the CPU time the whole process
// used per request, garbage collection included. On a shared machine that
// is the steadier number to compare.
//
// It lives outside package awsapi so that awsapi's own tests do not depend
// on the manager and the store.
package handler_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rotorhq/rotor/audit"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/server"
	"github.com/rotorhq/rotor/sqlite"
)

const (
	region     = "us-east-1"
	secretName = "bench/secret"
	host       = "rotor.test:8080"
)

// stack is a server core wired by server.New, as cmd/rotor wires it, plus
// the admin key.
type stack struct {
	h              http.Handler
	keyID, keySecr string
}

// newStack wires a server core on a fresh SQLite store; with log, every
// request is written to that audit log.
func newStack(tb testing.TB, log *audit.Log) *stack {
	tb.Helper()
	store, err := sqlite.Open(filepath.Join(tb.TempDir(), "rotor.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	kr, err := envelope.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	core, err := server.New(context.Background(), server.Options{Store: store, Keyring: kr, Regions: []string{region},
		Account: "123456789012", Audit: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { core.Close() })
	key, err := core.Auth.Bootstrap(context.Background())
	if err != nil || key == nil {
		tb.Fatalf("Bootstrap = %v, %v", key, err)
	}
	return &stack{h: core.Handler(), keyID: key.AccessKeyID, keySecr: key.SecretAccessKey}
}

// signed returns op's request signed at t, as Go's server delivers it: the
// client request is written to the wire format and read back with
// http.ReadRequest, so Host lives in r.Host and the URL is the request URI,
// with the RemoteAddr of a client on the loopback.
func (s *stack) signed(tb testing.TB, op, body string, t time.Time) *http.Request {
	tb.Helper()
	cr, err := http.NewRequest(http.MethodPost, "http://"+host+"/", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	cr.Header.Set("Content-Type", "application/x-amz-json-1.1")
	cr.Header.Set("X-Amz-Target", "secretsmanager."+op)
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: s.keyID, SecretAccessKey: s.keySecr},
		cr, hex.EncodeToString(sum[:]), "secretsmanager", region, t)
	if err != nil {
		tb.Fatal(err)
	}
	var wire bytes.Buffer
	if err := cr.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		tb.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:50000" // as Go's server sets it (a bad one costs allocations)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r.Body = &replayBody{data: data}
	return r
}

// replayBody is a request body that can be read again after reset, so one
// parsed request serves every iteration without allocating.
type replayBody struct {
	data []byte
	off  int
}

func (b *replayBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

func (b *replayBody) Close() error { return nil }

func (b *replayBody) reset() { b.off = 0 }

// recorder is a reusable http.ResponseWriter that keeps only what the
// benchmark checks.
type recorder struct {
	hdr    http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{hdr: make(http.Header, 4)} }

func (w *recorder) Header() http.Header { return w.hdr }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *recorder) reset() {
	clear(w.hdr)
	w.status = 0
	w.body.Reset()
}

// serve runs one request on a reset recorder; it returns an error unless
// the answer is 200.
func serve(h http.Handler, w *recorder, r *http.Request) error {
	r.Body.(*replayBody).reset()
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK {
		return fmt.Errorf("status %d: %s", w.status, w.body.String())
	}
	return nil
}

// mustServe is serve that fails tb.
func mustServe(tb testing.TB, h http.Handler, w *recorder, r *http.Request) {
	tb.Helper()
	if err := serve(h, w, r); err != nil {
		tb.Fatal(err)
	}
}

// setup creates the secret with a value of valueSize bytes and returns a
// signed GetSecretValue for it, checked once.
func setup(tb testing.TB, valueSize int, log *audit.Log) (*stack, *http.Request) {
	tb.Helper()
	s := newStack(tb, log)
	value := strings.Repeat("v", valueSize)
	create, _ := json.Marshal(map[string]string{"Name": secretName, "SecretString": value,
		"ClientRequestToken": "00000000-0000-4000-8000-000000000001"})
	mustServe(tb, s.h, newRecorder(), s.signed(tb, "CreateSecret", string(create), time.Now()))

	req := s.signed(tb, "GetSecretValue", `{"SecretId":"`+secretName+`"}`, time.Now())
	w := newRecorder()
	mustServe(tb, s.h, w, req)
	var out struct{ Name, SecretString string }
	if err := json.Unmarshal(w.body.Bytes(), &out); err != nil || out.Name != secretName || out.SecretString != value {
		tb.Fatalf("GetSecretValue answered %s (%v)", w.body.String(), err)
	}
	return s, req
}

// TestReplayedRequestAnswersValue checks the benchmark's own premise: the
// replayed request is answered with the secret's value every time, and the
// same request with one signed byte changed is refused.
func TestReplayedRequestAnswersValue(t *testing.T) {
	s, req := setup(t, 256, nil)
	w := newRecorder()
	for range 3 {
		mustServe(t, s.h, w, req)
		if !strings.Contains(w.body.String(), `"SecretString":"`+strings.Repeat("v", 256)+`"`) {
			t.Fatalf("body %s lacks the value", w.body.String())
		}
	}
	tampered := req.Clone(context.Background())
	tampered.Body = &replayBody{data: []byte(`{"SecretId":"bench/secreT"}`)}
	w.reset()
	s.h.ServeHTTP(w, tampered)
	if got := w.hdr.Get("X-Amzn-Errortype"); w.status != http.StatusBadRequest || got != "InvalidSignatureException" {
		t.Fatalf("tampered body: status %d, error type %q; want 400 InvalidSignatureException", w.status, got)
	}
}

// BenchmarkServeGetSecretValue measures one warm GetSecretValue through
// Handler.ServeHTTP: SigV4 verification, input validation, the manager's
// cached read with AES-GCM decryption, and response encoding.
func BenchmarkServeGetSecretValue(b *testing.B) {
	for _, size := range []int{256, 4096} {
		b.Run("value="+strconv.Itoa(size), func(b *testing.B) {
			s, req := setup(b, size, nil)
			w := newRecorder()
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				mustServe(b, s.h, w, req)
			}
		})
	}
	for _, audited := range []bool{false, true} {
		name := "value=256/parallel"
		if audited {
			name += "/audit"
		}
		b.Run(name, func(b *testing.B) { benchParallel(b, audited) })
	}
}

// benchParallel is the parallel benchmark, with every request written to
// a real audit log (in the test's temporary directory) when audited.
func benchParallel(b *testing.B, audited bool) {
	{
		var log *audit.Log
		if audited {
			l, err := audit.Open(audit.Options{Path: filepath.Join(b.TempDir(), "audit", "audit.log"), Account: "123456789012"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { l.Close() })
			log = l
		}
		s, req := setup(b, 256, log)
		b.ReportAllocs()
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			r := req.Clone(context.Background())
			r.Body = &replayBody{data: req.Body.(*replayBody).data}
			w := newRecorder()
			for pb.Next() {
				if err := serve(s.h, w, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per iteration as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
