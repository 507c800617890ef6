package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

const region = "us-east-1"

// readCounter counts the secret records read from the store by listings,
// and the runs by LatestFailedRuns.
type readCounter struct {
	rotor.Store
	read, runs atomic.Int64
}

func (s *readCounter) View(ctx context.Context, fn func(rotor.Tx) error) error {
	return s.Store.View(ctx, func(tx rotor.Tx) error { return fn(&countingTx{Tx: tx, n: &s.read, runs: &s.runs}) })
}

type countingTx struct {
	rotor.Tx
	n, runs *atomic.Int64
}

func (t *countingTx) LatestFailedRuns(region string, after *rotor.RunCursor, limit int) ([]*rotor.RunRecord, error) {
	runs, err := t.Tx.LatestFailedRuns(region, after, limit)
	t.runs.Add(int64(len(runs)))
	return runs, err
}

func (t *countingTx) Secrets(region string) ([]*rotor.SecretRecord, error) {
	recs, err := t.Tx.Secrets(region)
	t.n.Add(int64(len(recs)))
	return recs, err
}

func (t *countingTx) ListSecrets(q rotor.SecretQuery) ([]*rotor.SecretRecord, error) {
	recs, err := t.Tx.ListSecrets(q)
	t.n.Add(int64(len(recs)))
	return recs, err
}

// TestListPageAtScale: with 100,000 secrets stored (scaleSecrets; fewer
// under -race), a page of the secrets list (first page, a later page
// through its link, a name search, and a rotation filter that one secret
// in 1,000 matches, with its next page) reads from the store one page and
// one record more, never more; so does the failed filter, with a run for
// one secret in ten, of which one in 1,000 failed. Times are logged, not
// asserted.
func TestListPageAtScale(t *testing.T) {
	const n = scaleSecrets
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Now()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = st.Update(context.Background(), func(tx rotor.Tx) error {
		for i := range n {
			name := fmt.Sprintf("app/%06d", i)
			r := &rotor.SecretRecord{ARN: rotor.SecretARN(region, "000000000000", name, "AbCdEf"), Region: region, Name: name,
				CreatedDate: created.Add(time.Duration(i) * time.Second)}
			if i%1000 == 7 {
				r.Rotation = rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: rotor.LambdaARN(region, "000000000000", "rotor-generate-password")}
			}
			if err := tx.CreateSecret(r); err != nil {
				return err
			}
			if i%10 == 7 {
				status := rotor.RunSucceeded
				if i%1000 == 7 {
					status = rotor.RunFailed
				}
				if err := tx.CreateRun(&rotor.RunRecord{ID: fmt.Sprintf("run-%06d", i), SecretARN: r.ARN, Region: region,
					Token: fmt.Sprintf("token-%06d", i), Kind: rotor.RunRotate, FunctionARN: r.Rotation.LambdaARN, Status: status,
					Step: rotor.StepFinish, Attempt: 1, MaxAttempts: 1, Created: r.CreatedDate, Updated: r.CreatedDate,
					Finished: r.CreatedDate}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d secrets in %v", n, time.Since(start))

	rc := &readCounter{Store: st}
	srv, c := startConsole(t, st, rc)

	rows := regexp.MustCompile(`<th scope="row"><a href="[^"]*">([^<]*)</a>`)
	next := regexp.MustCompile(`href="/console/secrets\?([^"]+)" id="next"`)
	// page GETs the secrets list with query (as a link on a page has it,
	// HTML-escaped) and returns the names it lists and the query of its
	// next-page link.
	page := func(what, query string, maxRead int64) ([]string, string) {
		t.Helper()
		rc.read.Store(0)
		rc.runs.Store(0)
		start := time.Now()
		resp, err := c.Get(srv.URL + "/console/secrets?" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		var got []string
		for _, m := range rows.FindAllSubmatch(body, -1) {
			got = append(got, string(m[1]))
		}
		read := rc.read.Load() + rc.runs.Load()
		t.Logf("%s: %d rows, %d secrets or runs read, %v", what, len(got), read, took)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", what, resp.StatusCode)
		}
		if read > maxRead {
			t.Errorf("%s read %d secrets from the store, want at most %d (of %d)", what, read, maxRead, n)
		}
		m := next.FindSubmatch(body)
		if m == nil {
			return got, ""
		}
		return got, html.UnescapeString(string(m[1]))
	}
	const pageSize = 50
	got, more := page("first page", "", pageSize+1)
	if len(got) != pageSize || got[0] != "app/000000" || more == "" {
		t.Fatalf("first page: %d rows from %q, next %q", len(got), got, more)
	}
	if got, _ := page("second page", more, pageSize+1); len(got) != pageSize || got[0] != "app/000050" {
		t.Errorf("second page (its link): %d rows from %.1q, want 50 from app/000050", len(got), got)
	}
	if got, _ := page("name search", "q=app/00049", pageSize+1); len(got) != 10 {
		t.Errorf("search app/00049: %d rows, want 10", len(got))
	}
	// One secret in 1,000 rotates: page after page (following the links)
	// lists exactly those, and the store reads no others (its index on
	// rotation serves the filter).
	var want, all []string
	for i := 7; i < n; i += 1000 {
		want = append(want, fmt.Sprintf("app/%06d", i))
	}
	for query := "rotation=on"; ; {
		got, more := page("rotation on", query, pageSize+1)
		all = append(all, got...)
		if more == "" || len(all) > len(want) {
			break
		}
		query = more
	}
	if !slices.Equal(all, want) {
		t.Errorf("rotation on, page after page: %d secrets %.3q..., want %d %.3q...", len(all), all, len(want), want)
	}
	if got, _ := page("rotation off", "rotation=off", pageSize+1); len(got) != pageSize || got[7] != "app/000008" {
		t.Errorf("rotation off: %d rows %.9q", len(got), got)
	}
	// The failed filter: the secrets whose (only) run failed, most recent
	// first, page after page, reading one page of failed runs each.
	want = nil
	for i := 7; i < n; i += 1000 {
		want = append([]string{fmt.Sprintf("app/%06d", i)}, want...)
	}
	all = nil
	for query := "failed=1"; ; {
		got, more := page("failed", query, pageSize+1)
		all = append(all, got...)
		if more == "" || len(all) > len(want) {
			break
		}
		query = more
	}
	if !slices.Equal(all, want) {
		t.Errorf("failed, page after page: %d secrets %.3q..., want %d %.3q...", len(all), all, len(want), want)
	}
}
