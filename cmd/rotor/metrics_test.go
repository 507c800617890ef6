package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics GETs url and parses the text exposition format.
func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return mf
}

// metricValue is the value of the counter, gauge or histogram (its sample
// count) named name whose labels are exactly labels (k=v pairs); 0 when
// there is none.
func metricValue(mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := mf[name]
	if f == nil {
		return 0
	}
	want := map[string]string{}
	for _, kv := range labels {
		k, v, _ := strings.Cut(kv, "=")
		want[k] = v
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		for k, v := range got {
			if want[k] != v && v != "" {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// TestMetricsScriptedSession runs a scripted session through the SDK —
// create, three reads, a write denied to a read-only identity, a call with a
// bad signature, a rotation by a built-in function — and checks that
// /metrics, on the main listener (metrics.on_main_listener) and on the debug
// listener, counts each by operation, outcome and code.
func TestMetricsScriptedSession(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) {
		c.Metrics.OnMainListener = true
		c.DebugListen = "127.0.0.1:0"
		c.Rotation.MaxAttempts = 1 // a failing run fails for good at once
	})
	admin := s.Client("")
	ctx := context.Background()

	// Set up the read-only identity before the baseline.
	if _, err := cli(t, s, "identity", "create", "reader", "-role", "read-only"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, s, "access-key", "create", "reader")
	if err != nil {
		t.Fatal(err)
	}
	readerID := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(out)[1]
	readerSecret := regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)[1]

	before := scrapeMetrics(t, s.URL()+"/metrics")
	e2eCreate(t, admin, "metrics/app", `{"password":"p0"}`)
	for range 3 {
		if _, err := admin.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("metrics/app")}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.ClientWith("", readerID, readerSecret, "").PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("metrics/app"), SecretString: aws.String("x")})
	e2eWantCode(t, "read-only PutSecretValue", err, "AccessDeniedException", "")
	_, err = s.ClientWith("", s.KeyID, "wrong-secret-key", "").ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	e2eWantCode(t, "bad signature", err, "InvalidSignatureException", "")
	after := scrapeMetrics(t, s.URL()+"/metrics")

	delta := func(name string, labels ...string) float64 {
		return metricValue(after, name, labels...) - metricValue(before, name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rotor_requests_total", []string{"operation=CreateSecret", "outcome=ok", "code="}, 1},
		{"rotor_requests_total", []string{"operation=GetSecretValue", "outcome=ok", "code="}, 3},
		{"rotor_requests_total", []string{"operation=PutSecretValue", "outcome=client_error", "code=AccessDeniedException"}, 1},
		{"rotor_requests_total", []string{"operation=ListSecrets", "outcome=client_error", "code=InvalidSignatureException"}, 1},
		{"rotor_request_duration_seconds", []string{"operation=GetSecretValue"}, 3},
		{"rotor_request_duration_seconds", []string{"operation=CreateSecret"}, 1},
		{"rotor_authorization_denials_total", []string{"operation=PutSecretValue"}, 1},
		{"rotor_authentication_failures_total", []string{"code=InvalidSignatureException"}, 1},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// CreateSecret wrote: at least one durable commit (one fsync) more.
	if c := delta("rotor_store_commits_total"); c < 1 {
		t.Errorf("rotor_store_commits_total moved by %v, want >= 1", c)
	}
	if u := delta("rotor_store_updates_total"); u < 1 {
		t.Errorf("rotor_store_updates_total moved by %v, want >= 1", u)
	}
	if b := delta("rotor_store_writer_busy_seconds_total"); b <= 0 {
		t.Errorf("rotor_store_writer_busy_seconds_total moved by %v, want > 0", b)
	}
	// Every write and read went through the timed store: CreateSecret is at
	// least one update, the first read after it (a cache miss) one read of
	// the secret in one statement (the SQLite store's rotor.SecretReader).
	if n := delta("rotor_store_transaction_duration_seconds", "kind=update"); n < 1 {
		t.Errorf("rotor_store_transaction_duration_seconds{kind=update} has %v observations more, want >= 1", n)
	}
	if n := delta("rotor_store_transaction_duration_seconds", "kind=read"); n < 1 {
		t.Errorf("rotor_store_transaction_duration_seconds{kind=read} has %v observations more, want >= 1", n)
	}
	// No run yet: every state is reported, at 0, and no failure is waiting.
	for _, state := range []string{"pending", "running", "succeeded", "failed", "cancelled", "abandoned"} {
		if f := after["rotor_rotation_runs"]; f == nil || len(f.GetMetric()) != 6 {
			t.Fatalf("rotor_rotation_runs: %v, want one series per state", f)
		}
		if n := metricValue(after, "rotor_rotation_runs", "state="+state); n != 0 {
			t.Errorf("rotor_rotation_runs{state=%s} = %v before any rotation, want 0", state, n)
		}
	}
	if age := metricValue(after, "rotor_rotation_oldest_failed_run_age_seconds"); age != 0 {
		t.Errorf("rotor_rotation_oldest_failed_run_age_seconds = %v with no run, want 0", age)
	}
	// The three reads of one secret: at most the first misses the cache.
	if hits := delta("rotor_cache_hits_total"); hits < 2 {
		t.Errorf("rotor_cache_hits_total moved by %v, want >= 2", hits)
	}
	if n := metricValue(after, "rotor_cache_entries"); n < 1 {
		t.Errorf("rotor_cache_entries = %v, want >= 1", n)
	}
	if b := metricValue(after, "rotor_cache_bytes"); b <= 0 {
		t.Errorf("rotor_cache_bytes = %v, want > 0", b)
	}

	// A rotation: one attempt claimed, four steps, one success.
	rot, err := admin.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("metrics/app"),
		RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, admin, "metrics/app", aws.ToString(rot.VersionId))
	var rotated map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rotated = scrapeMetrics(t, s.URL()+"/metrics")
		if metricValue(rotated, "rotor_rotation_attempts_total", "result=succeeded") >= 1 || time.Now().After(deadline) {
			break
		}
	}
	if got := metricValue(rotated, "rotor_rotation_attempts_total", "result=succeeded"); got != 1 {
		t.Errorf("rotor_rotation_attempts_total{result=succeeded} = %v, want 1", got)
	}
	var steps float64
	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		n := metricValue(rotated, "rotor_rotation_step_duration_seconds", "step="+step, "outcome=ok")
		if n != 1 {
			t.Errorf("rotor_rotation_step_duration_seconds{step=%s,outcome=ok} has %v observations, want 1", step, n)
		}
		steps += n
	}
	if steps != 4 {
		t.Errorf("the step histogram has %v observations, want 4", steps)
	}
	if n := metricValue(rotated, "rotor_rotation_scheduler_lag_seconds"); n != 1 {
		t.Errorf("rotor_rotation_scheduler_lag_seconds has %v observations, want 1 (one attempt claimed)", n)
	}
	if got := metricValue(rotated, "rotor_requests_total", "operation=RotateSecret", "outcome=ok", "code="); got != 1 {
		t.Errorf("rotor_requests_total{RotateSecret,ok} = %v, want 1", got)
	}
	// The audit log is on by default: its records are counted and it is healthy.
	if w := metricValue(rotated, "rotor_audit_records_written_total"); w < 1 {
		t.Errorf("rotor_audit_records_written_total = %v, want >= 1", w)
	}
	if h := metricValue(rotated, "rotor_audit_healthy"); h != 1 {
		t.Errorf("rotor_audit_healthy = %v, want 1", h)
	}

	if n := metricValue(rotated, "rotor_rotation_runs", "state=succeeded"); n != 1 {
		t.Errorf("rotor_rotation_runs{state=succeeded} = %v after one rotation, want 1", n)
	}

	// A rotation that fails for good (the PostgreSQL function refuses a
	// secret without "engine"): one failed run, and the age of the oldest
	// failure moves off 0; rotating that secret successfully (after removing
	// the failed rotation's AWSPENDING, as on AWS) resolves it.
	e2eCreate(t, admin, "metrics/broken", `{"password":"p0"}`)
	broken, err := admin.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("metrics/broken"),
		RotationLambdaARN: aws.String(lambdaARN("rotor-postgres-single-user"))})
	if err != nil {
		t.Fatal(err)
	}
	// The engine counts the attempt and commits the run's failure one after
	// the other, not atomically: wait until a scrape shows both.
	var failed map[string]*dto.MetricFamily
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		failed = scrapeMetrics(t, s.URL()+"/metrics")
		if metricValue(failed, "rotor_rotation_attempts_total", "result=failed") >= 1 && metricValue(failed, "rotor_rotation_runs", "state=failed") >= 1 ||
			time.Now().After(deadline) {
			break
		}
	}
	if n := metricValue(failed, "rotor_rotation_attempts_total", "result=failed"); n != 1 {
		t.Errorf("rotor_rotation_attempts_total{result=failed} = %v, want 1", n)
	}
	if n := metricValue(failed, "rotor_rotation_runs", "state=failed"); n != 1 {
		t.Errorf("rotor_rotation_runs{state=failed} = %v, want 1", n)
	}
	if age := metricValue(failed, "rotor_rotation_oldest_failed_run_age_seconds"); age <= 0 {
		t.Errorf("rotor_rotation_oldest_failed_run_age_seconds = %v with a failed run, want > 0", age)
	}
	for state, want := range map[string]float64{"succeeded": 1, "pending": 0, "running": 0} {
		if n := metricValue(failed, "rotor_rotation_runs", "state="+state); n != want {
			t.Errorf("rotor_rotation_runs{state=%s} = %v, want %v", state, n, want)
		}
	}
	if _, err := admin.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("metrics/broken"),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: broken.VersionId}); err != nil {
		t.Fatal(err)
	}
	rot, err = admin.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("metrics/broken"),
		RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, admin, "metrics/broken", aws.ToString(rot.VersionId))
	resolved := waitMetric(t, s.URL()+"/metrics", "rotor_rotation_runs", []string{"state=succeeded"}, 2)
	if age := metricValue(resolved, "rotor_rotation_oldest_failed_run_age_seconds"); age != 0 {
		t.Errorf("rotor_rotation_oldest_failed_run_age_seconds = %v after the secret rotated successfully, want 0", age)
	}
	if n := metricValue(resolved, "rotor_rotation_runs", "state=failed"); n != 1 {
		t.Errorf("rotor_rotation_runs{state=failed} = %v, want 1 (the history keeps it)", n)
	}

	// The debug listener serves the same registry.
	debug := scrapeMetrics(t, fmt.Sprintf("http://%s/metrics", s.debugLn))
	if got := metricValue(debug, "rotor_requests_total", "operation=GetSecretValue", "outcome=ok", "code="); got != 3 {
		t.Errorf("debug listener: rotor_requests_total{GetSecretValue,ok} = %v, want 3", got)
	}
}

// waitMetric scrapes url until the metric name with labels reaches want
// (or 30 s pass) and returns the last scrape.
func waitMetric(t *testing.T, url, name string, labels []string, want float64) map[string]*dto.MetricFamily {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mf := scrapeMetrics(t, url)
		if got := metricValue(mf, name, labels...); got >= want {
			return mf
		} else if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v after 30 s, want %v", name, labels, got, want)
		}
	}
}

// TestMetricsOffByDefault: without metrics.on_main_listener the main
// listener does not serve /metrics, and without debug_listen there is no
// other listener.
func TestMetricsOffByDefault(t *testing.T) {
	s := MustRunMain(t, "", nil)
	status, body := s.get(t, "/metrics")
	if status == http.StatusOK || strings.Contains(body, "rotor_requests_total") {
		t.Fatalf("GET /metrics on the main listener: %d %.200s", status, body)
	}
	if s.debug != nil || s.debugLn != nil {
		t.Fatal("a debug listener runs without debug_listen")
	}
}

// TestLoadConfig_Metrics: metrics.on_main_listener is off by default and
// read from the config file.
func TestLoadConfig_Metrics(t *testing.T) {
	c, err := LoadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.OnMainListener {
		t.Fatal("metrics.on_main_listener on by default")
	}
	file := filepath.Join(t.TempDir(), "rotor.toml")
	if err := os.WriteFile(file, []byte("[metrics]\non_main_listener = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = LoadConfig([]string{"--config", file}, env(nil)); err != nil {
		t.Fatal(err)
	}
	if !c.Metrics.OnMainListener {
		t.Fatal("metrics.on_main_listener = true in the file was not read")
	}
}
