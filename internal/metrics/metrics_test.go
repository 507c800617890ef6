package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/metrics"
	"github.com/rotorhq/rotor/sqlite"
)

// TestMetricsOutcomes: ObserveRequest sorts a request by status into ok,
// client_error and server_error, counts authentication and authorization
// refusals apart, and two Metrics do not share counters.
func TestMetricsOutcomes(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("GetSecretValue", "", 200, time.Millisecond)
	m.ObserveRequest("GetSecretValue", "ResourceNotFoundException", 400, time.Millisecond)
	m.ObserveRequest("GetSecretValue", "InternalServiceError", 500, time.Millisecond)
	m.ObserveRequest("unknown", "InvalidSignatureException", 400, time.Millisecond)
	m.ObserveRequest("PutSecretValue", "AccessDeniedException", 400, time.Millisecond)

	body := scrape(t, m)
	for _, line := range []string{
		`rotor_requests_total{code="",operation="GetSecretValue",outcome="ok"} 1`,
		`rotor_requests_total{code="ResourceNotFoundException",operation="GetSecretValue",outcome="client_error"} 1`,
		`rotor_requests_total{code="InternalServiceError",operation="GetSecretValue",outcome="server_error"} 1`,
		`rotor_request_duration_seconds_count{operation="GetSecretValue"} 3`,
		`rotor_authentication_failures_total{code="InvalidSignatureException"} 1`,
		`rotor_authorization_denials_total{operation="PutSecretValue"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("no line %s in:\n%s", line, body)
		}
	}
	if other := scrape(t, metrics.New()); strings.Contains(other, "rotor_requests_total{") {
		t.Errorf("a new Metrics has counts of another:\n%s", other)
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// TestInstrumentStore: every Update, View and ReadSecret through the
// wrapped store is observed under its kind, a failed one included, and its
// error comes back unchanged; the optional interfaces of the backend stay
// visible.
func TestInstrumentStore(t *testing.T) {
	m := metrics.New()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := m.InstrumentStore(db)
	ctx := context.Background()
	boom := errors.New("boom")
	if err := s.Update(ctx, func(rotor.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want %v", err, boom)
	}
	for range 2 {
		if err := s.View(ctx, func(tx rotor.Tx) error { _, err := tx.Regions(); return err }); err != nil {
			t.Fatal(err)
		}
	}
	// The SQLite store reads one secret in one statement; the wrapper keeps
	// that (the manager looks for it) and times it too.
	r, ok := s.(rotor.SecretReader)
	if !ok {
		t.Fatal("the instrumented SQLite store hides its rotor.SecretReader")
	}
	if _, _, err := r.ReadSecret(ctx, "us-east-1", "missing"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Fatalf("ReadSecret of a missing secret: %v, want ENOTFOUND", err)
	}
	// ... and its bulk read, which fills the cache when a server starts.
	sc, ok := s.(rotor.SecretScanner)
	if !ok {
		t.Fatal("the instrumented SQLite store hides its rotor.SecretScanner")
	}
	if batch, err := sc.ScanSecrets(ctx, "", 10); err != nil || len(batch) != 0 {
		t.Fatalf("ScanSecrets of an empty store = %d secrets, %v", len(batch), err)
	}
	body := scrape(t, m)
	for _, line := range []string{
		`rotor_store_transaction_duration_seconds_count{kind="update"} 1`,
		`rotor_store_transaction_duration_seconds_count{kind="view"} 2`,
		`rotor_store_transaction_duration_seconds_count{kind="read"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("no line %s in:\n%s", line, body)
		}
	}
}

// TestAddRunsStoreError: when the store cannot answer, the scrape still
// succeeds with every other metric, leaves the run gauges out and logs why.
func TestAddRunsStoreError(t *testing.T) {
	m := metrics.New()
	var logs bytes.Buffer
	m.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	m.AddRuns(db, nil)
	if body := scrape(t, m); !strings.Contains(body, "rotor_rotation_runs{state=\"failed\"} 0\n") ||
		!strings.Contains(body, "rotor_rotation_oldest_failed_run_age_seconds 0\n") {
		t.Fatalf("open store: no run gauges at 0 in:\n%s", body)
	}
	db.Close()
	m.ObserveRequest("GetSecretValue", "", 200, time.Millisecond)
	body := scrape(t, m)
	if strings.Contains(body, "rotor_rotation_runs") || strings.Contains(body, "rotor_rotation_oldest_failed_run_age_seconds") {
		t.Errorf("closed store: run gauges served:\n%s", body)
	}
	if !strings.Contains(body, `rotor_requests_total{code="",operation="GetSecretValue",outcome="ok"} 1`) {
		t.Errorf("closed store: the other metrics are missing:\n%s", body)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "rotor_rotation_runs") {
		t.Errorf("closed store: nothing logged: %q", logs.String())
	}
}
