package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// TestAttentionAndStuckRuns: the needs-attention page lists the secrets
// whose latest run failed (not one retried or resolved since) and the
// active runs without progress for 15 minutes (running without an update,
// pending past its due time), not the ones moving; a secret's page
// refreshes itself only while its run moves, and says when it is stuck.
func TestAttentionAndStuckRuns(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	arns := map[string]string{}
	n := 0
	run := func(tx rotor.Tx, name, status string, created, updated, next time.Time) error {
		n++
		r := &rotor.RunRecord{ID: fmt.Sprintf("run-%d", n), SecretARN: arns[name], Region: region, Token: fmt.Sprintf("token-%d", n),
			Kind: rotor.RunRotate, FunctionARN: rotor.LambdaARN(region, "000000000000", "fn"), Status: status,
			Step: rotor.StepSet, Attempt: 1, MaxAttempts: 3, NextAttempt: next, Created: created, Updated: updated}
		if !r.Active() {
			r.Finished = updated
		}
		return tx.CreateRun(r)
	}
	hour, min := now.Add(-time.Hour), now.Add(-time.Minute)
	err = st.Update(context.Background(), func(tx rotor.Tx) error {
		for _, name := range []string{"failed", "resolved", "retrying", "stuck-running", "late-pending", "running", "waiting"} {
			arns[name] = rotor.SecretARN(region, "000000000000", name, "AbCdEf")
			if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arns[name], Region: region, Name: name, CreatedDate: hour}); err != nil {
				return err
			}
		}
		for _, r := range []struct {
			name, status           string
			created, updated, next time.Time
		}{
			{"failed", rotor.RunFailed, hour, hour, hour},
			{"resolved", rotor.RunFailed, hour, hour, hour},
			{"resolved", rotor.RunSucceeded, min, min, min},
			{"retrying", rotor.RunFailed, hour, hour, hour},
			{"retrying", rotor.RunPending, min, min, now.Add(time.Minute)},
			{"stuck-running", rotor.RunRunning, hour, hour, hour},
			{"late-pending", rotor.RunPending, hour, hour, hour},
			{"running", rotor.RunRunning, hour, min, hour},
			{"waiting", rotor.RunPending, hour, hour, now.Add(10 * time.Minute)},
		} {
			if err := run(tx, r.name, r.status, r.created, r.updated, r.next); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, c := startConsole(t, st, nil)
	get := func(path string) string {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	names := func(body, table string) []string {
		t.Helper()
		m := regexp.MustCompile(`(?s)<table class="list" id="` + table + `">(.*?)</table>`).FindStringSubmatch(body)
		if m == nil {
			return nil
		}
		var out []string
		for _, r := range regexp.MustCompile(`<th scope="row"><a href="[^"]*">([^<]*)</a>`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, r[1])
		}
		slices.Sort(out)
		return out
	}
	body := get("/console/attention")
	if got := names(body, "failed-runs"); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("failed rotations: %q, want only the unresolved failure", got)
	}
	if got := names(body, "stuck-runs"); !slices.Equal(got, []string{"late-pending", "stuck-running"}) {
		t.Errorf("stuck rotations: %q, want the running one without an update and the pending one past due", got)
	}
	secret := func(name string) string {
		return get("/console/secret?" + url.Values{"id": {arns[name]}}.Encode())
	}
	for name, want := range map[string]string{"stuck-running": `id="stuck"`, "late-pending": `id="stuck"`,
		"running": `data-refresh=`, "waiting": `data-refresh=`} {
		body := secret(name)
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(body) {
			t.Errorf("%s's page lacks %s", name, want)
		}
		if want == `id="stuck"` && regexp.MustCompile(`data-refresh=`).MatchString(body) {
			t.Errorf("%s's page refreshes itself though its run is stuck", name)
		}
	}
}
