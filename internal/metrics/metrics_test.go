package metrics_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/internal/metrics"
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
