package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/internal/testsvc"
)

// binaryEnv may name a prebuilt rotor binary (as for the client tests).
const binaryEnv = "ROTOR_TEST_BINARY"

// TestRotationUnderLoad runs the benchmark with small numbers — 2 workers,
// 5 rotations per engine × strategy, a 100 ms TTL, 240 ms between
// rotations — against the real services, and checks its counts: every
// rotation done, no error seen by the application with any strategy, no
// raw authentication failure with alternating users or multiple
// credentials, and every iteration a new, authenticated connection.
func TestRotationUnderLoad(t *testing.T) {
	quietDrivers()
	cfg := config{
		workers: 2, rotations: 5, ttl: 100 * time.Millisecond, interval: 240 * time.Millisecond,
		rotorBin: os.Getenv(binaryEnv), urls: map[string]string{},
		log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	// Every engine's service must be up (see internal/testsvc).
	for _, e := range allEngines {
		switch e {
		case enginePostgres:
			cfg.urls[e] = testsvc.Postgres(t).String()
		case engineMariaDB:
			cfg.urls[e] = testsvc.MySQL(t).String()
		default:
			cfg.urls[e] = testsvc.Redis(t).String()
		}
	}

	ctx := context.Background()
	b, err := newBench(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.close)

	combos, err := selectCombos(strings.Join(allEngines, ","), strings.Join(allStrategies, ","))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range combos {
		t.Run(c.engine+"/"+c.strategy, func(t *testing.T) {
			r, err := b.run(ctx, c.engine, c.strategy)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			report(&out, b.cfg, []*result{r})
			t.Logf("\n%s", out.String())

			if r.done() != cfg.rotations {
				t.Errorf("rotations done = %d, want %d (%v)", r.done(), cfg.rotations, r.rotationErr)
			}
			for _, ph := range []struct {
				name string
				p    *phase
			}{{"rotating", r.rotating}, {"no rotation", r.baseline}} {
				p := ph.p
				if p.connects == 0 {
					t.Errorf("%s: no iteration ran", ph.name)
				}
				if p.appErrors != 0 {
					t.Errorf("%s: application errors = %d, want 0; e.g. %q", ph.name, p.appErrors, p.errorSamples)
				}
				if p.dial.Refused != 0 || p.dial.OtherErrors != 0 {
					t.Errorf("%s: connector refused %d and failed %d connects otherwise, want 0", ph.name, p.dial.Refused, p.dial.OtherErrors)
				}
				// Every iteration opened and logged in a new connection.
				if p.dial.Logins != uint64(p.connects) {
					t.Errorf("%s: connector logins = %d, want one per iteration (%d)", ph.name, p.dial.Logins, p.connects)
				}
			}
			if c.strategy != strategySingle && r.rotating.dial.AuthFailures != 0 {
				t.Errorf("%s: raw authentication failures during rotations = %d, want 0", c.strategy, r.rotating.dial.AuthFailures)
			}
			if r.baseline.dial.AuthFailures != 0 {
				t.Errorf("raw authentication failures without rotation = %d, want 0", r.baseline.dial.AuthFailures)
			}
			if !r.goalMet() {
				t.Error("goalMet() = false")
			}
		})
	}
}

// testWriter sends the client's log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestSelectCombos(t *testing.T) {
	tests := []struct {
		name, engines, strategies string
		want                      []combo
		wantErr                   string
	}{
		{"All", "postgres,mariadb,redis", "single-user,alternating-users,multi-credential", []combo{
			{"postgres", "single-user"}, {"postgres", "alternating-users"},
			{"mariadb", "single-user"}, {"mariadb", "alternating-users"},
			{"redis", "single-user"}, {"redis", "multi-credential"},
		}, ""},
		{"CanonicalOrder", " redis , postgres", "multi-credential,single-user", []combo{
			{"postgres", "single-user"}, {"redis", "single-user"}, {"redis", "multi-credential"},
		}, ""},
		{"UnsupportedPairsLeftOut", "postgres,redis", "alternating-users", []combo{{"postgres", "alternating-users"}}, ""},
		{"ErrNoPair", "mariadb", "multi-credential", nil, "no selected engine"},
		{"ErrUnknownEngine", "oracle", "single-user", nil, `unknown engine "oracle"`},
		{"ErrUnknownStrategy", "redis", "dual", nil, `unknown strategy "dual"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := selectCombos(tt.engines, tt.strategies)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("selectCombos = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestConfigValidatePacing(t *testing.T) {
	tests := []struct {
		name          string
		ttl, interval time.Duration
		ok            bool
	}{
		{"TwiceTTL", 250 * time.Millisecond, 500 * time.Millisecond, true},
		{"Longer", 250 * time.Millisecond, 600 * time.Millisecond, true},
		{"ErrShorter", 250 * time.Millisecond, 499 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config{workers: 1, rotations: 1, ttl: tt.ttl, interval: tt.interval}
			err := c.validate()
			if (err == nil) != tt.ok {
				t.Fatalf("validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "twice the TTL") {
				t.Fatalf("validate() = %v, want it to name the pacing rule", err)
			}
		})
	}
}

// The program refuses a pacing that breaks the rule before it builds or
// starts anything.
func TestRunMainRefusesShortInterval(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runMain([]string{"-ttl", "1s", "-interval", "1500ms"}, &stdout, &stderr, func(string) string { return "" })
	if code != 1 || !strings.Contains(stderr.String(), "shorter than twice the TTL") {
		t.Fatalf("exit %d, stderr %q; want 1 and the pacing rule", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "building") {
		t.Fatalf("built rotor before checking the flags: %q", stderr.String())
	}
}

func TestPercentile(t *testing.T) {
	var p phase
	for i := 1; i <= 200; i++ {
		p.latencies = append(p.latencies, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := p.percentile(tt.q); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := (&phase{}).percentile(50); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}

func TestPacingAndGoal(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := &result{engine: "redis", strategy: strategyMulti, requested: 3,
		rotations: []rotation{
			{start: at(0), end: at(100), attempts: 1},
			{start: at(700), end: at(900), attempts: 2},
			{start: at(1500), end: at(1550), attempts: 1},
		},
		rotating: &phase{}, baseline: &phase{}}
	if iv, gap := r.pacing(); iv != 700*time.Millisecond || gap != 600*time.Millisecond {
		t.Fatalf("pacing() = %v, %v; want 700ms, 600ms", iv, gap)
	}
	if r.retried() != 1 {
		t.Fatalf("retried() = %d, want 1", r.retried())
	}
	if !r.goalMet() {
		t.Fatal("goalMet() = false for a clean run")
	}
	r.rotating.dial.AuthFailures = 1
	if r.goalMet() {
		t.Fatal("goalMet() = true with a raw authentication failure under multi-credential")
	}
	r.strategy = strategySingle
	if !r.goalMet() {
		t.Fatal("goalMet() = false for single-user with only raw authentication failures")
	}
	r.rotating.appErrors = 1
	if r.goalMet() {
		t.Fatal("goalMet() = true with an application error")
	}
	r.rotating.appErrors = 0
	r.rotations = r.rotations[:2]
	if r.goalMet() {
		t.Fatal("goalMet() = true with a rotation missing")
	}
}

// The window is read from the wire form of rotor.RotationHistory: from the
// last setSecret's start to the end of the last finishSecret.
func TestRunHistoryWindow(t *testing.T) {
	const wire = `{"Run": {"VersionId": "v1", "Status": "succeeded", "Attempt": 2, "Created": 1000},
		"Steps": [
		{"Step": "createSecret", "Attempt": 1, "Started": 1000.01, "DurationMillis": 5, "Outcome": "ok"},
		{"Step": "setSecret", "Attempt": 1, "Started": 1000.02, "DurationMillis": 7, "Outcome": "error"},
		{"Step": "createSecret", "Attempt": 2, "Started": 1001, "DurationMillis": 3, "Outcome": "ok"},
		{"Step": "setSecret", "Attempt": 2, "Started": 1001.1, "DurationMillis": 20, "Outcome": "ok"},
		{"Step": "testSecret", "Attempt": 2, "Started": 1001.125, "DurationMillis": 10, "Outcome": "ok"},
		{"Step": "finishSecret", "Attempt": 2, "Started": 1001.14, "DurationMillis": 15, "Outcome": "ok"}]}`
	var h runHistory
	if err := json.Unmarshal([]byte(wire), &h); err != nil {
		t.Fatal(err)
	}
	if !h.final() {
		t.Fatal("final() = false for a succeeded run")
	}
	if d, ok := h.window(); !ok || d != 55*time.Millisecond {
		t.Fatalf("window() = %v, %v; want 55ms, true", d, ok)
	}
	h.Run.Status = "running"
	h.Steps = h.Steps[:4]
	if h.final() {
		t.Fatal("final() = true for a running run")
	}
	if _, ok := h.window(); ok {
		t.Fatal("window() ok for a run without finishSecret")
	}
}
